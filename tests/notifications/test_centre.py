"""The in-app centre (API and page), the badge, settings (API and page), the user's
language for their pages, and the rep's Today page."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.conf import settings
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from leads import lifecycle
from leads.choices import Stage
from notifications.choices import Event
from notifications.middleware import SESSION_KEY
from notifications.models import Notification, UserSettings
from notifications.services import notify
from tests.factories import lead_in_stage

pytestmark = pytest.mark.django_db


def make(user, n, *, read=False):
    now = timezone.now()
    return Notification.objects.bulk_create(
        Notification(
            user=user,
            event=Event.IMPORT_DONE,
            text=f"note {i}",
            created_at=now - dt.timedelta(minutes=i),
            read_at=now if read else None,
        )
        for i in range(n)
    )


def api_for(user):
    client = APIClient()
    client.force_authenticate(user)
    return client


# --- API ------------------------------------------------------------------------------------


def test_list_is_own_newest_first_paginated_and_filters_unread(rep, other_rep):
    make(rep, 3)
    make(rep, 2, read=True)
    make(other_rep, 4)
    body = api_for(rep).get("/api/v1/notifications/").json()
    assert body["count"] == 5
    assert [r["text"] for r in body["results"]][:3] == ["note 0", "note 0", "note 1"]
    stamps = [r["created_at"] for r in body["results"]]
    assert stamps == sorted(stamps, reverse=True)
    assert set(body["results"][0]) == {
        "id", "event", "lead", "text", "detail", "url", "created_at", "read_at"
    }  # fmt: skip
    unread = api_for(rep).get("/api/v1/notifications/?unread=true").json()
    assert unread["count"] == 3 and all(r["read_at"] is None for r in unread["results"])
    assert api_for(rep).get("/api/v1/notifications/?page_size=2").json()["next"]


def test_unread_count_read_and_read_all(rep, other_rep):
    first, *_rest = make(rep, 3)
    theirs = make(other_rep, 1)[0]
    api = api_for(rep)
    assert api.get("/api/v1/notifications/unread-count/").json() == {"unread": 3}
    answer = api.post(f"/api/v1/notifications/{first.pk}/read/")
    assert answer.status_code == 200 and answer.json()["read_at"]
    assert api.get("/api/v1/notifications/unread-count/").json() == {"unread": 2}
    # Another user's notification does not exist for me, and stays unread.
    assert api.post(f"/api/v1/notifications/{theirs.pk}/read/").status_code == 404
    theirs.refresh_from_db()
    assert theirs.read_at is None
    assert api.post("/api/v1/notifications/read-all/").json() == {"marked": 2}
    assert api.get("/api/v1/notifications/unread-count/").json() == {"unread": 0}
    assert Notification.objects.filter(user=other_rep, read_at__isnull=True).count() == 1


def test_notification_list_api_queries_are_flat(rep, assert_queries_flat):
    make(rep, 3)
    api = api_for(rep)
    assert_queries_flat(
        lambda: api.get("/api/v1/notifications/"), grow=lambda: make(rep, 30), max_queries=6
    )


def test_settings_api_reads_defaults_saves_and_refuses_unknown_values(rep):
    api = api_for(rep)
    body = api.get("/api/v1/me/settings/").json()
    assert body["language"] == "en"
    assert set(body["channels"]) == set(Event.values)
    assert set(body["channels"].values()) == {"email"}
    saved = api.put(
        "/api/v1/me/settings/",
        {"language": "zh-hans", "channels": {"sla_reminder": "robot", "import_done": "in_app"}},
        format="json",
    ).json()
    assert saved["language"] == "zh-hans"
    assert saved["channels"]["sla_reminder"] == "robot"
    assert saved["channels"]["lead_assigned"] == "email"
    bad = api.put("/api/v1/me/settings/", {"channels": {"sla_reminder": "fax"}}, format="json")
    assert bad.status_code == 400 and "channels" in bad.json()
    unknown = api.put("/api/v1/me/settings/", {"channels": {"party": "email"}}, format="json")
    assert unknown.status_code == 400 and "party" in str(unknown.json())
    wrong = api.put("/api/v1/me/settings/", {"language": "fr"}, format="json")
    assert wrong.status_code == 400 and "language" in wrong.json()
    row = UserSettings.objects.get(user=rep)
    assert row.language == "zh-hans"
    assert row.channels == {"sla_reminder": "robot", "import_done": "in_app"}


# --- pages ----------------------------------------------------------------------------------


def test_page_lists_own_marks_read_and_others_are_404(client, rep, other_rep):
    mine = make(rep, 2)
    theirs = make(other_rep, 1)[0]
    client.force_login(rep)
    html = client.get("/me/notifications/").content.decode()
    assert "note 0" in html and "note 1" in html
    assert 'data-unread="2"' in html  # the badge
    answer = client.post(f"/me/notifications/{mine[0].pk}/read/", {"next": "/me/notifications/"})
    assert answer.status_code == 302 and answer.url == "/me/notifications/"
    mine[0].refresh_from_db()
    assert mine[0].read_at is not None
    assert client.post(f"/me/notifications/{theirs.pk}/read/").status_code == 404
    assert 'data-unread="1"' in client.get("/me/notifications/?unread=1").content.decode()
    client.post("/me/notifications/read-all/")
    html = client.get("/me/notifications/").content.decode()
    assert "data-unread" not in html


def test_open_marks_read_and_goes_to_the_lead(client, desk, rep):
    lead = lead_in_stage(Stage.MQL)
    [row] = notify(event=Event.LEAD_ASSIGNED, recipients=[rep.pk], lead=lead, lead_name="X")
    client.force_login(rep)
    answer = client.post(f"/me/notifications/{row.pk}/read/", {"open": "1"})
    assert answer.status_code == 302 and answer.url == f"/leads/{lead.pk}/"


def test_notification_page_and_badge_queries_are_flat(client, rep, assert_queries_flat):
    make(rep, 3)
    client.force_login(rep)
    assert_queries_flat(lambda: client.get("/me/notifications/"), grow=lambda: make(rep, 30))
    # The badge on another page: one COUNT whatever the number of notifications.
    client.get("/sales/")  # the SLA configuration is cached from here on
    assert_queries_flat(lambda: client.get("/sales/"), grow=lambda: make(rep, 30))


def test_badge_is_on_every_page_for_a_signed_in_user(client, desk):
    make(desk, 4)
    client.force_login(desk)
    for url in ("/leads/", "/leads/desk/", "/me/settings/"):
        assert 'data-unread="4"' in client.get(url).content.decode(), url


def test_settings_page_saves_language_and_channels_and_switches_the_ui(client, rep):
    client.force_login(rep)
    page = client.get("/me/settings/")
    assert page.status_code == 200 and b"My settings" in page.content
    data = {"language": "zh-hans"} | {f"channel_{code}": "email" for code in Event.values}
    data["channel_lead_recycled"] = "in_app"
    answer = client.post("/me/settings/", data)
    assert answer.status_code == 302
    row = UserSettings.objects.get(user=rep)
    assert row.language == "zh-hans" and row.channels["lead_recycled"] == "in_app"
    assert "个人设置" in client.get("/me/settings/").content.decode()  # the UI follows
    bad = client.post("/me/settings/", {"language": "xx"})
    assert bad.status_code == 400 and UserSettings.objects.get(user=rep).language == "zh-hans"


def test_the_saved_language_wins_over_the_browser_after_login(rep):
    UserSettings.objects.create(user=rep, language="zh-hans")
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    client.force_login(rep)
    assert client.session[SESSION_KEY] == "zh-hans"
    assert '<html lang="zh-hans">' in client.get("/leads/").content.decode()


def test_first_real_login_saves_the_language_being_browsed(rep):
    client = Client()
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "zh-hans"
    answer = client.post("/accounts/login/", {"username": "rep", "password": "pw-test-123"})
    assert answer.status_code == 302
    assert UserSettings.objects.get(user=rep).language == "zh-hans"


def test_the_language_switcher_saves_the_language_on_the_user(client, rep):
    client.force_login(rep)
    client.post("/i18n/setlang/", {"language": "zh-hans", "next": "/leads/"})
    assert UserSettings.objects.get(user=rep).language == "zh-hans"
    assert client.session[SESSION_KEY] == "zh-hans"
    client.post("/i18n/setlang/", {"language": "en", "next": "/leads/"})
    assert UserSettings.objects.get(user=rep).language == "en"
    assert '<html lang="en">' in client.get("/leads/").content.decode()
    # Anonymous visitors still switch by cookie only.
    Client().post("/i18n/setlang/", {"language": "zh-hans"})
    assert UserSettings.objects.count() == 1


# --- Today ----------------------------------------------------------------------------------


def test_today_lists_follow_ups_due_clocks_and_leads_to_accept(client, desk, rep, other_rep):
    now = timezone.now()
    with time_machine.travel(now - dt.timedelta(days=1), tick=False):
        due = lead_in_stage(Stage.SQL, owner=rep, name="Due")
        lifecycle.follow_up_log(
            lead=due, actor=rep, method="call", next_follow_up_at=now - dt.timedelta(hours=1)
        )
        quiet = lead_in_stage(Stage.SQL, owner=rep, name="Quiet")
        lifecycle.follow_up_log(
            lead=quiet, actor=rep, method="call", next_follow_up_at=now + dt.timedelta(days=5)
        )
    waiting = lead_in_stage(Stage.MQL, owner=rep, name="Waiting")
    lead_in_stage(Stage.MQL, owner=other_rep, name="NotMine")
    client.force_login(rep)
    page = client.get("/me/today/")
    assert page.status_code == 200
    html = page.content.decode()
    sections = {
        key: html.split(f'data-section="{key}"')[1].split("</section>")[0]
        for key in ("follow_ups", "clocks", "waiting")
    }
    assert "Due" in sections["follow_ups"] and "Quiet" not in sections["follow_ups"]
    assert "Waiting" in sections["clocks"] and "due in" in sections["clocks"]
    assert "Waiting" in sections["waiting"] and "Due" not in sections["waiting"]
    assert "NotMine" not in html and waiting.pk
    assert 'data-nav="today"' in html


def test_today_queries_are_flat(client, rep, assert_queries_flat):
    lead_in_stage(Stage.MQL, owner=rep)
    client.force_login(rep)
    assert_queries_flat(
        lambda: client.get("/me/today/"),
        grow=lambda: [lead_in_stage(Stage.MQL, owner=rep) for _ in range(5)],
    )


# Late on a working day (Shanghai): the new lead's first response falls due tomorrow, so
# it is a running clock but not yet a task of today (after midnight it would be both).
LATE_ON_A_WORKING_DAY = dt.datetime(2026, 12, 2, 9, 55, tzinfo=dt.UTC)


@time_machine.travel(LATE_ON_A_WORKING_DAY, tick=False)
def test_today_api_lists_the_same_sections_as_the_page(rep, other_rep):
    waiting = lead_in_stage(Stage.MQL, owner=rep, name="Waiting")
    lead_in_stage(Stage.MQL, owner=other_rep, name="NotMine")
    body = api_for(rep).get("/api/v1/me/today/").json()
    assert [row["lead"] for row in body["waiting"]] == [waiting.pk]
    assert [row["lead"] for row in body["clocks"]] == [waiting.pk]
    assert body["clocks"][0]["sla"].startswith("due in") and body["follow_ups"] == []
    assert body["clocks"][0]["response_due_at"]
