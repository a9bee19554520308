"""Saved views of the lead list: scopes (private, team, company), columns, and that a
shared view is only filters applied within the viewer's own visibility."""

from __future__ import annotations

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from leads.choices import Stage, ViewScope
from leads.models import SavedView
from leads.saved_views import (
    clean_query,
    saved_view_create,
    saved_view_delete,
    saved_views_for,
)
from pipeline.errors import ServiceError
from tests.factories import TeamFactory, lead_in_stage

pytestmark = pytest.mark.django_db


def _names(user) -> set[str]:
    return set(saved_views_for(user).values_list("name", flat=True))


def test_someone_elses_private_view_is_invisible(rep, other_rep, desk):
    saved_view_create(actor=rep, name="My A leads", query="grade=A")
    assert _names(rep) == {"My A leads"}
    assert _names(other_rep) == set()
    assert _names(desk) == set()


def test_a_team_view_is_seen_by_the_team_and_its_manager_only(
    rep, other_rep, sales_manager, outsider_rep, team
):
    saved_view_create(actor=rep, name="Team hot", query="grade=A", scope="team", team=team)
    assert "Team hot" in _names(other_rep)
    assert "Team hot" in _names(sales_manager)
    assert "Team hot" not in _names(outsider_rep)


def test_sharing_with_a_team_one_is_not_in_is_refused(rep):
    west = TeamFactory(name="Elsewhere")
    with pytest.raises(ServiceError) as refused:
        saved_view_create(actor=rep, name="x", scope="team", team=west)
    assert refused.value.code == "forbidden"
    assert not SavedView.objects.exists()


def test_only_managers_share_company_wide(rep, sales_manager, outsider_rep):
    with pytest.raises(ServiceError):
        saved_view_create(actor=rep, name="All", scope=ViewScope.COMPANY)
    saved_view_create(actor=sales_manager, name="All", scope=ViewScope.COMPANY)
    assert "All" in _names(outsider_rep)


def test_only_the_owner_deletes(rep, other_rep, team):
    view = saved_view_create(actor=rep, name="Shared", scope="team", team=team)
    with pytest.raises(ServiceError):
        saved_view_delete(actor=other_rep, view=view)
    assert SavedView.objects.filter(pk=view.pk).exists()
    saved_view_delete(actor=rep, view=view)
    assert not SavedView.objects.filter(pk=view.pk).exists()


def test_duplicate_names_and_unknown_columns_are_field_errors(rep):
    saved_view_create(actor=rep, name="Mine")
    with pytest.raises(ServiceError) as refused:
        saved_view_create(actor=rep, name="Mine")
    assert refused.value.field == "name"
    with pytest.raises(ServiceError) as refused:
        saved_view_create(actor=rep, name="Other", columns=["salary"])
    assert refused.value.field == "columns"


def test_the_stored_query_holds_filters_only():
    assert clean_query("?stage=mql&page=3&cols=name&view=4&grade=A") == "stage=mql&grade=A"


def test_a_shared_view_never_widens_visibility(client, sales_manager, rep, outsider_rep):
    """The manager's company-wide "grade A" view, opened by a rep of another team, lists
    only that rep's own grade-A leads."""
    team_lead = lead_in_stage(Stage.MQL, owner=rep, grade="A")
    own = lead_in_stage(Stage.MQL, owner=outsider_rep, grade="A")
    view = saved_view_create(
        actor=sales_manager, name="Hot", query="grade=A", scope=ViewScope.COMPANY
    )
    client.force_login(outsider_rep)
    response = client.get(reverse("leads:list") + f"?{view.query}&view={view.pk}")
    listed = [lead.pk for lead, _contact in response.context["rows"]]
    assert listed == [own.pk]
    assert team_lead.pk not in listed
    assert response.context["current_view"] == view


def test_the_lead_list_menu_saves_and_applies_columns(client, rep):
    lead_in_stage(Stage.MQL, owner=rep)
    client.force_login(rep)
    response = client.post(
        reverse("leads:saved_view_create"),
        {
            "name": "Slim",
            "query": "stage=mql&page=2",
            "cols": ["name", "stage"],
            "scope": "private",
        },
    )
    view = SavedView.objects.get(owner=rep, name="Slim")
    assert (view.query, view.columns) == ("stage=mql", ["name", "stage"])
    assert response.status_code == 302 and f"view={view.pk}" in response.url
    page = client.get(response.url)
    assert page.context["columns"] == ["name", "stage"]
    html = page.content.decode()
    assert "Slim" in html
    assert 'href="?sort=score"' not in html and "sort=score" not in html  # no score column
    # the choice is remembered for the next visit without ?cols=
    assert client.get(reverse("leads:list")).context["columns"] == ["name", "stage"]


def test_deleting_someone_elses_view_from_the_page_is_not_found(client, rep, other_rep):
    view = saved_view_create(actor=rep, name="Mine")
    client.force_login(other_rep)
    response = client.post(reverse("leads:saved_view_delete", args=[view.pk]))
    assert response.status_code == 404
    assert SavedView.objects.filter(pk=view.pk).exists()


def test_a_bad_name_is_a_message(client, rep):
    client.force_login(rep)
    response = client.post(reverse("leads:saved_view_create"), {"name": " "})
    assert [str(m) for m in get_messages(response.wsgi_request)] == ["Give the view a name."]


# --------------------------------------------------------------------------------------
# API
# --------------------------------------------------------------------------------------


def test_api_lists_creates_and_deletes_views_in_scope(api, rep, other_rep, team):
    client = api(rep)
    response = client.post(
        "/api/v1/saved-views/",
        {"name": "Team A", "query": "grade=A", "scope": "team", "team": team.pk,
         "columns": ["name", "grade"]},
        format="json",
    )  # fmt: skip
    assert response.status_code == 201, response.json()
    pk = response.json()["id"]
    assert [row["id"] for row in api(other_rep).get("/api/v1/saved-views/").json()] == [pk]
    assert api(other_rep).delete(f"/api/v1/saved-views/{pk}/").status_code == 403
    private = client.post("/api/v1/saved-views/", {"name": "Private"}, format="json").json()
    assert api(other_rep).get(f"/api/v1/saved-views/{private['id']}/").status_code == 404
    assert client.delete(f"/api/v1/saved-views/{pk}/").status_code == 204
    assert not SavedView.objects.filter(pk=pk).exists()


def test_api_refuses_company_scope_for_a_rep(api, rep):
    response = api(rep).post(
        "/api/v1/saved-views/", {"name": "All", "scope": "company"}, format="json"
    )
    assert response.status_code == 403
    assert "scope" in response.json()
