"""Scoring pages: rules by dimension, rule create/edit/delete, thresholds, rescoring."""

from __future__ import annotations

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from scoring.forms import condition_display, parse_value, value_as_text
from scoring.models import GradeThresholds, RescoreJob, ScoringRule

pytestmark = pytest.mark.django_db


def _messages(response) -> list[tuple[str, str]]:
    return [(m.level_tag, str(m)) for m in get_messages(response.wsgi_request)]


def _rule_data(**overrides) -> dict:
    return {
        "name": "Big budget",
        "dimension": "fit",
        "field": "budget",
        "operator": "gte",
        "value": "100000",
        "points": "20",
        "active": "on",
        **overrides,
    }


# --------------------------------------------------------------------------------------
# Access
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["desk", "marketer", "manager", "sales_manager"])
def test_scoring_page_renders_for_readers(client, request, role):
    user = request.getfixturevalue(role)
    client.force_login(user)
    response = client.get(reverse("scoring:index"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Grade thresholds" in html
    # The default BANT rules, grouped by dimension.
    labels = [str(group["label"]) for group in response.context["groups"]]
    assert labels == ["Fit", "Engagement"]
    assert ScoringRule.objects.exists()
    assert all(
        row.rule.dimension == group["code"]
        for group in response.context["groups"]
        for row in group["rows"]
    )
    editable = reverse("scoring:rule_create") in html
    assert editable is (role == "desk")
    assert (response.context["thresholds_form"] is not None) is (role == "desk")


def test_scoring_page_is_403_for_sales_reps(client, rep):
    client.force_login(rep)
    assert client.get(reverse("scoring:index")).status_code == 403


def test_readers_cannot_write(client, marketer):
    client.force_login(marketer)
    before = ScoringRule.objects.count()
    assert client.get(reverse("scoring:rule_create")).status_code == 403
    assert client.post(reverse("scoring:rule_create"), _rule_data()).status_code == 403
    assert client.post(reverse("scoring:thresholds"), {"a": 90}).status_code == 403
    rule = ScoringRule.objects.first()
    assert client.post(reverse("scoring:rule_delete", args=[rule.pk])).status_code == 403
    assert ScoringRule.objects.count() == before


def test_nav_shows_scoring_to_desk_marketing_and_management(client, desk, marketer, rep):
    for user, shown in ((desk, True), (marketer, True), (rep, False)):
        client.force_login(user)
        html = client.get(reverse("leads:list")).content.decode()
        assert ('data-nav="scoring"' in html) is shown


# --------------------------------------------------------------------------------------
# Rules
# --------------------------------------------------------------------------------------


def test_desk_creates_a_rule_and_a_rescore_is_queued(client, desk):
    client.force_login(desk)
    response = client.post(
        reverse("scoring:rule_create"),
        _rule_data(
            name="Target industries", field="industry", operator="in", value='["IT", "Retail"]'
        ),
    )
    assert response.status_code == 302
    rule = ScoringRule.objects.get(name="Target industries")
    assert (rule.field, rule.operator, rule.value, rule.points) == (
        "industry",
        "in",
        ["IT", "Retail"],
        20,
    )
    assert RescoreJob.objects.exists()
    html = client.get(reverse("scoring:index")).content.decode()
    assert "Industry is one of [IT, Retail]" in html


def test_rule_with_a_bad_value_shows_the_service_error_and_saves_nothing(client, desk):
    client.force_login(desk)
    before = ScoringRule.objects.count()
    response = client.post(reverse("scoring:rule_create"), _rule_data(value="lots"))
    assert response.status_code == 200
    assert response.context["form"].errors["value"] == ["“gte” needs a number as value."]
    assert "“gte” needs a number as value." in response.content.decode()
    assert ScoringRule.objects.count() == before
    assert not RescoreJob.objects.exists()


def test_rule_with_an_unknown_field_or_operator_is_refused_with_the_services_message(client, desk):
    client.force_login(desk)
    response = client.post(reverse("scoring:rule_create"), _rule_data(field="shoe_size"))
    assert "Unknown field “shoe_size”" in response.context["form"].errors["field"][0]
    response = client.post(reverse("scoring:rule_create"), _rule_data(operator="near"))
    assert "Unknown operator “near”" in response.context["form"].errors["operator"][0]
    assert not ScoringRule.objects.filter(name="Big budget").exists()


def test_desk_edits_and_deletes_a_rule(client, desk):
    client.force_login(desk)
    client.post(reverse("scoring:rule_create"), _rule_data())
    rule = ScoringRule.objects.get(name="Big budget")
    response = client.get(reverse("scoring:rule_edit", args=[rule.pk]))
    assert response.context["form"].initial["value"] == "100000"

    response = client.post(
        reverse("scoring:rule_edit", args=[rule.pk]), _rule_data(points="-5", active="")
    )
    assert response.status_code == 302
    rule.refresh_from_db()
    assert (rule.points, rule.active) == (-5, False)

    assert client.get(reverse("scoring:rule_delete", args=[rule.pk])).status_code == 200
    response = client.post(reverse("scoring:rule_delete", args=[rule.pk]))
    assert response.status_code == 302
    assert not ScoringRule.objects.filter(pk=rule.pk).exists()


# --------------------------------------------------------------------------------------
# Thresholds and rescoring
# --------------------------------------------------------------------------------------


def test_thresholds_out_of_order_are_refused(client, desk):
    client.force_login(desk)
    response = client.post(
        reverse("scoring:thresholds"),
        {"a": "40", "b": "50", "c": "25", "auto_qualify_score": "75"},
    )
    assert response.status_code == 200
    assert response.context["thresholds_form"].errors["a"] == [
        "Thresholds must be in order: A above B above C."
    ]
    thresholds = GradeThresholds.current()
    assert (thresholds.a, thresholds.b, thresholds.c) == (75, 50, 25)


def test_thresholds_saved_with_auto_qualification(client, desk):
    client.force_login(desk)
    response = client.post(
        reverse("scoring:thresholds"),
        {"a": "80", "b": "60", "c": "30", "auto_qualify": "on", "auto_qualify_score": "85"},
    )
    assert response.status_code == 302
    thresholds = GradeThresholds.current()
    assert (thresholds.a, thresholds.b, thresholds.c) == (80, 60, 30)
    assert thresholds.auto_qualify and thresholds.auto_qualify_score == 85
    assert _messages(response)[0][0] == "success"


def test_latest_rescore_job_is_shown_with_progress(client, desk):
    RescoreJob.objects.create(status="done", total=10, processed=10, changed=3, reason="old")
    job = RescoreJob.objects.create(status="running", total=200, processed=50, reason="Rule x")
    client.force_login(desk)
    response = client.get(reverse("scoring:index"))
    assert response.context["rescore"]["job"] == job
    assert response.context["rescore"]["percent"] == 25
    html = response.content.decode()
    assert f'data-url="/api/v1/rescore-jobs/{job.pk}/"' in html
    assert 'data-status="running"' in html
    assert client.get(f"/api/v1/rescore-jobs/{job.pk}/").json()["processed"] == 50


# --------------------------------------------------------------------------------------
# Value parsing
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("50000", 50000),
        ("2.5", 2.5),
        ('["A", "B"]', ["A", "B"]),
        ("true", True),
        ("false", False),
        ("Shanghai", "Shanghai"),
        ("上海", "上海"),
        ('"true"', "true"),
        ("  ", ""),
    ],
)
def test_parse_value_reads_json_else_text(text, value):
    assert parse_value(text) == value


@pytest.mark.parametrize("value", [50000, 2.5, ["A", "B"], True, "Shanghai", "true", "42"])
def test_value_as_text_round_trips(value):
    assert parse_value(value_as_text(value)) == value


def test_condition_display_reads_like_a_sentence():
    assert condition_display("budget", "gte", 100000.0) == "Budget ≥ 100,000"
    assert condition_display("email", "is_set", True) == "Email is filled in"
    assert condition_display("grade", "in", ["A", "B"]) == "Grade is one of [A, B]"
    assert condition_display("timeline", "eq", "1m") == "Timeline is Within 1 month"
    assert condition_display("touch_count", "gte", 3) == "Number of touches ≥ 3"
