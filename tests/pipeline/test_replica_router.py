"""The replica router's rules (pipeline/dbrouter.py) against a second database alias.

The "replica" here is a separate SQLite file holding its own rows, whatever the primary is
(SQLite or PostgreSQL): a read answered by the replica sees rows only the replica has, so
every test shows where its reads really went. The real streaming standby is exercised by
test_replica_standby.py.
"""

from __future__ import annotations

import contextlib
import logging
import time

import pytest
import time_machine
from django.contrib.auth.models import Group
from django.db import OperationalError, connections, router, transaction
from django.http import HttpResponse, StreamingHttpResponse
from django.test import RequestFactory

from campaigns.models import Channel
from leads.models import Company
from pipeline import dbrouter
from pipeline.db import reading_replica
from tests.factories import UserFactory

ALIAS = "unit_replica"
pytestmark = pytest.mark.django_db(databases=["default", ALIAS])


@pytest.fixture(scope="module", autouse=True)
def _replica_alias(tmp_path_factory, django_db_setup, django_db_blocker):
    """A second alias: a SQLite file with the tables these tests read."""
    path = tmp_path_factory.mktemp("replica") / "replica.sqlite3"
    config = connections.configure_settings(
        {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": str(path)}}
    )["default"]
    connections.settings[ALIAS] = config
    with django_db_blocker.unblock(), connections[ALIAS].schema_editor() as editor:
        editor.create_model(Channel)
        editor.create_model(Company)
        editor.create_model(Group)
    yield
    with django_db_blocker.unblock():
        connections[ALIAS].close()
    del connections.settings[ALIAS]
    with contextlib.suppress(AttributeError):
        delattr(connections._connections, ALIAS)


@pytest.fixture(autouse=True)
def replica(monkeypatch, settings):
    """The router uses the unit alias as its replica; health is checked afresh."""
    monkeypatch.setattr(dbrouter, "REPLICA", ALIAS)
    settings.REPLICA_CHECK_SECONDS = 60
    settings.REPLICA_PIN_SECONDS = 10
    dbrouter.forget_replica_health()
    yield ALIAS
    dbrouter.forget_replica_health()


@pytest.fixture
def rows():
    """One channel only the primary has, one only the replica has."""
    Channel.objects.using("default").create(code="t-primary", name="P", kind="online")
    Channel.objects.using(ALIAS).create(code="t-replica", name="R", kind="online")
    Company.objects.using(ALIAS).create(name="replica-co", normalized_name="replica-co")


def names() -> list[str]:
    return sorted(Channel.objects.filter(code__startswith="t-").values_list("code", flat=True))


@pytest.fixture
def warnings_logged(caplog):
    logger = logging.getLogger("pipeline.dbrouter")
    logger.addHandler(caplog.handler)
    caplog.set_level(logging.INFO, logger="pipeline.dbrouter")
    yield caplog
    logger.removeHandler(caplog.handler)


def test_reads_go_to_the_primary_outside_reading_replica(rows):
    assert names() == ["t-primary"]
    assert Channel.objects.all().db == "default"


def test_reads_inside_reading_replica_are_answered_by_the_replica(rows):
    with reading_replica() as reading:
        assert reading.alias == ALIAS
        assert names() == ["t-replica"]
        assert Company.objects.filter(normalized_name="replica-co").exists()
    assert names() == ["t-primary"]


def test_without_a_configured_replica_everything_reads_the_primary(rows, monkeypatch):
    monkeypatch.setattr(dbrouter, "REPLICA", "no_such_alias")
    with reading_replica() as reading:
        assert reading.alias == "default"
        assert names() == ["t-primary"]


def test_writes_go_to_the_primary_and_later_reads_of_that_table_follow(rows):
    with reading_replica():
        created = Channel.objects.create(code="t-written", name="W", kind="online")
        # The write landed on the primary only.
        assert Channel.objects.using("default").filter(pk=created.pk).exists()
        assert not Channel.objects.using(ALIAS).filter(code="t-written").exists()
        # The block reads back what it wrote, from where it wrote it...
        assert names() == ["t-primary", "t-written"]
        # ...while tables it did not write are still read from the replica.
        assert Company.objects.filter(normalized_name="replica-co").exists()


def test_users_and_roles_are_always_read_from_the_primary(rows):
    Group.objects.using(ALIAS).create(name="t-replica-role")
    with reading_replica():
        assert not Group.objects.filter(name="t-replica-role").exists()
        assert Group.objects.filter(name="manager").exists()
        assert names() == ["t-replica"]


def test_a_transaction_reads_the_primary(rows):
    with reading_replica():
        with transaction.atomic():
            assert names() == ["t-primary"]
        assert names() == ["t-replica"]


def test_select_for_update_and_saving_a_replica_row_use_the_primary(rows):
    with reading_replica():
        replica_row = Channel.objects.get(code="t-replica")
        assert replica_row._state.db == ALIAS
        assert Channel.objects.select_for_update().db == "default"
    # A row read from the replica is saved to the primary, never to the replica.
    replica_row.pk, replica_row.code = None, "t-saved"
    replica_row.save()
    assert Channel.objects.using("default").filter(code="t-saved").exists()
    assert not Channel.objects.using(ALIAS).filter(code="t-saved").exists()


def test_the_replica_is_never_migrated():
    assert router.allow_migrate(ALIAS, "leads") is False
    assert router.allow_migrate("default", "leads") is True


def test_a_replica_that_is_down_is_skipped_and_logged(rows, monkeypatch, warnings_logged):
    def refused(*args, **kwargs):
        raise OperationalError("could not connect to server: Connection refused")

    monkeypatch.setattr(connections[ALIAS], "cursor", refused)
    with reading_replica() as reading:
        assert reading.alias == "default"
        assert names() == ["t-primary"]
    assert "Replica 'unit_replica' not used, reading the primary: down" in warnings_logged.text
    assert "Connection refused" in warnings_logged.text


def test_health_is_checked_once_per_interval(rows, monkeypatch, settings, warnings_logged):
    settings.REPLICA_CHECK_SECONDS = 30
    probes: list[str] = []
    real_probe = dbrouter._probe

    def counting_probe(connection):
        probes.append(connection.alias)
        if len(probes) == 1:
            return "12.0 s behind the primary (limit 5 s)"
        return real_probe(connection)

    monkeypatch.setattr(dbrouter, "_probe", counting_probe)
    clock = [1000.0]
    monkeypatch.setattr(dbrouter.time, "monotonic", lambda: clock[0])
    for _ in range(3):
        with reading_replica():
            assert names() == ["t-primary"]
    assert probes == [ALIAS]
    assert "12.0 s behind the primary" in warnings_logged.text
    clock[0] += 31
    with reading_replica():
        assert names() == ["t-replica"]
    assert probes == [ALIAS, ALIAS]
    assert "serves report reads again" in warnings_logged.text


# --- Read-your-own-writes across requests ----------------------------------------------------
@reading_replica()
def report_view(request):
    return HttpResponse(",".join(names()))


def writing_view(request):
    Channel.objects.create(code=f"t-by-{request.method.lower()}", name="N", kind="online")
    return HttpResponse("done")


def reading_view(request):
    return HttpResponse(",".join(names()))


def serve(view, request, user=None):
    from django.contrib.auth.models import AnonymousUser

    request.user = user or AnonymousUser()
    return dbrouter.ReplicaPinMiddleware(view)(request)


def test_a_users_write_pins_their_reads_to_the_primary(rows):
    user = UserFactory()
    factory = RequestFactory()
    # Before writing, the report reads the replica.
    assert serve(report_view, factory.get("/r/"), user).content == b"t-replica"
    wrote = serve(writing_view, factory.post("/w/"), user)
    cookie = wrote.cookies[dbrouter.PIN_COOKIE]
    assert cookie["max-age"] == 10 and cookie["httponly"]
    # Their next report reads the primary, so it shows the change.
    request = factory.get("/r/")
    request.COOKIES[dbrouter.PIN_COOKIE] = cookie.value
    assert serve(report_view, request, user).content == b"t-by-post,t-primary"
    # Another browser (no cookie) still reads the replica.
    assert serve(report_view, factory.get("/r/"), user).content == b"t-replica"


def test_a_get_that_writes_pins_and_a_get_that_only_reads_does_not(rows):
    user = UserFactory()
    factory = RequestFactory()
    assert dbrouter.PIN_COOKIE in serve(writing_view, factory.get("/w/"), user).cookies
    assert dbrouter.PIN_COOKIE not in serve(reading_view, factory.get("/r/"), user).cookies
    assert dbrouter.PIN_COOKIE not in serve(report_view, factory.get("/r/"), user).cookies


def test_anonymous_writes_set_no_pin(rows):
    response = serve(writing_view, RequestFactory().post("/f/form/"))
    assert dbrouter.PIN_COOKIE not in response.cookies


def test_a_forged_or_expired_pin_is_ignored(rows):
    user = UserFactory()
    factory = RequestFactory()
    with time_machine.travel(time.time(), tick=False) as traveller:
        cookie = serve(writing_view, factory.post("/w/"), user).cookies[dbrouter.PIN_COOKIE]
        forged = factory.get("/r/")
        forged.COOKIES[dbrouter.PIN_COOKIE] = "1"
        assert serve(report_view, forged, user).content == b"t-replica"
        traveller.shift(11)
        expired = factory.get("/r/")
        expired.COOKIES[dbrouter.PIN_COOKIE] = cookie.value
        assert serve(report_view, expired, user).content == b"t-replica"


def test_a_streamed_response_reads_its_rows_from_the_replica(rows):
    @reading_replica()
    def export_view(request):
        # Evaluated lazily: the rows are read while the response streams, after the view.
        queryset = Channel.objects.filter(code__startswith="t-").values_list("code", flat=True)
        return StreamingHttpResponse(f"{name}\n" for name in queryset.iterator())

    response = serve(export_view, RequestFactory().get("/export/"), UserFactory())
    assert b"".join(response.streaming_content) == b"t-replica\n"
    # The block ended with the stream: reads here are the primary's again.
    assert names() == ["t-primary"]
