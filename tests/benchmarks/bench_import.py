"""Import of a large CSV through the real job on PostgreSQL, against COPY of the same rows.

Peak memory is the child process's max RSS, measured for two file sizes to show it does
not grow with the file.
"""

from __future__ import annotations

import csv
import io
import os
import pathlib
import subprocess
import sys
import time

import pytest
from django.db import connection
from django.utils import timezone

from leads.models import Lead, LeadTouch
from pipeline.writers import PostgresCopyWriter

ROWS = int(os.environ.get("BENCH_IMPORT_ROWS", "100000"))
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚"
PREFIXES = ("139", "138", "137", "136", "135", "150", "151", "152", "158", "159", "186", "187")


def write_csv(path: pathlib.Path, rows: int, offset: int) -> None:
    with path.open("w", encoding="gb18030", newline="") as handle:  # what Chinese Excel writes
        writer = csv.writer(handle)
        writer.writerow(["姓名", "公司", "手机", "邮箱", "职位", "行业", "地区", "签到时间"])
        for i in range(rows):
            n = offset + i
            writer.writerow(
                [
                    SURNAMES[n % 20] + GIVEN[(n // 20) % 20],
                    f"公司{n % 5000}有限公司",
                    f"{PREFIXES[n % len(PREFIXES)]}{n % 100_000_000:08d}",
                    f"p{n}@example.cn",
                    "采购经理",
                    "制造业",
                    "上海",
                    f"2026-05-20 {9 + n % 9:02d}:{n // 9 % 60:02d}",  # check-ins over the day
                ]
            )


CHILD = r"""
import datetime, os, sys, time, resource, django
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pipeline.settings")
django.setup()
from django.core.files import File
from campaigns.models import Campaign
from django.contrib.auth.models import User
from leads.imports import import_upload, import_run
user = User.objects.get(username="bench-importer")
campaign = Campaign.objects.get(utm_campaign="bench-import")
start = time.perf_counter()
with open(sys.argv[1], "rb") as handle:
    upload = File(handle, name=os.path.basename(sys.argv[1]))
    upload.size = os.path.getsize(sys.argv[1])
    job = import_upload(
        actor=user, campaign=campaign, upload=upload,
        legal_basis="event_registration", legal_basis_date=datetime.date(2026, 1, 1),
    )
import_run(job_id=job.pk)  # a no-op if the eager queue already ran it
job.refresh_from_db()
assert job.status == "done", job.message
elapsed = time.perf_counter() - start
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(f"RESULT {job.created} {job.duplicates} {job.failed} {elapsed:.3f} {peak}")
"""


def run_child(path: pathlib.Path, env: dict) -> tuple[int, float, int]:
    out = subprocess.run(
        [sys.executable, "-c", CHILD, str(path)],
        env=env,
        check=False,
        capture_output=True,
        text=True,
        cwd=pathlib.Path(__file__).parents[2],
    )
    assert out.returncode == 0, out.stderr[-3000:]
    line = next(x for x in out.stdout.splitlines() if x.startswith("RESULT"))
    created, _dups, failed, seconds, peak_kb = line.split()[1:]
    assert int(failed) == 0, out.stdout
    return int(created), float(seconds), int(peak_kb)


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_import_rows_per_second_vs_copy(tmp_path, report, settings):
    from django.contrib.auth.models import Group, User

    from campaigns.models import Campaign, Channel

    user = User.objects.create(username="bench-importer")
    user.groups.add(Group.objects.get(name="marketer"))
    Campaign.objects.create(
        name="Bench",
        channel=Channel.objects.get(code="trade_show"),
        utm_campaign="bench-import",
        owner=user,
    )
    db = connection.settings_dict  # the child process must use the test database
    url = f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    env = {**os.environ, "MEDIA_ROOT": str(tmp_path / "media"), "DATABASE_URL": url}
    small, big = tmp_path / "small.csv", tmp_path / "big.csv"
    write_csv(small, ROWS // 5, offset=10_000_000)
    write_csv(big, ROWS, offset=20_000_000)
    created_small, seconds_small, peak_small = run_child(small, env)
    stored_small = Lead.objects.count()
    created_big, seconds_big, peak_big = run_child(big, env)
    # The outcome counted in the database, not taken from the job's own counters: every
    # row of each file is a lead with its phone and email, and a first touch.
    stored_big = Lead.objects.count() - stored_small
    assert stored_small == ROWS // 5 and stored_big == ROWS, (stored_small, stored_big)
    assert created_big == ROWS and created_small == ROWS // 5
    big_leads = Lead.objects.filter(email__startswith="p", email__endswith="@example.cn")
    assert big_leads.exclude(phone="").count() == ROWS + ROWS // 5
    assert LeadTouch.objects.filter(is_first=True).count() == ROWS + ROWS // 5

    # Baseline doing the same work: the same rows, as lead rows, by COPY into a table shaped
    # and indexed like the lead table (LIKE … INCLUDING ALL: every column, default, check
    # and index, the unique open-phone and open-email ones included), logged like it.
    writer = PostgresCopyWriter()
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE copy_bench (LIKE leads_lead INCLUDING ALL)")
        try:
            start = time.perf_counter()
            with big.open("r", encoding="gb18030") as handle:
                reader = csv.reader(handle)
                next(reader)
                rows = [
                    {
                        "name": name,
                        "phone": "+86" + phone,
                        "email": email,
                        "title": title,
                        "created_at": timezone.now(),
                    }
                    for name, _company, phone, email, title, _industry, _region, _at in reader
                ]
            statement, text = writer.format(Lead, rows)
            statement = statement.replace('"leads_lead"', "copy_bench")
            cursor.cursor.copy_expert(statement, io.StringIO(text), size=1 << 20)
            copy_seconds = time.perf_counter() - start
            cursor.execute("SELECT count(*) FROM copy_bench")
            assert cursor.fetchone()[0] == ROWS
        finally:
            cursor.execute("DROP TABLE copy_bench")
    rate = ROWS / seconds_big
    report(
        "import",
        {
            "rows": ROWS,
            "import_seconds": round(seconds_big, 2),
            "import_rows_per_s": round(rate),
            "leads_counted_in_database": stored_big,
            "copy_seconds": round(copy_seconds, 3),
            "copy_rows_per_s": round(ROWS / copy_seconds),
            "import_vs_copy_slower_by": round(seconds_big / copy_seconds, 1),
            f"peak_rss_mb_{ROWS // 5}_rows": round(peak_small / 1024),
            f"peak_rss_mb_{ROWS}_rows": round(peak_big / 1024),
            "small_file_rows_per_s": round((ROWS // 5) / seconds_small),
        },
    )
