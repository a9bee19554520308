"""Export of ``BENCH_EXPORT_LEADS`` leads (100,000) as CSV and XLSX through the API, against
``COPY (…) TO STDOUT`` of the same rows in the same run (issue #17 item 9), on PostgreSQL.

The world is built with ``COPY`` (leads with a company, a source campaign, an owner for
half of them, a tenth pooled). The export is requested as the manager through
``/api/v1/leads/export/`` with ``EXPORT_SYNC_MAX_ROWS`` above the size (so the request
writes the whole file: the synchronous path is what is timed), the whole streamed body is
read, and the file is parsed back and checked: one row per lead, in the API's order, the
owners and companies as the database has them. The baseline is the same query's rows
(the same joins, in the same order) as CSV by ``COPY … TO STDOUT``.
"""

from __future__ import annotations

import csv
import io
import os
import random
import time

import pytest
from django.contrib.auth.models import Group, User
from django.db import connection
from django.test import Client
from django.utils import timezone

from leads.models import Lead
from pipeline.writers import PostgresCopyWriter
from tests.benchmarks import data

N = int(os.environ.get("BENCH_EXPORT_LEADS", "100000"))
CSV_BUDGET_S = float(os.environ.get("BENCH_EXPORT_CSV_BUDGET_S", "3"))
XLSX_BUDGET_S = float(os.environ.get("BENCH_EXPORT_XLSX_BUDGET_S", "15"))

BASELINE = """
COPY (
  SELECT l.id, l.name, l.title, c.name, l.phone, l.email, l.wechat, c.industry, c.region,
         l.stage, l.grade, l.score, u.first_name, u.last_name, u.username, l.in_pool,
         k.name, ch.name, l.created_at, l.next_follow_up_at, l.expected_amount,
         l.won_amount, l.signed_at
  FROM leads_lead l
  LEFT JOIN leads_company c ON c.id = l.company_id
  LEFT JOIN auth_user u ON u.id = l.owner_id
  LEFT JOIN campaigns_campaign k ON k.id = l.source_campaign_id
  LEFT JOIN campaigns_channel ch ON ch.id = k.channel_id
  ORDER BY l.created_at DESC, l.id DESC
) TO STDOUT WITH (FORMAT csv)
"""


def _build(reps: list[User]) -> None:
    writer = PostgresCopyWriter()
    assert writer.available(), "the export benchmark builds its world with COPY (psycopg2)"
    campaigns = data.campaigns(50)
    companies = data.companies(5000)
    rng = random.Random(5)
    now = timezone.now()
    rows = []
    for i in range(N):
        roll = rng.random()
        row = {
            "name": f"线索{i}",
            "title": "采购经理",
            "phone": f"+86131{i:08d}",
            "email": f"e{i}@bench.cn",
            "wechat": f"wx{i}",
            "company_id": companies[i % len(companies)].pk,
            "company_name": companies[i % len(companies)].name,
            "source_campaign_id": campaigns[i % len(campaigns)].pk,
            "stage": "mql",
            "grade": rng.choice("ABCD"),
            "grade_source": "rule",
            "score": rng.randint(0, 100),
            "created_at": now,
            "mql_at": now,
        }
        if roll < 0.5:
            row |= {"owner_id": reps[i % len(reps)].pk, "assigned_at": now, "stage": "sql"}
        elif roll < 0.6:
            row |= {"in_pool": True, "pooled_at": now}
        rows.append(row)
    for start in range(0, N, 50_000):
        writer.insert(Lead, rows[start : start + 50_000])
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def _timed_export(client: Client, file_format: str) -> tuple[float, bytes]:
    start = time.perf_counter()
    response = client.get(f"/api/v1/leads/export/?file_format={file_format}")
    assert response.status_code == 200, response.status_code
    body = b"".join(response.streaming_content) if response.streaming else response.content
    return time.perf_counter() - start, body


@pytest.mark.django_db(transaction=True)
def test_export_csv_and_xlsx_against_copy(report, settings):
    settings.EXPORT_SYNC_MAX_ROWS = N + 1  # time the request that writes the file itself
    manager = User.objects.create(username="bench-export-manager")
    manager.groups.add(Group.objects.get(name="manager"))
    reps = []
    for i in range(20):
        rep = User.objects.create(username=f"bench-export-rep-{i}", first_name="伟", last_name="张")
        rep.groups.add(Group.objects.get(name="sales_rep"))
        reps.append(rep)
    try:
        _build(reps)
        client = Client()
        client.force_login(manager)
        csv_seconds, csv_body = _timed_export(client, "csv")
        xlsx_seconds, xlsx_body = _timed_export(client, "xlsx")
        with connection.cursor() as cursor:
            start = time.perf_counter()
            out = io.StringIO()
            cursor.cursor.copy_expert(BASELINE, out)
            copy_seconds = time.perf_counter() - start
        # The outcome checked against the database: every lead, in the API's default order
        # (newest first, then id descending), with its owner.
        ids = list(Lead.objects.order_by("-created_at", "-pk").values_list("pk", flat=True))
        rows = list(csv.reader(io.StringIO(csv_body.decode("utf-8-sig"))))
        assert [int(row[0]) for row in rows[1:]] == ids
        owned = Lead.objects.filter(owner__isnull=False).count()
        assert sum(1 for row in rows[1:] if row[12] == "张伟") == owned > 0
        assert len(out.getvalue().splitlines()) == N
        from openpyxl import load_workbook

        sheet = load_workbook(io.BytesIO(xlsx_body), read_only=True).active
        xlsx_ids = [row[0] for row in sheet.iter_rows(min_row=2, values_only=True)]
        assert xlsx_ids == [str(pk) for pk in ids]
        report(
            "exports",
            {
                "leads": N,
                "csv_seconds": round(csv_seconds, 2),
                "csv_rows_per_s": round(N / csv_seconds),
                "csv_mb": round(len(csv_body) / 1e6, 1),
                "xlsx_seconds": round(xlsx_seconds, 2),
                "xlsx_rows_per_s": round(N / xlsx_seconds),
                "xlsx_mb": round(len(xlsx_body) / 1e6, 1),
                "copy_to_seconds": round(copy_seconds, 3),
                "csv_vs_copy": round(csv_seconds / copy_seconds, 1),
                "xlsx_vs_copy": round(xlsx_seconds / copy_seconds, 1),
                "budget_csv_s": CSV_BUDGET_S,
                "budget_xlsx_s": XLSX_BUDGET_S,
            },
        )
        assert csv_seconds <= CSV_BUDGET_S, csv_seconds
        assert xlsx_seconds <= XLSX_BUDGET_S, xlsx_seconds
    finally:
        Lead.objects.all().delete()
