"""The embedded default under concurrent writers: a real gunicorn on a SQLite *file*.

SQLite in WAL mode with IMMEDIATE transactions and a busy timeout (``pipeline/settings.py``)
makes concurrent requests queue for the write lock instead of failing with
``database is locked``. The suite's own database is in memory, where WAL does not apply, so
this test migrates a temporary file database, serves it with two gunicorn processes of four
threads, and fires 8 API writers creating leads while 200 public captures of one person
arrive at once: no 5xx, 8 new leads, one lead with 200 touches for that person.
Skipped on PostgreSQL (``DATABASE_URL`` set): it is about the SQLite default only.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.skipif(
    bool(os.environ.get("DATABASE_URL")),
    reason="SQLite file-database concurrency: only for the embedded default",
)

WRITERS = 8
CAPTURES = 200
PHONE = "13900139000"

SETUP = """
import json, django
django.setup()
from django.core.management import call_command
call_command("migrate", verbosity=0)
from django.contrib.auth.models import Group, User
from rest_framework.authtoken.models import Token
from campaigns.models import Campaign, Channel
user = User.objects.create_user("marketer_sqlite", password="pw-test-123")
user.groups.add(Group.objects.get(name="marketer"))
campaign = Campaign.objects.create(
    name="SQLite rush", utm_campaign="sqlite-rush", owner=user, status="active",
    channel=Channel.objects.get(code="website"),
)
token = Token.objects.create(user=user).key
print(json.dumps({"token": token, "key": campaign.public_key}))
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _env(database: Path) -> dict[str, str]:
    unset = {"DATABASE_URL", "REDIS_URL", "CELERY_TASK_ALWAYS_EAGER", "DJANGO_SETTINGS_MODULE"}
    env = {key: value for key, value in os.environ.items() if key not in unset}
    env.update(
        DJANGO_SETTINGS_MODULE="pipeline.settings",
        SQLITE_PATH=str(database),
        MEDIA_ROOT=str(database.parent / "media"),
        SECRET_KEY="sqlite-concurrency-test-" + "x" * 40,
        DEBUG="0",
        ALLOWED_HOSTS="127.0.0.1",
        CAPTURE_RATE="100000/min",
        STATIC_MANIFEST="0",
        LOG_LEVEL="WARNING",
    )
    return env


def _django(env: dict[str, str], code: str) -> dict:
    result = subprocess.run(  # noqa: S603 - fixed command line, our own interpreter
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def _stored(database: Path) -> dict:
    """What the file holds, read with the sqlite3 module (no second Django start-up)."""
    with contextlib.closing(sqlite3.connect(database, timeout=30)) as db:
        person = [
            row[0]
            for row in db.execute("SELECT id FROM leads_lead WHERE phone LIKE ?", (f"%{PHONE}",))
        ]
        touches = db.execute(
            "SELECT COUNT(*) FROM leads_leadtouch JOIN leads_lead ON leads_lead.id = lead_id"
            " WHERE leads_lead.phone LIKE ?",
            (f"%{PHONE}",),
        ).fetchone()[0]
        return {
            "person_leads": len(person),
            "touches": touches,
            "writer_leads": db.execute(
                "SELECT COUNT(*) FROM leads_lead WHERE email LIKE 'writer-%'"
            ).fetchone()[0],
            "journal_mode": db.execute("PRAGMA journal_mode").fetchone()[0],
        }


def _post(url: str, body: dict, headers: dict[str, str]) -> tuple[int, str]:
    request = urllib.request.Request(  # noqa: S310 - a loopback URL built here
        url,
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", **headers},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310
            return response.status, response.read().decode()[:300]
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()[:300]


@pytest.fixture
def sqlite_server(tmp_path):
    """A gunicorn (2 processes × 4 threads) on a migrated temporary SQLite file."""
    database = tmp_path / "db.sqlite3"
    env = _env(database)
    world = _django(env, SETUP)
    port = _free_port()
    log = (tmp_path / "gunicorn.log").open("w")
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "--config",
            "pipeline/gunicorn.conf.py",
            "pipeline.wsgi",
            "--access-logfile",
            "/dev/null",
        ],
        cwd=ROOT,
        env={
            **env,
            "GUNICORN_BIND": f"127.0.0.1:{port}",
            "WEB_CONCURRENCY": "2",
            "GUNICORN_THREADS": "4",
        },
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group: stopped as a whole below
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2).close()
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    log.flush()
                    pytest.fail(
                        "gunicorn did not start:\n" + (tmp_path / "gunicorn.log").read_text()
                    )
                time.sleep(0.2)
        yield {
            "url": f"http://127.0.0.1:{port}",
            "database": database,
            "log": tmp_path / "gunicorn.log",
            **world,
        }
    finally:
        try:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(5)
        except ProcessLookupError:
            pass
        log.close()


def test_concurrent_writers_and_captures_on_a_sqlite_file_all_succeed(sqlite_server):
    url, token, key = sqlite_server["url"], sqlite_server["token"], sqlite_server["key"]
    start = threading.Barrier(WRITERS + 24)

    def write(n: int) -> tuple[int, str]:
        start.wait(30)
        return _post(
            f"{url}/api/v1/leads/",
            {"name": f"Writer {n}", "email": f"writer-{n}@example.cn"},
            {"Authorization": f"Token {token}"},
        )

    def capture(n: int) -> tuple[int, str]:
        if n < 24:
            start.wait(30)
        return _post(
            f"{url}/api/v1/capture/",
            {"campaign_key": key, "name": "Rush Person", "phone": PHONE, "consent": True},
            {},
        )

    began = time.monotonic()
    with ThreadPoolExecutor(WRITERS + 24) as pool:
        writes = [pool.submit(write, n) for n in range(WRITERS)]
        captures = [pool.submit(capture, n) for n in range(CAPTURES)]
        write_answers = [future.result() for future in writes]
        capture_answers = [future.result() for future in captures]
    took = time.monotonic() - began

    answers = write_answers + capture_answers
    failed = [answer for answer in answers if answer[0] >= 500]
    log = sqlite_server["log"].read_text()
    assert not failed, f"{len(failed)} server errors, e.g. {failed[:3]}\n{log[-3000:]}"
    assert [code for code, _ in write_answers] == [201] * WRITERS, write_answers
    assert {code for code, _ in capture_answers} == {201}, capture_answers[:5]
    assert "database is locked" not in log

    stored = _stored(sqlite_server["database"])
    assert stored == {
        "person_leads": 1,
        "touches": CAPTURES,
        "writer_leads": WRITERS,
        "journal_mode": "wal",
    }, stored
    print(f"{WRITERS} writers + {CAPTURES} captures in {took:.1f}s")
