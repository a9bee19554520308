"""Scopes of sales managers (DESIGN §1, issue #13): their own teams' memberships only, and
routing rules read-only. API and pages share the services, so both are checked."""

from __future__ import annotations

import pytest
from django.urls import reverse

from assignment import services
from assignment.models import AssignmentRule, TeamMembership
from leads.choices import Stage
from leads.models import Lead
from tests.factories import TeamFactory, TeamMembershipFactory, UserFactory, lead_in_stage

pytestmark = pytest.mark.django_db


def _member_body(user) -> dict:
    return {"user": user.pk, "weight": "1", "daily_capacity": "20", "max_open_leads": "200",
            "available": "on"}  # fmt: skip


# --------------------------------------------------------------------------------------
# Memberships
# --------------------------------------------------------------------------------------


def test_sales_manager_cannot_take_another_teams_rep_over_the_api(
    api, desk, sales_manager, team, outsider_rep
):
    lead = lead_in_stage(Stage.SQL, owner=outsider_rep, desk=desk)
    response = api(sales_manager).post(
        f"/api/v1/teams/{team.pk}/members/", {"user": outsider_rep.pk}, format="json"
    )
    assert response.status_code == 403
    assert "West" in response.json()["detail"]
    assert not TeamMembership.objects.filter(team=team, user=outsider_rep).exists()
    # the rep's leads stay out of the manager's reach
    assert api(sales_manager).get(f"/api/v1/leads/{lead.pk}/").status_code == 404


def test_sales_manager_cannot_swap_a_member_for_another_teams_rep(
    api, sales_manager, team, rep, outsider_rep
):
    own = TeamMembership.objects.get(team=team, user=rep)
    response = api(sales_manager).patch(
        f"/api/v1/teams/{team.pk}/members/{own.pk}/", {"user": outsider_rep.pk}, format="json"
    )
    assert response.status_code == 403
    own.refresh_from_db()
    assert own.user_id == rep.pk


def test_sales_manager_adds_a_free_rep_and_reps_of_their_other_team(api, sales_manager, team):
    free = UserFactory(roles=["sales_rep"])
    second = TeamFactory(name="North", manager=sales_manager)
    shared = TeamMembershipFactory(team=second).user
    client = api(sales_manager)
    for user in (free, shared):
        response = client.post(
            f"/api/v1/teams/{team.pk}/members/", {"user": user.pk}, format="json"
        )
        assert response.status_code == 201, response.json()
        assert TeamMembership.objects.filter(team=team, user=user).exists()


def test_desk_may_add_a_rep_of_another_team(api, desk, team, outsider_rep):
    response = api(desk).post(
        f"/api/v1/teams/{team.pk}/members/", {"user": outsider_rep.pk}, format="json"
    )
    assert response.status_code == 201
    assert TeamMembership.objects.filter(user=outsider_rep).count() == 2


def test_manager_edits_settings_of_a_member_shared_with_another_team(
    api, desk, sales_manager, team, outsider_rep
):
    services.membership_save(actor=desk, team=team, user=outsider_rep)
    own = TeamMembership.objects.get(team=team, user=outsider_rep)
    response = api(sales_manager).patch(
        f"/api/v1/teams/{team.pk}/members/{own.pk}/", {"weight": 3}, format="json"
    )
    assert response.status_code == 200
    own.refresh_from_db()
    assert own.weight == 3


def test_membership_page_refuses_and_hides_another_teams_rep(
    client, sales_manager, team, outsider_rep
):
    client.force_login(sales_manager)
    url = reverse("assignment:member_add", args=[team.pk])
    page = client.get(url)
    assert page.status_code == 200
    assert "rep_west" not in page.content.decode()
    response = client.post(url, _member_body(outsider_rep))
    assert response.status_code == 200  # the form again, with the error
    assert not TeamMembership.objects.filter(team=team, user=outsider_rep).exists()


def test_membership_service_refuses_another_teams_rep_with_its_team(
    sales_manager, team, outsider_rep
):
    from pipeline.errors import ServiceError

    with pytest.raises(ServiceError) as refused:
        services.membership_save(actor=sales_manager, team=team, user=outsider_rep)
    assert refused.value.code == "forbidden"
    assert "West" in refused.value.message
    assert TeamMembership.objects.filter(user=outsider_rep).count() == 1


# --------------------------------------------------------------------------------------
# Rules
# --------------------------------------------------------------------------------------


@pytest.fixture
def other_rule(desk):
    west = TeamFactory(name="West rules")
    TeamMembershipFactory(team=west)
    return services.rule_save(
        actor=desk, name="West", conditions=[], strategy="round_robin", team=west
    )


def test_sales_manager_cannot_rewrite_or_delete_a_rule_over_the_api(
    api, sales_manager, team, other_rule
):
    client = api(sales_manager)
    url = f"/api/v1/assignment-rules/{other_rule.pk}/"
    assert client.get(url).status_code == 200  # read-only, still readable
    patched = client.patch(url, {"team": team.pk}, format="json")
    assert patched.status_code == 403
    assert patched.json()["detail"]
    assert client.delete(url).status_code == 403
    created = client.post(
        "/api/v1/assignment-rules/",
        {"name": "All mine", "strategy": "round_robin", "team": team.pk},
        format="json",
    )
    assert created.status_code == 403
    other_rule.refresh_from_db()
    assert other_rule.team_id != team.pk
    assert list(AssignmentRule.objects.values_list("name", flat=True)) == ["West"]


def test_rule_pages_are_read_only_for_sales_managers(client, sales_manager, team, other_rule):
    client.force_login(sales_manager)
    index = client.get(reverse("assignment:index")).content.decode()
    assert reverse("assignment:rule_create") not in index
    assert reverse("assignment:rule_edit", args=[other_rule.pk]) not in index
    assert reverse("assignment:rule_delete", args=[other_rule.pk]) not in index
    assert reverse("assignment:route") in index  # routing leads stays theirs
    assert client.post(reverse("assignment:rule_create"), {"name": "x"}).status_code == 403
    assert client.post(reverse("assignment:rule_delete", args=[other_rule.pk])).status_code == 403
    assert client.post(reverse("assignment:rule_toggle", args=[other_rule.pk])).status_code == 403
    other_rule.refresh_from_db()
    assert other_rule.active
    assert AssignmentRule.objects.count() == 1


def test_admin_still_writes_rules(api, team, rep):
    admin = UserFactory(is_superuser=True)
    response = api(admin).post(
        "/api/v1/assignment-rules/",
        {"name": "Admin", "strategy": "round_robin", "team": team.pk},
        format="json",
    )
    assert response.status_code == 201
    assert AssignmentRule.objects.filter(name="Admin").exists()
    assert Lead.objects.count() == 0
