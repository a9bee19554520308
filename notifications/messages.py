"""The words of each notification event, in the active language.

``render(event, params)`` turns an event code and its plain parameters (names, counts,
reason codes — never model instances) into a :class:`Message`; the service calls it once
per recipient language under ``translation.override``, and outlets call it through
``Occurrence.render(language)``. One place holds every event's text, emails and in-app rows
alike, so a new event is a code in ``notifications.choices.Event`` plus a renderer here.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.utils import formats, timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext, pgettext

from assignment.reasons import reason_text
from leads.choices import RecycleReason
from notifications.choices import Event

#: A message lists at most this many leads; its first line carries the full count.
MAX_LINES = 200


@dataclass(frozen=True)
class Message:
    """``text``: one line (the in-app row, the email subject, the robot message);
    ``detail``: further lines (the email body, the row's detail)."""

    text: str
    detail: str = ""

    def full(self) -> str:
        return f"{self.text}\n{self.detail}" if self.detail else self.text


Params = Mapping[str, Any]


def _dash(value: object) -> str:
    return str(value) if value not in (None, "") else "—"


def _when(value: object) -> str:
    """An instant (ISO text or datetime), local, in the active language's date style
    ("2026-12-02 09:30" in English, "2026年12月2日 09:30" in Chinese)."""
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    if not isinstance(value, dt.datetime):
        return "—"
    return formats.date_format(timezone.localtime(value), "SHORT_DATETIME_FORMAT")


def _why(params: Params) -> str:
    """The assignment's "why" in the active language (its code), else its stored text."""
    text = reason_text(
        str(params.get("reason_code") or ""),
        params.get("reason_params") or {},
        fallback=str(params.get("reason") or ""),
    )
    return _("Why: %(reason)s") % {"reason": text} if text else ""


def _lead_lines(items: Sequence[Mapping[str, Any]], *, with_due: bool = False) -> str:
    lines = []
    for item in items[:MAX_LINES]:
        line = f"- {item.get('name') or _('(erased)')} ({_dash(item.get('grade'))})"
        if with_due and item.get("due"):
            line += ", " + _("due %(when)s") % {"when": _when(item["due"])}
        lines.append(line)
    return "\n".join(lines)


def _lead_assigned(p: Params) -> Message:
    if "items" in p:  # a set assigned together: one notice listing the owner's new leads
        n = int(p.get("n") or len(p["items"]))
        text = ngettext("%(n)d new lead for you", "%(n)d new leads for you", n) % {"n": n}
        return Message(text, _lead_lines(p["items"]))
    detail = _("%(name)s (%(company)s), grade %(grade)s.") % {
        "name": p["lead_name"],
        "company": _dash(p.get("company")),
        "grade": _dash(p.get("grade")),
    }
    why = _why(p)
    return Message(
        _("New lead for you: %(name)s") % {"name": p["lead_name"]},
        f"{detail}\n{why}" if why else detail,
    )


def _lead_reassigned(p: Params) -> Message:
    if "items" in p:  # leads of theirs a set moved to other owners
        items = p["items"]
        n = int(p.get("n") or len(items))
        text = ngettext(
            "%(n)d lead of yours was reassigned",
            "%(n)d leads of yours were reassigned",
            n,
        ) % {"n": n}
        lines = [
            _("- %(name)s → %(owner)s")
            % {"name": item.get("name") or _("(erased)"), "owner": _dash(item.get("owner"))}
            for item in items[:MAX_LINES]
        ]
        return Message(text, "\n".join(lines))
    if p.get("by"):
        text = _("Your lead %(name)s was reassigned to %(owner)s by %(by)s") % {
            "name": p["lead_name"],
            "owner": p["owner"],
            "by": p["by"],
        }
    else:
        text = _("Your lead %(name)s was reassigned to %(owner)s by the routing rules") % {
            "name": p["lead_name"],
            "owner": p["owner"],
        }
    return Message(text, _why(p))


def _sla_reminder(p: Params) -> Message:
    items = p.get("items") or []
    n = int(p.get("n") or len(items))
    if p.get("kind") == "overdue":
        text = ngettext(
            "%(n)d lead is overdue for follow-up",
            "%(n)d leads are overdue for follow-up",
            n,
        ) % {"n": n}
        return Message(text, _lead_lines(items))
    text = ngettext(
        "%(n)d new lead is waiting for your first call",
        "%(n)d new leads are waiting for your first call",
        n,
    ) % {"n": n}
    return Message(text, _lead_lines(items, with_due=True))


def _sla_escalation(p: Params) -> Message:
    items = p.get("items") or []
    n = int(p.get("n") or len(items))
    text = ngettext(
        "%(n)d lead of your team has had no first response",
        "%(n)d leads of your team have had no first response",
        n,
    ) % {"n": n}
    return Message(text, _lead_lines(items))


def _recycle_reason(item: Mapping[str, Any]) -> str:
    """The recycle's reason code in the active language, then what a person typed."""
    code = str(item.get("code") or "")
    label = str(RecycleReason(code).label) if code in RecycleReason.values else ""
    note = str(item.get("note") or "")
    by = str(item.get("by") or "")
    parts = [part for part in (label, note) if part]
    text = pgettext("between a reason code and a typed reason", ": ").join(parts)
    if by:
        text = _("%(reason)s (by %(user)s)") % {"reason": text or "—", "user": by}
    return text


def _lead_recycled(p: Params) -> Message:
    items = p.get("items") or []
    if len(items) == 1:
        item = items[0]
        text = _("Your lead %(name)s went back to the pool") % {"name": item.get("name") or "—"}
        reason = _recycle_reason(item)
        return Message(text, _("Why: %(reason)s") % {"reason": reason} if reason else "")
    n = len(items)
    text = ngettext(
        "%(n)d of your leads went back to the pool",
        "%(n)d of your leads went back to the pool",
        n,
    ) % {"n": n}
    lines = []
    for item in items[:MAX_LINES]:
        reason = _recycle_reason(item)
        lines.append(f"- {item.get('name') or _('(erased)')}" + (f": {reason}" if reason else ""))
    return Message(text, "\n".join(lines))


def _duplicate_touch(p: Params) -> Message:
    if "n" in p:  # an import list brought back several of the owner's leads
        n = int(p["n"])
        text = ngettext(
            "%(n)d of your leads came back through %(campaign)s",
            "%(n)d of your leads came back through %(campaign)s",
            n,
        ) % {"n": n, "campaign": p["campaign"]}
        detail = _(
            "The list “%(file)s” imported into %(campaign)s contains %(n)d people who are "
            "already your open leads; a touch was added to each."
        ) % {"file": p["file"], "campaign": p["campaign"], "n": n}
        return Message(text, detail)
    text = _("Your lead %(name)s came back through %(campaign)s") % {
        "name": p["lead_name"],
        "campaign": _dash(p.get("campaign")),
    }
    return Message(text)


def _import_done(p: Params) -> Message:
    if p.get("failed_job"):
        return Message(
            _("The import of %(file)s stopped") % {"file": p["file"]}, str(p.get("message") or "")
        )
    text = _("The import of %(file)s into %(campaign)s is finished") % {
        "file": p["file"],
        "campaign": p["campaign"],
    }
    counts = {
        "created": p["created"],
        "duplicates": p["duplicates"],
        "conflicts": p.get("conflicts", 0),
        "failed": p["failed"],
    }
    if counts["conflicts"]:
        detail = (
            _(
                "%(created)d new leads, %(duplicates)d known people (a touch added), "
                "%(conflicts)d known contacts under another name (for the desk to review), "
                "%(failed)d rows refused."
            )
            % counts
        )
    else:
        detail = (
            _(
                "%(created)d new leads, %(duplicates)d known people (a touch added), "
                "%(failed)d rows refused."
            )
            % counts
        )
    return Message(text, detail)


def _report_ready(p: Params) -> Message:
    if p.get("error"):
        return Message(_("Your report job failed"), str(p["error"]))
    n = int(p.get("n") or 0)
    return Message(
        ngettext(
            "Your report is ready (%(n)d report computed)",
            "Your reports are ready (%(n)d reports computed)",
            n,
        )
        % {"n": n}
    )


def _export_ready(p: Params) -> Message:
    if p.get("error"):
        return Message(_("Your export failed"), str(p["error"]))
    n = int(p.get("n") or 0)
    return Message(
        ngettext("Your export is ready (%(n)d lead)", "Your export is ready (%(n)d leads)", n)
        % {"n": n},
        _("The download link works for you only, for %(days)d days.") % {"days": p["days"]},
    )


def _target_at_risk(p: Params) -> Message:
    text = _("Target %(target)s is at risk") % {"target": p["target"]}
    detail = _("%(actual)s reached of %(goal)s; %(expected)s expected by now.") % {
        "actual": p["actual"],
        "goal": p["goal"],
        "expected": p["expected"],
    }
    return Message(text, detail)


RENDERERS: dict[str, Callable[[Params], Message]] = {
    Event.LEAD_ASSIGNED: _lead_assigned,
    Event.LEAD_REASSIGNED: _lead_reassigned,
    Event.SLA_REMINDER: _sla_reminder,
    Event.SLA_ESCALATION: _sla_escalation,
    Event.LEAD_RECYCLED: _lead_recycled,
    Event.DUPLICATE_TOUCH: _duplicate_touch,
    Event.IMPORT_DONE: _import_done,
    Event.REPORT_READY: _report_ready,
    Event.TARGET_AT_RISK: _target_at_risk,
    Event.EXPORT_READY: _export_ready,
}


def render(event: str, params: Params) -> Message:
    """The event's message in the active language."""
    return RENDERERS[event](params)


def render_in(event: str, params: Params, language: str) -> Message:
    """The event's message in ``language``."""
    with translation.override(language):
        return render(event, params)
