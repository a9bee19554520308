"""``/sales/`` a page at a time (issue #17 item 8): the sections and the urgency order are
computed in the database, equal to the Python rule (``follow_up_due_at``, first response
due), the counts cover every lead, and the page links keep the other parameters."""

from __future__ import annotations

import datetime as dt
import random

import pytest
from django.urls import reverse
from django.utils import timezone

from leads.choices import Stage
from leads.models import Lead
from leads.views.sales import SECTIONS, follow_up_due_at, my_open_leads
from reports.sla.config import policies
from tests.factories import lead_in_stage

pytestmark = pytest.mark.django_db


@pytest.fixture
def many(rep, desk):
    rng = random.Random(3)
    now = timezone.now()
    leads = []
    for _ in range(36):
        stage = rng.choice([Stage.MQL, Stage.SQL, Stage.OPPORTUNITY])
        lead = lead_in_stage(stage, owner=rep, desk=desk, grade=rng.choice("ABCD"))
        change = {}
        roll = rng.random()
        if roll < 0.3:
            change["next_follow_up_at"] = now + dt.timedelta(hours=rng.randint(-72, 72))
        elif roll < 0.5:
            change["last_follow_up_at"] = now - dt.timedelta(days=rng.randint(0, 20))
        if rng.random() < 0.3:
            change["grade"] = ""
        if change:
            Lead.objects.filter(pk=lead.pk).update(**change)
        leads.append(lead)
    return leads


def _python_order(user, now):
    """The order as the page computed it before: urgency then id, in Python."""
    by_grade = policies()
    leads = list(Lead.objects.filter(owner=user, pk__in=my_open_leads(user, now=now).values("pk")))
    far = dt.datetime.max.replace(tzinfo=dt.UTC)

    def urgency(lead):
        first = lead.response_due_at if lead.responded_at is None else None
        due = [d for d in (first, follow_up_due_at(lead, by_grade)) if d is not None]
        return (min(due) if due else far, lead.pk)

    return [lead.pk for lead in sorted(leads, key=urgency)]


def test_database_order_equals_the_python_rule_within_each_section(rep, many):
    now = timezone.now()
    ordered = list(my_open_leads(rep, now=now))
    assert len(ordered) == len(many)
    sections = [lead.section for lead in ordered]
    keys = [key for key, *_rest in SECTIONS]
    assert sections == sorted(sections, key=keys.index)  # grouped, in the page's order
    expected = _python_order(rep, now)
    for key in keys:
        mine = [lead.pk for lead in ordered if lead.section == key]
        assert mine == [pk for pk in expected if pk in set(mine)], key


def test_sales_page_is_paginated_with_counts_of_every_lead(client, rep, many):
    client.force_login(rep)
    first = client.get(reverse("sales:my_leads") + "?page_size=25")
    assert first.status_code == 200
    shown = sum(len(section["rows"]) for section in first.context["sections"])
    assert shown == 25
    assert first.context["total"] == 36
    counts = {s["key"]: s["count"] for s in first.context["sections"]}
    assert counts["overdue"] + counts["today"] + counts["rest"] <= 36
    html = first.content.decode()
    assert "page_size=25&amp;page=2" in html or "page=2&amp;page_size=25" in html
    second = client.get(reverse("sales:my_leads") + "?page_size=25&page=2")
    again = sum(len(section["rows"]) for section in second.context["sections"])
    assert again == 11
    pks = {row.lead.pk for s in first.context["sections"] for row in s["rows"]}
    pks |= {row.lead.pk for s in second.context["sections"] for row in s["rows"]}
    assert pks == {lead.pk for lead in many}


def test_sales_page_queries_do_not_grow_with_the_leads(client, rep, desk, assert_queries_flat):
    client.force_login(rep)

    def add(n):
        for _ in range(n):
            lead_in_stage(Stage.SQL, owner=rep, desk=desk)

    add(3)
    assert_queries_flat(lambda: client.get(reverse("sales:my_leads")), grow=lambda: add(20))
