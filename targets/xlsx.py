"""Targets to and from XLSX, one row per target: period, metric, scope, scope key, value.

The scope key is a username (``user``), a team name (``team``), a channel code
(``channel``) or a campaign name (``campaign``); empty for the company. Importing is all
or nothing: every row goes through ``targets.services.target_save`` (a row for a target
that exists changes its value); if any row is refused nothing is written, and every
refused row is reported with its row number (1-based, header not counted) and why.
"""

from __future__ import annotations

import contextlib
from typing import IO, Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import QuerySet
from django.utils.translation import gettext as _

from assignment.models import Team
from campaigns.models import Campaign, Channel
from leads.exports import XLSX_CONTENT_TYPE, xlsx_file
from leads.imports import _open_xlsx, check_xlsx_package
from pipeline.errors import ServiceError
from targets.choices import SCOPES
from targets.models import Target
from targets.services import scope_label, target_save

CONTENT_TYPE = XLSX_CONTENT_TYPE
COLUMNS = ("period", "metric", "scope", "key", "value")
#: Headers recognised in English and Chinese.
HEADERS = {
    "period": "period",
    "期间": "period",
    "metric": "metric",
    "指标": "metric",
    "scope": "scope",
    "范围": "scope",
    "key": "key",
    "对象": "key",
    "value": "value",
    "目标值": "value",
}
#: Rows read at most (a company has hundreds of targets, not hundreds of thousands).
MAX_ROWS = 5000


def _key(target: Target) -> str:
    if target.user is not None:
        return target.user.username
    if target.team is not None:
        return target.team.name
    if target.channel is not None:
        return target.channel.code
    if target.campaign is not None:
        return target.campaign.name
    return ""


def export_targets(targets: QuerySet[Target]) -> bytes:
    """The targets as a write-only workbook, in the import's columns."""
    targets = targets.select_related("user", "team", "channel", "campaign")

    def rows() -> Any:
        yield list(COLUMNS)
        for target in targets.iterator(chunk_size=2000):
            yield [target.period, target.metric, target.scope, _key(target), str(target.value)]

    return bytes(xlsx_file(rows(), title=_("Targets")).read())


def _scope_object(scope: str, key: str) -> dict[str, Any]:
    if scope in ("", "company"):
        if key:
            raise ServiceError(_("A company target has no scope key."))
        return {}
    if scope not in SCOPES:
        raise ServiceError(_("Unknown scope “%(scope)s”.") % {"scope": scope})
    if not key:
        raise ServiceError(
            _("Give the %(scope)s this target is for.") % {"scope": scope_label(scope)}
        )
    found: Any
    if scope == "user":
        found = get_user_model().objects.filter(username=key).first()
    elif scope == "team":
        found = Team.objects.filter(name=key).first()
    elif scope == "channel":
        found = Channel.objects.filter(code=key).first()
    else:
        found = Campaign.objects.filter(name=key).order_by("pk").first()
    if found is None:
        raise ServiceError(_("No %(scope)s “%(key)s”.") % {"scope": scope_label(scope), "key": key})
    return {scope: found}


def _period(text: str) -> str:
    """A period as typed, or as Excel turns ``2026-12`` into a date (``2026-12-01 …``)."""
    if len(text) >= 10 and text[4] == "-" and text[7] == "-" and text[8:10] == "01":
        return text[:7]
    return text


def _existing(period: str, metric: str, scope: dict[str, Any]) -> Target | None:
    lookups = {f"{name}__isnull": True for name in SCOPES}
    for name, value in scope.items():
        lookups.pop(f"{name}__isnull")
        lookups[name] = value
    return Target.objects.filter(period=period, metric=metric, **lookups).first()


def import_targets(*, actor: User, file: IO[bytes]) -> dict[str, Any]:
    """Import the workbook's first sheet; ``{"created", "updated", "errors": [{"row",
    "message"}]}``; with errors nothing is written (``created``/``updated`` are what would
    have been)."""
    head = file.read(4)
    if head != b"PK\x03\x04":
        raise ServiceError(_("This file is not a readable XLSX workbook."), field="file")
    check_xlsx_package(file)
    rows = _open_xlsx(file)
    created = updated = 0
    errors: list[dict[str, Any]] = []
    with contextlib.closing(rows), transaction.atomic():
        headers = [
            HEADERS.get(h.strip().lower(), HEADERS.get(h.strip(), "")) for h in next(rows, [])
        ]
        missing = [c for c in COLUMNS if c not in headers and c != "key"]
        if missing:
            raise ServiceError(
                _("Missing columns: %(columns)s.") % {"columns": ", ".join(missing)}, field="file"
            )
        for number, raw in enumerate(rows, start=1):
            if number > MAX_ROWS:
                raise ServiceError(
                    _("At most %(n)d targets per file.") % {"n": MAX_ROWS}, field="file"
                )
            cells = {
                name: (raw[i] if i < len(raw) else "").strip()
                for i, name in enumerate(headers)
                if name
            }
            if not any(cells.values()):
                continue
            cells["period"] = _period(cells.get("period", ""))
            try:
                with transaction.atomic():
                    scope = _scope_object(cells.get("scope", "").lower(), cells.get("key", ""))
                    target = _existing(cells.get("period", ""), cells.get("metric", ""), scope)
                    target_save(
                        actor=actor,
                        target=target,
                        period=cells.get("period", ""),
                        metric=cells.get("metric", ""),
                        value=cells.get("value", ""),
                        **scope,
                    )
            except ServiceError as error:
                column = error.field or ""
                errors.append({"row": number, "column": column, "message": error.message})
                continue
            if target is None:
                created += 1
            else:
                updated += 1
        if errors:
            transaction.set_rollback(True)
    return {"created": created, "updated": updated, "errors": errors}
