"""Pages of the notifications app: the notification centre, "My settings", the rep's
"Today" list, and the language switcher that also saves the user's language."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST
from django.views.i18n import set_language as django_set_language

from leads.choices import Stage
from leads.views.sales import LeadRow, my_lead_rows
from notifications import services
from notifications.choices import Event
from notifications.forms import SettingsForm
from notifications.middleware import remember_in_session
from notifications.selectors import notifications_of
from pipeline.errors import ServiceError
from pipeline.pages import safe_next_url
from pipeline.pagination import CappedPaginator
from pipeline.roles import SALES_ROLES, has_role

PAGE_SIZE = 25


@login_required
def notification_list(request: HttpRequest) -> HttpResponse:
    """The user's notifications, newest first; ``?unread=1`` shows the unread ones."""
    unread = request.GET.get("unread") == "1"
    paginator = CappedPaginator(notifications_of(request.user, unread=unread), PAGE_SIZE)
    page = paginator.get_page(request.GET.get("page"))
    return render(
        request,
        "notifications/notification_list.html",
        {
            "rows": list(page.object_list),
            "page_obj": page,
            "paginator": paginator,
            "page_range": paginator.get_elided_page_range(page.number, on_each_side=2, on_ends=1),
            "unread_only": unread,
        },
    )


def _back(request: HttpRequest) -> HttpResponse:
    return redirect(safe_next_url(request, reverse("notifications:list")))


@login_required
@require_POST
def notification_read(request: HttpRequest, pk: int) -> HttpResponse:
    """Mark one of mine read, then open what it is about (or go back)."""
    try:
        row = services.mark_read(user=request.user, notification_id=pk)
    except ServiceError as exc:
        if exc.code == "not_found":
            raise Http404 from exc
        raise
    if request.POST.get("open") and row.url:
        return redirect(row.url)
    return _back(request)


@login_required
@require_POST
def notification_read_all(request: HttpRequest) -> HttpResponse:
    count = services.mark_all_read(user=request.user)
    messages.success(request, _("%(n)d notifications marked read.") % {"n": count})
    return _back(request)


def _initial(user: Any) -> dict[str, str]:
    prefs = services.prefs_of(user)
    return {
        "language": prefs.language,
        **{f"channel_{event.value}": prefs.channel(event) for event in Event},
    }


@login_required
def my_settings(request: HttpRequest) -> HttpResponse:
    """ "My settings": language and, per event, in-app only / plus email / plus robot."""
    if request.method == "POST":
        form = SettingsForm(request.POST)
        if form.is_valid():
            services.settings_save(
                user=request.user,
                language=form.cleaned_data["language"],
                channels=form.channels(),
            )
            remember_in_session(request, form.cleaned_data["language"])
            messages.success(request, _("Your settings were saved."))
            return redirect("notifications:settings")
        messages.error(request, _("Your settings were not saved: check the marked fields."))
        status = 400
    else:
        form = SettingsForm(initial=_initial(request.user))
        status = 200
    return render(request, "notifications/settings.html", {"form": form}, status=status)


#: Today's sections: key and title.
TODAY_SECTIONS = (
    ("follow_ups", gettext_lazy("Follow-ups due today or overdue")),
    ("clocks", gettext_lazy("First response clocks running")),
    ("waiting", gettext_lazy("New leads waiting for you to accept")),
)


def today_sections(user: Any, *, now: dt.datetime) -> dict[str, list[LeadRow]]:
    """A rep's tasks for today: follow-ups due today or overdue, first-response clocks
    running (time left in working time), new leads waiting for them to accept. The rows,
    their sections ("overdue", "today") and clocks are "My leads"'
    (``leads.views.sales.my_lead_rows``): one definition of overdue and of the clock."""
    rows = my_lead_rows(user, now=now)
    return {
        "follow_ups": [row for row in rows if row.section in ("overdue", "today")],
        "clocks": [r for r in rows if r.lead.responded_at is None and r.lead.response_due_at],
        "waiting": [row for row in rows if row.lead.stage == Stage.MQL],
    }


@login_required
def today(request: HttpRequest) -> HttpResponse:
    """The "Today" page (``today_sections``)."""
    sections = today_sections(request.user, now=timezone.now())
    return render(
        request,
        "notifications/today.html",
        {
            "sections": [
                {"key": key, "title": title, "rows": sections[key]} for key, title in TODAY_SECTIONS
            ],
            "is_sales": has_role(request.user, *SALES_ROLES),
        },
    )


def set_language(request: HttpRequest) -> HttpResponse:
    """Django's language switch; a signed-in user's choice is also saved on them, so their
    emails and notifications follow it."""
    response = django_set_language(request)
    if request.method == "POST" and request.user.is_authenticated:
        code = services.remember_language(
            user=request.user, language=str(request.POST.get("language", ""))
        )
        if code is not None:
            remember_in_session(request, code)
    return response
