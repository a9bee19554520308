"""Layout-level pages: login, role-aware navigation, home redirect, language switch, errors."""

from __future__ import annotations

import re

import pytest
from django.template import loader
from django.urls import reverse
from django.utils import translation

from leads.choices import Stage
from pipeline.context_processors import NavEntry, build_navigation, url_or_none
from tests.factories import UserFactory, lead_in_stage

pytestmark = pytest.mark.django_db


def _nav_keys(html: str) -> set[str]:
    return set(re.findall(r'data-nav="([a-z_]+)"', html))


def _home_html(client, user) -> str:
    client.force_login(user)
    response = client.get(reverse("leads:list"))
    assert response.status_code == 200
    return response.content.decode()


# --------------------------------------------------------------------------------------
# Login / logout
# --------------------------------------------------------------------------------------


def test_login_page_renders_the_form(client):
    response = client.get(reverse("login"))
    assert response.status_code == 200
    html = response.content.decode()
    assert 'name="username"' in html
    assert 'name="password"' in html
    assert "csrfmiddlewaretoken" in html
    assert _nav_keys(html) == set()  # no navigation for anonymous visitors


def test_login_logs_in_and_lands_on_the_desk_queue(client, desk):
    response = client.post(
        reverse("login"), {"username": "desk", "password": "pw-test-123"}, follow=True
    )
    assert response.status_code == 200
    assert response.wsgi_request.user == desk
    assert response.redirect_chain[-1][0] == reverse("leads:desk")
    assert client.session["_auth_user_id"] == str(desk.pk)


def test_login_with_a_wrong_password_shows_the_error(client, desk):
    response = client.post(reverse("login"), {"username": "desk", "password": "nope"})
    assert response.status_code == 200
    assert "_auth_user_id" not in client.session
    assert "Please enter a correct username and password" in response.content.decode()


def test_logout_is_a_post_form(client, desk):
    html = _home_html(client, desk)
    assert re.search(r'<form class="logout" action="/accounts/logout/" method="post">', html)
    response = client.post(reverse("logout"))
    assert response.status_code == 302
    assert "_auth_user_id" not in client.session


# --------------------------------------------------------------------------------------
# Navigation by role
# --------------------------------------------------------------------------------------


def test_sales_rep_sees_pool_and_my_leads(client, rep):
    html = _home_html(client, rep)
    assert {"leads", "pool", "my_leads", "api_docs"} <= _nav_keys(html)
    assert "admin" not in _nav_keys(html)
    assert 'href="/sales/"' in html  # my leads: the sales workspace
    assert 'href="/assignment/pool/"' in html
    assert "Sales rep" in html  # the role is shown next to the username


def test_sales_manager_sees_my_leads_only_once_they_own_a_lead(client, sales_manager):
    keys = _nav_keys(_home_html(client, sales_manager))
    assert {"pool", "team"} <= keys
    assert not keys & {"today", "my_leads", "new_for_me"}  # no empty rep pages
    lead_in_stage(Stage.SQL, owner=sales_manager)
    assert {"pool", "team", "today", "my_leads", "new_for_me"} <= _nav_keys(
        _home_html(client, sales_manager)
    )


@pytest.mark.parametrize("role_fixture", ["desk", "marketer", "manager"])
def test_non_sales_roles_do_not_see_pool_or_my_leads(client, request, role_fixture):
    user = request.getfixturevalue(role_fixture)
    keys = _nav_keys(_home_html(client, user))
    assert {"leads", "api_docs"} <= keys
    assert not keys & {"pool", "my_leads", "admin"}


def test_staff_sees_admin_and_superuser_sees_everything(client):
    staff = UserFactory(is_staff=True, roles=["marketer"])
    assert "admin" in _nav_keys(_home_html(client, staff))
    root = UserFactory(is_staff=True, is_superuser=True)
    html = _home_html(client, root)
    keys = _nav_keys(html)
    assert {"leads", "pool", "team", "desk", "reports", "admin", "api_docs"} <= keys
    assert not keys & {"today", "my_leads", "new_for_me"}  # an administrator owns no lead
    assert "Administrator" in html


def test_nav_marks_the_current_entry_active(client, rep, sales_manager):
    client.force_login(rep)
    html = client.get(reverse("assignment:pool")).content.decode()
    assert re.search(r'data-nav="pool" class="active"', html)
    assert not re.search(r'data-nav="leads" class="active"', html)
    client.force_login(sales_manager)
    html = client.get(reverse("sales:team")).content.decode()
    assert re.search(r'data-nav="team" class="active"', html)  # the longest path wins
    assert not re.search(r'data-nav="my_leads" class="active"', html)


def test_nav_slot_without_a_url_is_not_rendered(rf, desk):
    assert url_or_none("leads:list") == "/leads/"
    assert url_or_none("no_such_app:index") is None
    request = rf.get("/leads/")
    request.user = desk
    entries = (
        NavEntry("leads", "Leads", "leads:list"),
        NavEntry("later", "Later", "no_such_app:index"),
    )
    assert [item["key"] for item in build_navigation(request, entries)] == ["leads"]


def test_language_switch_posts_to_set_language(client, desk):
    html = _home_html(client, desk)
    assert 'action="/i18n/setlang/"' in html
    assert 'name="language" value="zh-hans"' in html
    assert "简体中文" in html


# --------------------------------------------------------------------------------------
# Home redirect
# --------------------------------------------------------------------------------------


def test_home_sends_reps_to_today(client, rep):
    client.force_login(rep)
    response = client.get(reverse("home"))
    assert response.status_code == 302
    assert response["Location"] == reverse("notifications:today")


def test_home_sends_the_desk_to_its_queue(client, desk):
    client.force_login(desk)
    response = client.get(reverse("home"))
    assert response["Location"] == reverse("leads:desk")


def test_home_sends_a_user_without_a_role_to_the_lead_list(client):
    client.force_login(UserFactory())
    assert client.get(reverse("home"))["Location"] == reverse("leads:list")


def test_home_needs_login(client):
    response = client.get(reverse("home"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


# --------------------------------------------------------------------------------------
# Language
# --------------------------------------------------------------------------------------


def test_switching_to_chinese_translates_the_pages(client, rep):
    client.force_login(rep)
    response = client.post(
        reverse("set_language"), {"language": "zh-hans", "next": reverse("leads:list")}
    )
    assert response.status_code == 302
    html = client.get(reverse("leads:list")).content.decode()
    assert '<html lang="zh-hans">' in html
    assert ">公海</a>" in html  # "Pool"
    assert ">我的线索</a>" in html  # "My leads"
    assert "退出登录" in html  # "Log out"
    assert ">Pool</a>" not in html

    client.post(reverse("set_language"), {"language": "en", "next": "/"})
    html = client.get(reverse("leads:list")).content.decode()
    assert ">Pool</a>" in html


def test_service_errors_are_translated_too(client, desk):
    from tests.factories import lead_in_stage

    lead = lead_in_stage("mql", owner=UserFactory(roles=["sales_rep"]))
    client.post(reverse("set_language"), {"language": "zh-hans", "next": "/"})
    client.force_login(desk)
    response = client.post(reverse("leads:action", args=[lead.pk, "accept"]), follow=True)
    assert "您无权对该线索执行" in response.content.decode()


# --------------------------------------------------------------------------------------
# Error pages
# --------------------------------------------------------------------------------------


def test_404_page_uses_the_layout(client, desk):
    client.force_login(desk)
    response = client.get("/leads/999999/")
    assert response.status_code == 404
    html = response.content.decode()
    assert "Page not found" in html
    assert 'class="topbar"' in html


def test_403_page_uses_the_layout_and_says_why(client, rep):
    client.force_login(rep)
    response = client.get(reverse("leads:create"))
    assert response.status_code == 403
    html = response.content.decode()
    assert "You are not allowed to create leads." in html
    assert 'class="topbar"' in html


def test_500_page_renders_without_any_context():
    html = loader.get_template("500.html").render()
    assert "500" in html
    assert "Something went wrong" in html
    with translation.override("zh-hans"):
        assert "系统出现了问题" in loader.get_template("500.html").render()
