"""Small helpers every server-rendered page shares: page sizes, a safe ``next`` address,
form errors as readable lines, the label of a coded choice."""

from __future__ import annotations

from django import forms
from django.db import models
from django.http import HttpRequest
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _

#: Rows per page a list offers (``?page_size=``); the first is the default.
PAGE_SIZES = (25, 50, 100)


def page_size(request: HttpRequest, sizes: tuple[int, ...] = PAGE_SIZES) -> int:
    """The page size asked for, when it is one of ``sizes``; else the first."""
    try:
        size = int(request.GET.get("page_size", sizes[0]))
    except ValueError:
        return sizes[0]
    return size if size in sizes else sizes[0]


def safe_next_url(request: HttpRequest, default: str) -> str:
    """The ``next`` field (form or query) when it points into this site, else ``default``:
    never an open redirect."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return default


def form_error_messages(form: forms.BaseForm) -> list[str]:
    """One readable line per invalid field: "Label: problem"."""
    lines = []
    for name, errors in form.errors.items():
        text = " ".join(str(error) for error in errors)
        if name == "__all__":
            lines.append(text)
        else:
            lines.append(
                _("%(field)s: %(errors)s") % {"field": form.fields[name].label, "errors": text}
            )
    return lines


def choice_label(choices: type[models.TextChoices], code: str) -> str:
    """The label of ``code`` in ``choices``; an unknown code as it is, nothing as ""."""
    if not code:
        return ""
    try:
        return str(choices(code).label)
    except ValueError:
        return code
