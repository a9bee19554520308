"""Small presentation helpers of the lead pages: badges and sortable column headers."""

from __future__ import annotations

from django import template
from django.utils.html import format_html
from django.utils.translation import gettext as _

from leads.choices import Grade, Stage

register = template.Library()


@register.filter
def stage_label(code: str) -> str:
    """``"mql"`` → ``"MQL"`` in the current language; unknown codes pass through."""
    try:
        return str(Stage(code).label)
    except ValueError:
        return code or ""


@register.simple_tag
def stage_badge(code: str):
    if not code:
        return ""
    return format_html('<span class="badge stage stage-{}">{}</span>', code, stage_label(code))


@register.simple_tag
def grade_badge(code: str):
    if code not in Grade.values:
        return format_html(
            '<span class="badge grade grade-none" title="{}">–</span>', _("No grade")
        )
    return format_html(
        '<span class="badge grade grade-{}" title="{}">{}</span>',
        code.lower(),
        _("Grade %(grade)s") % {"grade": code},
        code,
    )


#: Columns that read best largest/newest first on the first click.
_DESCENDING_FIRST = frozenset({"created_at", "score", "next_follow_up_at"})


@register.simple_tag(takes_context=True)
def sort_header(context, field: str, label: str):
    """A ``<th>`` whose link toggles ``?sort=field`` / ``?sort=-field``, keeping filters."""
    request = context["request"]
    current = context.get("sort", "")
    if current == field:
        target, state, arrow = f"-{field}", "ascending", "▲"
    elif current == f"-{field}":
        target, state, arrow = field, "descending", "▼"
    else:
        target = f"-{field}" if field in _DESCENDING_FIRST else field
        state, arrow = "none", ""
    params = request.GET.copy()
    params["sort"] = target
    params.pop("page", None)
    params.pop("cursor", None)  # a cursor belongs to one sort
    return format_html(
        '<th class="sortable" aria-sort="{}" data-col="{}">'
        '<a href="?{}">{}<span class="arrow" aria-hidden="true">{}</span></a></th>',
        state,
        field,
        params.urlencode(),
        label,
        arrow,
    )


def _tel_href(phone: str) -> str:
    """``tel:`` target of a phone number as stored: digits and a leading ``+`` only."""
    digits = "".join(ch for ch in phone if ch.isdigit())
    return f"tel:{'+' if phone.strip().startswith('+') else ''}{digits}"


@register.simple_tag
def contact_phone(contact, css: str = ""):
    """A phone number to tap and call; masked numbers (the pool, for sales) stay plain text
    so nothing hands out what the page hides."""
    phone = getattr(contact, "phone", "")
    if not phone:
        return ""
    if getattr(contact, "masked", True):
        return format_html('<span class="mono nowrap {}">{}</span>', css, phone)
    return format_html(
        '<a class="tel-link mono nowrap {}" href="{}" title="{}">{}</a>',
        css,
        _tel_href(phone),
        _("Call %(phone)s") % {"phone": phone},
        phone,
    )


@register.simple_tag
def contact_wechat(contact):
    """A WeChat id with a one-tap copy button (static/js/app.js); masked ids are plain text."""
    wechat = getattr(contact, "wechat", "")
    if not wechat:
        return ""
    if getattr(contact, "masked", True):
        return format_html('<span class="wechat-id">{}</span>', wechat)
    return format_html(
        '<span class="copyable"><span class="wechat-id">{}</span> '
        '<button type="button" class="btn btn-sm btn-copy" data-copy="{}" '
        'data-copied-label="{}" data-failed-label="{}" aria-label="{}">{}</button>'
        '<span class="copy-status visually-hidden" role="status"></span></span>',
        wechat,
        wechat,
        _("Copied"),
        _("Select and copy"),
        _("Copy WeChat ID %(id)s") % {"id": wechat},
        _("Copy"),
    )
