"""Public web capture (docs/architecture.md §5): campaign lookup, idempotency, the lead."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from campaigns.models import Campaign
from leads.choices import TouchKind
from leads.lifecycle import lead_create
from leads.lifecycle.fields import WRITABLE_FIELDS
from leads.models import IdempotencyKey
from pipeline.errors import ServiceError

UTM_FIELDS = ("utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content")


@dataclass
class CaptureAnswer:
    status: int
    body: dict[str, Any]


def find_campaign(*, campaign_key: str = "", utm_campaign: str = "") -> Campaign:
    """The campaign of a submission, by public key or by utm_campaign."""
    campaign = None
    if campaign_key:
        campaign = (
            Campaign.objects.select_related("channel").filter(public_key=campaign_key).first()
        )
    elif utm_campaign:
        campaign = (
            Campaign.objects.select_related("channel").filter(utm_campaign=utm_campaign).first()
        )
    else:
        raise ServiceError(_("Give campaign_key or utm_campaign."), field="campaign_key")
    if campaign is None:
        field = "campaign_key" if campaign_key else "utm_campaign"
        raise ServiceError(_("Unknown campaign: no campaign has this key."), field=field)
    return campaign


def capture_submit(*, data: Mapping[str, Any]) -> CaptureAnswer:
    """Store one submission as a lead (or a touch on the person's open lead)."""
    campaign = find_campaign(
        campaign_key=str(data.get("campaign_key") or "").strip(),
        utm_campaign=str(data.get("utm_campaign") or "").strip(),
    )
    fields = {k: data[k] for k in WRITABLE_FIELDS if k in data and data[k] not in (None, "")}
    utm = {k: str(data.get(k) or "") for k in UTM_FIELDS}
    utm["utm_campaign"] = utm["utm_campaign"] or campaign.utm_campaign
    result = lead_create(
        actor=None,
        fields=fields,
        campaign=campaign,
        touch_kind=TouchKind.FORM,
        utm=utm,
        landing_page=str(data.get("landing_page") or ""),
    )
    return CaptureAnswer(201, {"lead": result.lead.pk, "duplicate": result.duplicate})


def _fingerprint(data: Mapping[str, Any]) -> str:
    return hashlib.sha256(
        json.dumps(data, sort_keys=True, default=str, ensure_ascii=False).encode()
    ).hexdigest()


def capture_idempotent(*, key: str, data: Mapping[str, Any]) -> CaptureAnswer:
    """``capture_submit`` once per ``Idempotency-Key``: a repeat returns the first answer.

    The key row is inserted first, inside the same transaction as the lead, so two parallel
    requests with one key serialise on the unique index: the second waits, then reads the
    first one's answer. A key reused with a different body is refused.
    """
    key = key.strip()[:200]
    fingerprint = _fingerprint(data)
    for _attempt in range(2):
        try:
            with transaction.atomic():
                record, created = IdempotencyKey.objects.select_for_update().get_or_create(
                    scope="capture", key=key, defaults={"request_hash": fingerprint}
                )
                if not created:
                    if record.request_hash != fingerprint:
                        raise ServiceError(
                            _("This Idempotency-Key was used for a different submission."),
                            code="conflict",
                        )
                    if record.status_code is not None:
                        return CaptureAnswer(record.status_code, record.response)
                answer = capture_submit(data=data)
                record.status_code, record.response = answer.status, answer.body
                record.save(update_fields=["status_code", "response"])
                return answer
        except IntegrityError:
            continue  # lost the insert race: the winner's row is there now
    raise ServiceError(_("Please retry the submission."), code="conflict")
