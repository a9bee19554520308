"""The bulk bar of the lead lists and the one view it posts to (``leads.bulk``).

Every list that lets its reader act on several leads (the lead list and pool, new for
me, my leads, the team page, the desk queue) includes ``leads/_bulk_bar.html`` with
``leads.bulk.bulk_bar(...)`` and posts here: ticked rows (``lead``), or every lead matching the
list's filters (``select_all`` with the list's ``query``, up to ``BULK_CAP``).
"""

from __future__ import annotations

from collections.abc import Iterable

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from leads.bulk import (
    BULK_CAP,
    BULK_EXPORT,
    bulk_data,
    bulk_pooled,
    bulk_run,
    bulk_summary,
    offered_actions,
    selection_names,
)
from leads.exports import EXPORT_FORMATS, export_response, lead_rows
from leads.filters import LeadFilterSet
from leads.selectors import leads_visible_to
from pipeline.errors import ServiceError
from pipeline.pages import safe_next_url

EXPORT = BULK_EXPORT


def selected_ids(request: HttpRequest) -> list[int]:
    ids = []
    for value in request.POST.getlist("lead"):
        try:
            ids.append(int(value))
        except ValueError:
            continue
    return list(dict.fromkeys(ids))


def matching_ids(request: HttpRequest, query: str) -> list[int] | None:
    """Ids of the leads the list's filters (``query``) match for this user, or ``None``
    when more than ``BULK_CAP`` match."""
    filterset = LeadFilterSet(
        QueryDict(query), queryset=leads_visible_to(request.user), request=request
    )
    if not filterset.is_valid():
        return []
    ids = list(filterset.qs.order_by("pk").values_list("pk", flat=True)[: BULK_CAP + 1])
    return None if len(ids) > BULK_CAP else ids


def run_bulk_post(request: HttpRequest, user, *, back: str, offered: Iterable[str]) -> HttpResponse:
    """Run the posted action on the posted selection; the summary as a page message."""
    action = request.POST.get("action", "")
    if action not in offered:
        messages.error(request, _("Choose what to do with the selected leads."))
        return redirect(back)
    ids: list[int] | None = selected_ids(request)
    if request.POST.get("select_all"):
        ids = matching_ids(request, request.POST.get("query", ""))
        if ids is None:
            messages.error(
                request,
                _("More than %(cap)d leads match: narrow the filters first.") % {"cap": BULK_CAP},
            )
            return redirect(back)
    if not ids:
        messages.warning(request, _("Select at least one lead first."))
        return redirect(back)
    if action == EXPORT:
        file_format = request.POST.get("file_format", "csv")
        if file_format not in EXPORT_FORMATS or len(ids) > BULK_CAP:
            messages.error(
                request, _("Choose CSV or XLSX for at most %(cap)d leads.") % {"cap": BULK_CAP}
            )
            return redirect(back)
        selection = leads_visible_to(user).filter(pk__in=ids).order_by("pk")
        return export_response(lead_rows(selection, user), file_format=file_format)
    try:
        result = bulk_run(
            actor=user,
            name=action,
            lead_ids=ids,
            data=bulk_data(action, request.POST, prefix=f"{action}-"),
        )
    except ServiceError as error:  # the run itself was refused: nothing ran
        for line in error.lines:
            messages.error(request, line)
        return redirect(back)
    text = bulk_summary(action, result, selection_names(user, result))
    if action in ("qualify", "assign"):
        text = " ".join([text, *bulk_pooled(result.done)])
    if not result.refused:
        messages.success(request, text)
    elif result.done:
        messages.warning(request, text)
    else:
        messages.error(request, text)
    return redirect(back)


@login_required
@require_POST
def lead_bulk(request: HttpRequest) -> HttpResponse:
    """The lead lists' bulk bar: the role's actions, or an export of the selection."""
    user = request.user
    back = safe_next_url(request, reverse("leads:list"))
    return run_bulk_post(request, user, back=back, offered=[*offered_actions(user), EXPORT])
