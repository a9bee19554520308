"""What the webhook tests share: the robots' secrets and a notification event."""

from __future__ import annotations

import datetime as dt
from typing import Any

from notifications.outlets import Occurrence

SECRETS = {
    "dingtalk": "SECd5a7f0c1e2b34d6a8f9e0c1b2a3d4e5f6a7b8c9d0e1f2a3b4c5d6e7f8a9b0c1",
    "feishu": "fs-secret-Qm9vYmFy",
    "generic": "generic-secret-0123456789",
}


def occurrence(**overrides: Any) -> Occurrence:
    values = {
        "event": "lead_assigned",
        "at": dt.datetime(2026, 12, 2, 9, 30, tzinfo=dt.UTC),
        "render": lambda language: {
            "en": "New lead assigned to you",
            "zh-hans": "有新线索分配给你",
        }[language],
    }
    values.update(overrides)
    return Occurrence(**values)
