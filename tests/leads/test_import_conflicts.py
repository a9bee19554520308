"""Imports that never hide a person: the outcome of every row, every problem of a row,
conflicting arrivals kept on their touch and flagged for the desk, the desk's three
decisions (with their refusals and scopes), search, downloads and privacy."""

from __future__ import annotations

import csv
import io

import pytest
from django.db import connection
from django.test import TestCase
from django.test.utils import CaptureQueriesContext
from openpyxl import load_workbook

from leads.choices import EventKind, ReviewStatus, Stage
from leads.models import ContactReview, ImportJob, ImportRow, Lead, LeadEvent, LeadTouch
from leads.privacy import person_erase, personal_data_export
from tests.factories import (
    CampaignFactory,
    LeadFactory,
    conflict_review,
    lead_in_stage,
)
from tests.leads.test_imports import LEGAL_BASIS, upload_file

pytestmark = pytest.mark.django_db

HEADER = ["姓名", "公司", "手机", "邮箱"]


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def campaign(marketer):
    return CampaignFactory(name="WAIC 2026", owner=marketer)


@pytest.fixture
def chen(desk):
    """陈小明, on file with his phone and email."""
    return LeadFactory(
        name="陈小明", phone="+8613900002001", email="chen@acme.cn", company__name="Acme"
    )


def csv_of(rows, header=HEADER) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue().encode()


def run_import(api, user, campaign, rows) -> ImportJob:
    """Upload through the API; the worker runs eagerly when the upload commits."""
    body = {"file": upload_file("list.csv", csv_of(rows)), "campaign": campaign.pk, **LEGAL_BASIS}
    with TestCase.captureOnCommitCallbacks(execute=True):
        response = api(user).post("/api/v1/imports/", body, format="multipart")
    assert response.status_code == 201, response.json()
    return ImportJob.objects.get(pk=response.json()["id"])


def review_of(lead: Lead) -> ContactReview:
    return ContactReview.objects.get(lead=lead)


# --------------------------------------------------------------------------------------
# The reproduction: 王大伟 on 陈小明's number
# --------------------------------------------------------------------------------------


def test_another_person_on_a_known_phone_is_a_conflict_not_a_silent_touch(
    api, marketer, desk, campaign, chen
):
    job = run_import(
        api, marketer, campaign, [["王大伟", "Beta 科技", "139 0000 2001", "wang@beta.cn"]]
    )

    assert (job.status, job.created, job.duplicates, job.conflicts, job.failed) == (
        "done", 0, 0, 1, 0,
    )  # fmt: skip
    answer = api(marketer).get(f"/api/v1/imports/{job.pk}/").json()
    assert (answer["conflicts"], answer["duplicates"]) == (1, 0)
    rows = api(marketer).get(f"/api/v1/imports/{job.pk}/rows/").json()
    assert rows["count"] == 1
    [row] = rows["results"]
    assert (row["row"], row["outcome"], row["lead"]) == (1, "conflict", chen.pk)
    assert [m["column"] for m in row["messages"]] == ["姓名", "邮箱"]  # the name and the email
    # The touch keeps what the row gave; the lead is flagged; credits shared as for a touch.
    touch = LeadTouch.objects.get(lead=chen, campaign=campaign)
    assert touch.given == {
        "name": "王大伟",
        "phone": "+8613900002001",
        "email": "wang@beta.cn",
        "company": "Beta 科技",
    }
    review = review_of(chen)
    assert (review.status, review.touch_id, review.job_id, review.row) == (
        "open",
        touch.pk,
        job.pk,
        1,
    )
    assert sum(t.credit_linear for t in chen.touches.all()) == pytest.approx(1.0)
    assert chen.events.filter(kind=EventKind.DUPLICATE, data__conflict="phone").count() == 1
    chen.refresh_from_db()
    assert (chen.name, chen.email) == ("陈小明", "chen@acme.cn")  # nothing overwritten

    # Findable: the lead search by the other name or email, and the review list.
    for text in ("王大伟", "WANG@beta.cn"):
        found = api(desk).get("/api/v1/leads/", {"q": text}).json()["results"]
        assert [lead["id"] for lead in found] == [chen.pk], text
    reviews = api(desk).get("/api/v1/contact-reviews/", {"q": "王大伟", "status": "open"}).json()
    assert [r["id"] for r in reviews["results"]] == [review.pk]
    assert reviews["results"][0]["given"]["email"] == "wang@beta.cn"

    # The desk: a different person, with their own phone.
    response = api(desk).post(
        f"/api/v1/contact-reviews/{review.pk}/different_person/",
        {"phone": "13900002002"},
        format="json",
    )
    assert response.status_code == 200, response.json()
    review.refresh_from_db()
    wang = review.new_lead
    assert (review.status, review.decided_by) == (ReviewStatus.SPLIT, desk)
    assert response.json()["new_lead"] == wang.pk
    assert (wang.name, wang.phone, wang.email, wang.stage) == (
        "王大伟", "+8613900002002", "wang@beta.cn", Stage.NEW,
    )  # fmt: skip
    assert wang.source_campaign == campaign and wang.company.name == "Beta 科技"
    touch.refresh_from_db()
    assert (touch.lead_id, touch.is_first, touch.given) == (wang.pk, True, {})
    assert list(wang.touches.all()) == [touch]
    # 陈小明 has his own touches again, their credits recomputed.
    assert not chen.touches.filter(campaign=campaign).exists()
    assert [t.credit_linear for t in chen.touches.all()] == [1.0] * chen.touches.count()
    assert chen.events.filter(kind=EventKind.CONTACT_REVIEWED, data__decision="split").count() == 1
    assert ImportRow.objects.get(job=job, row=1).lead_id == wang.pk
    # The review is closed: the search finds each person under their own name.
    found = api(desk).get("/api/v1/leads/", {"q": "王大伟"}).json()["results"]
    assert [lead["id"] for lead in found] == [wang.pk]


def test_the_same_name_normalised_is_a_plain_touch(api, marketer, campaign, chen):
    LeadFactory(name="Wang Fang", phone="", email="fang@acme.com")
    rows = [
        ["陈小明 ", "", "13900002001", ""],  # trailing space
        ["ＷＡＮＧ  fang", "", "", "FANG@acme.com"],  # full width, case, inner spaces
    ]
    job = run_import(api, marketer, campaign, rows)
    assert (job.duplicates, job.conflicts) == (2, 0)
    assert not ContactReview.objects.exists()
    outcomes = ImportRow.objects.filter(job=job).values_list("outcome", flat=True)
    assert list(outcomes) == ["touch", "touch"]


def test_same_contact_twice_in_one_file_under_another_name_is_a_conflict(api, marketer, campaign):
    rows = [["李娜", "", "13900003001", ""], ["赵强", "", "13900003001", ""]]
    job = run_import(api, marketer, campaign, rows)
    lina = Lead.objects.get(phone="+8613900003001")
    assert (job.created, job.conflicts) == (1, 1)
    assert list(ImportRow.objects.filter(job=job).values_list("row", "outcome", "lead_id")) == [
        (1, "created", lina.pk),
        (2, "conflict", lina.pk),
    ]
    assert review_of(lina).touch.given["name"] == "赵强"


def test_reimporting_the_same_conflict_flags_once(api, marketer, campaign, chen):
    rows = [["王大伟", "", "13900002001", ""]]
    run_import(api, marketer, campaign, rows)
    again = run_import(api, marketer, campaign, rows)
    assert again.conflicts == 1
    assert ContactReview.objects.filter(lead=chen).count() == 1


# --------------------------------------------------------------------------------------
# Every problem of a row
# --------------------------------------------------------------------------------------


def test_a_row_with_two_problems_reports_both_with_their_columns(api, marketer, campaign):
    rows = [["", "Acme", "12345", ""], ["张伟", "", "13900004001", "not-an-email"]]
    job = run_import(api, marketer, campaign, rows)
    assert (job.failed, job.created) == (2, 0)
    assert [(e["row"], e["column"]) for e in job.errors] == [(1, "姓名"), (1, "手机"), (2, "邮箱")]
    row = api(marketer).get(f"/api/v1/imports/{job.pk}/rows/", {"outcome": "failed"}).json()
    first = row["results"][0]
    assert (first["row"], first["outcome"], first["lead"]) == (1, "failed", None)
    assert [m["column"] for m in first["messages"]] == ["姓名", "手机"]
    assert "name" in first["messages"][0]["message"]


def test_rows_endpoint_filters_by_outcome_and_refuses_an_unknown_one(api, marketer, campaign, chen):
    rows = [["新人", "", "13900005001", ""], ["王大伟", "", "13900002001", ""], ["", "", "", "x"]]
    job = run_import(api, marketer, campaign, rows)
    url = f"/api/v1/imports/{job.pk}/rows/"
    for outcome, expected in (("created", [1]), ("conflict", [2]), ("failed", [3]), ("touch", [])):
        answer = api(marketer).get(url, {"outcome": outcome}).json()
        assert [r["row"] for r in answer["results"]] == expected, outcome
    assert api(marketer).get(url).json()["count"] == 3
    refused = api(marketer).get(url, {"outcome": "maybe"})
    assert refused.status_code == 400 and "outcome" in refused.json()


def test_rows_download_as_csv_and_xlsx(api, marketer, campaign, chen):
    job = run_import(api, marketer, campaign, [["新人", "", "13900005001", ""], ["", "", "12", ""]])
    url = f"/api/v1/imports/{job.pk}/rows/export/"
    response = api(marketer).get(url, {"file_format": "csv"})
    assert response.status_code == 200
    assert f"import-{job.pk}-rows" in response["Content-Disposition"]
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    lines = list(csv.reader(io.StringIO(text)))
    assert lines[0] == ["row", "outcome", "outcome (label)", "lead", "messages"]
    new = Lead.objects.get(phone="+8613900005001")
    assert lines[1][:2] == ["1", "created"] and lines[1][3] == str(new.pk)
    assert lines[2][:2] == ["2", "failed"] and "姓名: " in lines[2][4] and "手机: " in lines[2][4]
    failed_only = api(marketer).get(url, {"file_format": "xlsx", "outcome": "failed"})
    sheet = load_workbook(io.BytesIO(b"".join(failed_only.streaming_content))).active
    values = [[cell.value for cell in row] for row in sheet.iter_rows()]
    assert [v[0] for v in values] == ["row", "2"]
    assert api(marketer).get(url, {"file_format": "pdf"}).status_code == 400


def test_import_page_shows_outcome_counts_and_lists_rows_by_outcome(
    client, marketer, campaign, chen, api
):
    job = run_import(
        api,
        marketer,
        campaign,
        [["新人", "", "13900005001", ""], ["王大伟", "", "13900002001", ""]],
    )
    client.force_login(marketer)
    page = client.get(f"/imports/{job.pk}/", {"outcome": "conflict"}).content.decode()
    assert "data-job-conflicts>1<" in page
    assert 'data-row-outcome="conflict"' in page and 'data-row-outcome="created"' not in page
    assert f"/api/v1/imports/{job.pk}/rows/export/?file_format=xlsx&amp;outcome=conflict" in page


# --------------------------------------------------------------------------------------
# The desk's decisions, refusals and scopes
# --------------------------------------------------------------------------------------


def test_keep_clears_the_flag_and_a_second_decision_is_a_409(api, desk, chen):
    review = conflict_review(chen)
    url = f"/api/v1/contact-reviews/{review.pk}/"
    response = api(desk).post(url + "keep/")
    assert response.status_code == 200 and response.json()["status"] == "kept"
    review.refresh_from_db()
    assert (review.status, review.decided_by) == (ReviewStatus.KEPT, desk)
    assert chen.events.filter(kind=EventKind.CONTACT_REVIEWED, data__decision="kept").exists()
    again = api(desk).post(url + "update_contact/")
    assert again.status_code == 409 and "already decided" in again.json()["detail"]
    assert api(desk).get("/api/v1/leads/", {"q": "王大伟"}).json()["count"] == 0


def test_update_contact_applies_the_given_values_with_an_event(api, desk, chen):
    review = conflict_review(chen, name="陈晓明", email="xiaoming@acme.cn", company="Acme 中国")
    response = api(desk).post(f"/api/v1/contact-reviews/{review.pk}/update_contact/")
    assert response.status_code == 200, response.json()
    chen.refresh_from_db()
    assert (chen.name, chen.email, chen.phone) == ("陈晓明", "xiaoming@acme.cn", "+8613900002001")
    assert chen.company.name == "Acme 中国"
    updated = chen.events.get(kind=EventKind.UPDATED)
    assert updated.actor == desk and updated.data["changed"]["name"] == ["陈小明", "陈晓明"]
    assert review_of(chen).status == ReviewStatus.UPDATED


def test_update_contact_refused_when_the_email_belongs_to_another_open_lead(api, desk, chen):
    LeadFactory(email="taken@acme.cn")
    review = conflict_review(chen, email="taken@acme.cn")
    response = api(desk).post(f"/api/v1/contact-reviews/{review.pk}/update_contact/")
    assert response.status_code == 400 and "email" in response.json()
    review.refresh_from_db()
    chen.refresh_from_db()
    assert review.status == ReviewStatus.OPEN and chen.email == "chen@acme.cn"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"phone": "139 0000 2001"}, "phone"),  # 陈小明's own number: still colliding
        ({"email": "chen@acme.cn"}, "email"),
        ({}, "phone"),  # no contact at all
        ({"phone": "12"}, "phone"),  # not a phone number
    ],
)
def test_different_person_refuses_a_missing_bad_or_colliding_contact(api, desk, chen, body, field):
    review = conflict_review(chen, email=chen.email)  # only the name differs
    leads_before = Lead.objects.count()
    response = api(desk).post(
        f"/api/v1/contact-reviews/{review.pk}/different_person/", body, format="json"
    )
    assert response.status_code == 400 and field in response.json(), response.json()
    assert Lead.objects.count() == leads_before
    review.refresh_from_db()
    assert review.status == ReviewStatus.OPEN and review.touch.lead_id == chen.pk


def test_only_the_desk_decides_and_sales_cannot_see_reviews(
    api, marketer, rep, sales_manager, manager, chen
):
    review = conflict_review(chen)
    url = f"/api/v1/contact-reviews/{review.pk}/"
    for user in (marketer, manager):
        assert api(user).get(url).status_code == 200
        for action in ("keep/", "update_contact/", "different_person/"):
            refused = api(user).post(url + action, {"phone": "13900009999"}, format="json")
            assert refused.status_code == 403, (user, action)
    for user in (rep, sales_manager):
        assert api(user).get(url).status_code == 404
        assert api(user).post(url + "keep/").status_code == 404
        assert api(user).get("/api/v1/contact-reviews/").json()["count"] == 0
    review.refresh_from_db()
    assert review.status == ReviewStatus.OPEN


def test_decided_review_is_a_409_before_a_bad_body(api, desk, chen):
    review = conflict_review(chen)
    api(desk).post(f"/api/v1/contact-reviews/{review.pk}/keep/")
    response = api(desk).post(
        f"/api/v1/contact-reviews/{review.pk}/different_person/", {}, format="json"
    )
    assert response.status_code == 409


# --------------------------------------------------------------------------------------
# Pages
# --------------------------------------------------------------------------------------


def test_desk_review_page_lists_open_reviews_with_a_count_and_decides(client, desk, chen):
    review = conflict_review(chen, name="王大伟", email="wang@beta.cn")
    conflict_review(LeadFactory(), name="Other").delete()
    client.force_login(desk)
    page = client.get("/leads/desk/").content.decode()
    assert "/leads/desk/reviews/" in page  # the tab, with its count
    listing = client.get("/leads/desk/reviews/").content.decode()
    assert f'data-review="{review.pk}"' in listing and "wang@beta.cn" in listing
    assert "contact to review" in client.get(f"/leads/{chen.pk}/").content.decode()
    response = client.post(
        f"/leads/desk/reviews/{review.pk}/different/",
        {"name": "王大伟", "phone": "13900002001"},  # 陈小明's number: refused as a message
    )
    assert response.status_code == 302
    review.refresh_from_db()
    assert review.status == ReviewStatus.OPEN
    client.post(f"/leads/desk/reviews/{review.pk}/different/", {"phone": "13900002003"})
    timeline = client.get(f"/leads/{chen.pk}/").content.decode()
    assert "Conflicting contact reviewed" in timeline and "Different person, new lead" in timeline
    review.refresh_from_db()
    assert review.status == ReviewStatus.SPLIT and review.new_lead.phone == "+8613900002003"
    assert f'data-review="{review.pk}"' not in client.get("/leads/desk/reviews/").content.decode()
    assert "contact to review" not in client.get(f"/leads/{chen.pk}/").content.decode()


def test_review_list_and_rows_endpoint_queries_do_not_grow(
    api, client, desk, marketer, campaign, assert_queries_flat
):
    job = ImportJob.objects.create(campaign=campaign, created_by=marketer, headers=["n"])

    def grow(n: int) -> None:
        start = ImportRow.objects.filter(job=job).count()
        for i in range(n):
            lead = LeadFactory()
            conflict_review(lead, campaign=campaign, job=job, row=start + i + 1)
            ImportRow.objects.create(
                job=job, row=start + i + 1, outcome="conflict", lead=lead,
                messages=[{"column": "姓名", "message": "x"}],
            )  # fmt: skip

    grow(3)
    client.force_login(desk)
    desk_api = api(desk)
    desk_api.get("/api/v1/contact-reviews/")  # the user's roles are read once, then known
    for run in (
        lambda: desk_api.get(f"/api/v1/imports/{job.pk}/rows/"),
        lambda: desk_api.get("/api/v1/contact-reviews/"),
        lambda: client.get("/leads/desk/reviews/"),
        lambda: client.get(f"/imports/{job.pk}/"),
    ):
        assert run().status_code == 200
        assert_queries_flat(run, grow=lambda: grow(20))


def test_desk_review_list_joins_only_what_it_shows(client, desk, marketer, campaign):
    """The row query reads the lead with its company and the touch with its campaign, not
    the lead's campaign, the import job or the decider (``desk_review_rows``: each join
    multiplies the planner's work); the page still shows all it showed."""
    job = ImportJob.objects.create(campaign=campaign, created_by=marketer, headers=["n"])
    lead = LeadFactory()
    review = conflict_review(lead, campaign=campaign, job=job, row=7)
    client.force_login(desk)
    with CaptureQueriesContext(connection) as captured:
        page = client.get("/leads/desk/reviews/").content.decode()
    [rows] = [
        q["sql"]
        for q in captured.captured_queries
        if q["sql"].startswith('SELECT "leads_contactreview"."id"') and " LIMIT " in q["sql"]
    ]
    assert '"leads_importjob"' not in rows and '"auth_user"' not in rows
    assert rows.count('JOIN "campaigns_campaign"') == 1  # the touch's, not the lead's
    assert f'data-review="{review.pk}"' in page
    assert lead.company.name in page and campaign.name in page
    assert f"/imports/{job.pk}/?outcome=conflict" in page


# --------------------------------------------------------------------------------------
# Privacy
# --------------------------------------------------------------------------------------


def test_erasure_wipes_the_given_values_and_export_includes_them(desk, chen):
    review = conflict_review(chen, name="王大伟", email="wang@beta.cn")
    exported = personal_data_export(lead=chen, actor=desk)
    [data] = exported["leads"]
    assert {"name": "王大伟", "email": "wang@beta.cn"}.items() <= data["touches"][-1][
        "given"
    ].items()
    assert data["contact_reviews"][0]["status"] == "open"
    person_erase(lead=chen, actor=desk, confirm=True)
    review.refresh_from_db()
    assert review.touch.given == {} and review.status == ReviewStatus.DISMISSED
    assert not LeadTouch.objects.exclude(given={}).exists()


def test_erasure_wipes_refused_rows_quoting_the_persons_contact(api, marketer, desk, campaign):
    lead = lead_in_stage(Stage.NEW, email="li@acme.cn")
    job = run_import(api, marketer, campaign, [["", "", "", "li@acme.cn"]])
    row = ImportRow.objects.get(job=job)
    row.messages = [{"column": "邮箱", "message": "li@acme.cn is odd"}]
    row.save()
    exported = personal_data_export(lead=lead, actor=desk)
    assert exported["import_rows"][0]["messages"][0]["message"] == "li@acme.cn is odd"
    person_erase(lead=lead, actor=desk, confirm=True)
    row.refresh_from_db()
    assert "li@acme.cn" not in str(row.messages)
    assert LeadEvent.objects.filter(lead=lead, kind=EventKind.DATA_ERASED).count() == 1


def test_a_batch_redone_row_by_row_still_flags_a_conflict(
    api, marketer, campaign, chen, monkeypatch
):
    """The bulk insert raced another arrival (here: the lookup missed 陈小明), so the
    batch is redone through ``lead_create``: the conflicting row is still a conflict."""
    from leads import imports

    real = imports._open_leads
    calls = {"n": 0}

    def blind_first(phones, emails):
        calls["n"] += 1
        return {} if calls["n"] <= 2 else real(phones, emails)  # both bulk attempts miss him

    monkeypatch.setattr(imports, "_open_leads", blind_first)
    job = run_import(api, marketer, campaign, [["王大伟", "", "13900002001", "wang@beta.cn"]])
    assert (job.created, job.duplicates, job.conflicts) == (0, 0, 1)
    row = ImportRow.objects.get(job=job)
    assert (row.outcome, row.lead_id) == ("conflict", chen.pk)
    review = review_of(chen)
    assert review.touch.given["name"] == "王大伟" and (review.job, review.row) == (job, 1)
    assert Lead.objects.count() == 1
