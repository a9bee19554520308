"""The team page in sections (issue 15, item 5): members and compliance, leads waiting to
be accepted, overdue, open leads by rep, each an anchored panel with a tab."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from leads.choices import Stage
from tests.factories import lead_in_stage

pytestmark = pytest.mark.django_db

SECTIONS = ["reps", "waiting", "overdue", "leads"]


def _section(html: str, key: str) -> str:
    start = html.index(f'id="{key}"')
    end = html.find('<section class="card', start + 1)
    return html[start : end if end != -1 else len(html)]


def test_team_page_has_tabs_and_one_panel_per_concern(client, team, rep, other_rep):
    waiting = lead_in_stage(Stage.MQL, owner=rep)
    accepted = lead_in_stage(Stage.SQL, owner=other_rep)
    client.force_login(team.manager)
    html = client.get(reverse("sales:team")).content.decode()
    tabs = html.split('<nav class="team-tabs"', 1)[1].split("</nav>", 1)[0]
    assert re.findall(r'href="#([a-z]+)"', tabs) == SECTIONS
    for key in SECTIONS:
        assert re.search(rf'<section class="card[^"]*tab-panel" id="{key}">', html), key
    assert str(waiting) in _section(html, "waiting")
    assert str(accepted) not in _section(html, "waiting")
    assert str(waiting) in _section(html, "leads") and str(accepted) in _section(html, "leads")
    # the rep summary links to the rep's rows inside the "open leads" panel
    assert f'href="#rep-{rep.pk}"' in html
    assert f'id="rep-{rep.pk}"' in _section(html, "leads")


def test_team_page_query_count_stays_flat(client, team, rep, assert_queries_flat):
    lead_in_stage(Stage.MQL, owner=rep)
    client.force_login(team.manager)

    def grow() -> None:
        for _ in range(3):
            lead_in_stage(Stage.MQL, owner=rep)
            lead_in_stage(Stage.SQL, owner=rep)

    response = assert_queries_flat(lambda: client.get(reverse("sales:team")), grow=grow)
    assert _section(response.content.decode(), "waiting").count('data-lead="') == 4
