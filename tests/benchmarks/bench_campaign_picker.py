"""The lead filters' campaign picker with ``BENCH_PICKER_CAMPAIGNS`` campaigns (10,000).

Every role's lead list, the pool, the routing simulation page, and the picker's search
endpoint, in-process (the Django test client), each the median of a few requests. The rep
holds a lead in every campaign: their scope is every campaign too (the worst case for the
scoped drop-down). ``BENCH_PICKER_BASELINE=1`` labels the figures as the baseline run.

    ./scripts/bench -k picker -s --create-db
"""

from __future__ import annotations

import os
import statistics
import time

import pytest
from django.db import connection
from django.test import Client
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from tests.benchmarks import data
from tests.factories import TeamFactory, TeamMembershipFactory, UserFactory

CAMPAIGNS = int(os.environ.get("BENCH_PICKER_CAMPAIGNS", "10000"))
REPEAT = int(os.environ.get("BENCH_PICKER_REPEAT", "3"))


def _time_pages(pages, users, label: str, figures: dict[str, str]) -> None:
    """Each (role, url) of ``pages`` as that role: the median time, size and options."""
    for role, url in pages:
        client = Client()
        client.force_login(users[role])
        client.get(url)  # warm-up: templates, session
        ms, size, options = _median_ms(client, url)
        figures[f"{label}: {role} {url} ({CAMPAIGNS} campaigns)"] = (
            f"{ms:.0f} ms, {size // 1024} KiB, {options} <option>s"
        )


def _median_ms(client: Client, url: str) -> tuple[float, int, int]:
    timings = []
    response = None
    for _ in range(REPEAT):
        started = time.perf_counter()
        response = client.get(url)
        timings.append((time.perf_counter() - started) * 1000)
    assert response is not None and response.status_code == 200, (url, response)
    return statistics.median(timings), len(response.content), response.content.count(b"<option")


@pytest.mark.django_db(transaction=True)
def test_campaign_picker_pages(report):
    from leads.models import Lead
    from pipeline.db import fast_bulk_insert

    campaigns = data.campaigns(CAMPAIGNS)
    company = data.companies(1)[0]
    team = TeamFactory(name="Bench team")
    rep = TeamMembershipFactory(team=team, user=UserFactory(roles=["sales_rep"])).user
    users = {
        "manager": UserFactory(roles=["manager"]),
        "desk": UserFactory(roles=["lead_desk"]),
        "marketer": UserFactory(roles=["marketer"]),
        "sales_manager": team.manager,
        "rep": rep,
    }
    now = timezone.now()
    fast_bulk_insert(
        Lead,
        [
            Lead(
                name=f"P{i}",
                phone=f"+86137{i:08d}",
                company_id=company.pk,
                company_name=company.name,
                source_campaign_id=campaign.pk,
                stage="mql",
                grade="B",
                owner_id=rep.pk,
                created_at=now,
                mql_at=now,
                assigned_at=now,
            )
            for i, campaign in enumerate(campaigns)
        ],
    )
    with connection.cursor() as cursor:
        # As autovacuum leaves a table: statistics, and a visibility map for index-only
        # scans (a rep's campaigns from ``lead_owner_campaign``).
        cursor.execute("VACUUM ANALYZE")
    chosen = campaigns[len(campaigns) // 2].pk
    label = "before" if os.environ.get("BENCH_PICKER_BASELINE") else "now"
    figures: dict[str, str] = {}
    pages = [
        ("manager", reverse("leads:list")),
        ("manager", reverse("leads:list") + f"?campaign={chosen}"),
        ("manager", reverse("leads:list") + "?in_pool=true"),
        ("desk", reverse("leads:list")),
        ("marketer", reverse("leads:list")),
        ("sales_manager", reverse("leads:list")),
        ("rep", reverse("leads:list")),
        ("rep", reverse("leads:list") + f"?campaign={chosen}"),
        ("manager", reverse("assignment:simulate")),
    ]
    _time_pages(pages, users, label, figures)
    try:
        search = reverse("lead-campaign-choices")
    except NoReverseMatch:  # the baseline has no search endpoint
        search = ""
    if search:
        for role in ("manager", "rep"):
            client = Client()
            client.force_login(users[role])
            for text in ("", "Bench 5", "999"):
                ms, _size, _options = _median_ms(client, f"{search}?q={text}")
                figures[f"{label}: {role} search q={text!r}"] = f"{ms:.1f} ms"
        from leads.selectors import lead_campaign_search

        for role in ("manager", "rep"):
            rows = lead_campaign_search(users[role], text="Bench 5")
            plan = rows.explain(analyze=True)
            figures[f"{label}: {role} search plan"] = "\n    " + plan.replace("\n", "\n    ")
    report(f"campaign_picker_{label}", figures)


def _legacy_drop_down(form, name, *, scope, text=None):
    """The forms before the picker: a drop-down of every campaign of the field's queryset
    (with the old client-side narrowing box), for the same-run baseline."""
    from django import forms

    field = form.fields[name]
    field.widget = forms.Select(attrs={"data-searchable": ""})
    field.widget.choices = field.choices


@pytest.mark.django_db(transaction=True)
def test_campaign_picker_forms(report, monkeypatch):
    """The lead create/edit form (the desk), the import upload (the desk) and the targets
    page with its target form (a manager) with ``BENCH_PICKER_CAMPAIGNS`` campaigns: the
    drop-down of every usable campaign (``before``, the old widget patched back in, same
    run) against the picker (``now``)."""
    import leads.forms
    import leads.views.imports
    import targets.forms
    from tests.factories import LeadFactory

    campaigns = data.campaigns(CAMPAIGNS)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    users = {"desk": UserFactory(roles=["lead_desk"]), "manager": UserFactory(roles=["manager"])}
    chosen = campaigns[len(campaigns) // 2]
    lead = LeadFactory(source_campaign=chosen)
    pages = [
        ("desk", reverse("leads:create")),
        ("desk", reverse("leads:edit", args=[lead.pk])),
        ("desk", reverse("imports:new") + f"?campaign={chosen.pk}"),
        ("manager", reverse("targets:list")),
    ]
    figures: dict[str, str] = {}
    for label in ("before", "now"):
        with monkeypatch.context() as patch:
            if label == "before":
                for module in (leads.forms, leads.views.imports, targets.forms):
                    patch.setattr(module, "campaign_picker_field", _legacy_drop_down)
            _time_pages(pages, users, label, figures)
    client = Client()
    client.force_login(users["desk"])
    search = reverse("lead-campaign-choices")
    for text in ("", "Bench 5", "999"):
        ms, _size, _options = _median_ms(client, f"{search}?scope=lead&q={text}")
        figures[f"now: desk search scope=lead q={text!r}"] = f"{ms:.1f} ms"
    report("campaign_picker_forms", figures)
