"""Reports and exports against a real PostgreSQL streaming standby (pipeline/dbrouter.py).

Needs DATABASE_REPLICA_URL pointing at a standby of the primary in DATABASE_URL, as
``./scripts/replica start`` makes one (CI: the "Read replica" step of .ci/run)::

    ./scripts/replica start
    DATABASE_REPLICA_URL=postgres://postgres@127.0.0.1:5433/<DATABASE_URL's name> pytest -m replica

How the test databases line up: the replica alias is a TEST MIRROR of ``default``, so during
the tests it connects to the standby's copy of the primary's *test* database (the standby
replays the CREATE DATABASE too). A MIRROR alone replicates nothing, and a test inside a
transaction (pytest-django's default) never commits, so the standby would never see its
rows: these tests are transactional (``transaction=True``), commit for real on the primary
and wait until the standby has replayed that far (``pg_last_wal_replay_lsn``). To tell which
server answered, they pause the standby's replay: rows written after the pause exist only
on the primary.
"""

from __future__ import annotations

import logging
import time

import pytest
from django.conf import settings as django_settings
from django.db import connections
from django.test.utils import CaptureQueriesContext

from pipeline import dbrouter
from tests.factories import LeadFactory, UserFactory

pytestmark = [
    pytest.mark.replica,
    pytest.mark.skipif(
        not django_settings.DATABASE_REPLICA_URL,
        reason="needs DATABASE_REPLICA_URL: a streaming standby of the primary "
        "(./scripts/replica start; CI's 'Read replica' step runs these)",
    ),
    pytest.mark.django_db(
        transaction=True, serialized_rollback=True, databases=["default", "replica"]
    ),
]

EXPORT = "/api/v1/leads/export/?file_format=csv"


def sql(alias: str, query: str) -> object:
    with connections[alias].cursor() as cursor:
        cursor.execute(query)
        return cursor.fetchone()[0]


def wait_replayed(timeout: float = 20.0) -> None:
    """Until the standby has replayed everything the primary committed so far."""
    target = sql("default", "SELECT pg_current_wal_lsn()")
    deadline = time.monotonic() + timeout
    while not sql("replica", f"SELECT pg_last_wal_replay_lsn() >= '{target}'::pg_lsn"):
        assert time.monotonic() < deadline, f"the standby did not replay up to {target}"
        time.sleep(0.05)


@pytest.fixture
def standby(settings):
    """The real standby, caught up; its replay paused by ``pause()``, resumed after."""
    assert sql("replica", "SELECT pg_is_in_recovery()"), "DATABASE_REPLICA_URL is no standby"
    settings.REPLICA_CHECK_SECONDS = 0  # check on every block: the test changes the lag
    settings.REPLICA_MAX_LAG_SECONDS = 60
    dbrouter.forget_replica_health()

    def pause() -> None:
        sql("replica", "SELECT pg_wal_replay_pause()::text")
        while sql("replica", "SELECT pg_get_wal_replay_pause_state()") != "paused":
            time.sleep(0.05)

    wait_replayed()
    yield pause
    sql("replica", "SELECT pg_wal_replay_resume()::text")
    wait_replayed()
    dbrouter.forget_replica_health()


@pytest.fixture
def router_log(caplog):
    logger = logging.getLogger("pipeline.dbrouter")
    logger.addHandler(caplog.handler)
    caplog.set_level(logging.INFO, logger="pipeline.dbrouter")
    yield caplog
    logger.removeHandler(caplog.handler)


def reads(captured: CaptureQueriesContext) -> list[str]:
    """The queries the standby answered, without the router's health check."""
    return [q["sql"] for q in captured.captured_queries if "pg_is_in_recovery" not in q["sql"]]


def export(client) -> tuple[str, int]:
    """The lead export's CSV, and how many queries the standby answered for it."""
    with CaptureQueriesContext(connections["replica"]) as on_replica:
        response = client.get(EXPORT)
        assert response.status_code == 200
        body = b"".join(response.streaming_content).decode("utf-8-sig")
    return body, len(reads(on_replica))


def test_exports_read_the_standby_and_the_writer_reads_the_primary(
    api, standby, router_log, settings
):
    manager = UserFactory(username="replica-manager", roles=["manager", "lead_desk"])
    LeadFactory(name="Before the pause")
    wait_replayed()
    standby()  # from here on the standby holds still
    lead = LeadFactory(name="Only on the primary")

    # Another manager's export is answered by the standby: the new lead is not there yet.
    body, replica_queries = export(api(manager))
    assert "Before the pause" in body
    assert "Only on the primary" not in body
    assert replica_queries > 0

    # The manager writes (through the API); their next export reads the primary, which has
    # both the row written before and their own change.
    writer = api(manager)
    response = writer.patch(f"/api/v1/leads/{lead.pk}/", {"name": "Renamed by me"}, format="json")
    assert response.status_code == 200, response.content
    assert dbrouter.PIN_COOKIE in response.cookies
    body, replica_queries = export(writer)
    assert "Renamed by me" in body and "Before the pause" in body
    assert replica_queries == 0
    # Everyone else still reads the paused standby.
    body, replica_queries = export(api(manager))
    assert "Renamed by me" not in body and "Only on the primary" not in body
    assert replica_queries > 0

    # Once the standby is further behind than REPLICA_MAX_LAG_SECONDS, nobody reads it, and
    # the switch is logged.
    settings.REPLICA_MAX_LAG_SECONDS = 0.5
    time.sleep(0.6)
    body, replica_queries = export(api(manager))
    assert "Renamed by me" in body
    assert replica_queries == 0
    assert "behind the primary (limit 0.5 s)" in router_log.text

    # Replay resumes: the standby catches up and serves everyone again, changes included.
    sql("replica", "SELECT pg_wal_replay_resume()::text")
    wait_replayed()
    settings.REPLICA_MAX_LAG_SECONDS = 60
    body, replica_queries = export(api(manager))
    assert "Renamed by me" in body and "Before the pause" in body
    assert replica_queries > 0
    assert "serves report reads again" in router_log.text


def test_report_pages_and_endpoints_read_the_standby_other_pages_never(client, api, standby):
    manager = UserFactory(username="replica-manager", roles=["manager"])
    client.force_login(manager)
    wait_replayed()
    for url in ("/reports/", "/reports/scorecards/", "/reports/forecast/"):
        with CaptureQueriesContext(connections["replica"]) as on_replica:
            response = client.get(url)
        assert response.status_code == 200, url
        assert reads(on_replica), f"{url} did not read the standby"
    with CaptureQueriesContext(connections["replica"]) as on_replica:
        response = api(manager).get("/api/v1/reports/funnel/")
    assert response.status_code in (200, 202)
    assert reads(on_replica)
    # Pages that are not reports, and the API outside reports, never read the standby.
    with CaptureQueriesContext(connections["replica"]) as on_replica:
        assert client.get("/leads/").status_code == 200
        assert api(manager).get("/api/v1/leads/").status_code == 200
    assert on_replica.captured_queries == []
