"""The daily email of each rep's overdue follow-ups."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import TypedDict

from django.conf import settings
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from leads.models import Lead
from reports.models import DigestSent
from reports.sla.compliance import overdue_q
from reports.sla.config import policies
from reports.sla.mail import mail


class OverdueRow(TypedDict):
    owner_id: int
    name: str
    grade: str
    next_follow_up_at: dt.datetime | None


def digest_overdue(*, now: dt.datetime | None = None) -> int:
    """The daily email: each rep's overdue follow-ups, one message per rep per day.

    A ``DigestSent`` row per (rep, day) is claimed before sending, so a second run, or two
    workers at once, send nothing twice.
    """
    now = now or timezone.now()
    day = timezone.localdate(now)
    rows = (
        Lead.objects.filter(overdue_q(now=now, by_grade=policies()))
        .values("owner_id", "name", "grade", "next_follow_up_at")
        .order_by("owner_id", "pk")
    )
    grouped: dict[int, list[OverdueRow]] = defaultdict(list)
    for row in rows.iterator(chunk_size=5000):
        grouped[row["owner_id"]].append(row)
    sent = 0
    with translation.override(settings.LANGUAGE_CODE):
        for owner_id, items in grouped.items():
            with transaction.atomic():
                _claimed, created = DigestSent.objects.get_or_create(
                    user_id=owner_id, day=day, defaults={"leads": len(items)}
                )
            if not created:
                continue
            mail(
                owner_id,
                ngettext(
                    "%(n)d lead is overdue for follow-up",
                    "%(n)d leads are overdue for follow-up",
                    len(items),
                )
                % {"n": len(items)},
                [f"- {x['name'] or _('(erased)')} ({x['grade'] or '—'})" for x in items[:200]],
            )
            sent += 1
    return sent
