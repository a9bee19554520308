"""The suite's own guards: no test reaches the network, and ``assert_queries_flat`` catches a
page that makes one more query per row."""

from __future__ import annotations

import contextlib
import socket
import time

import pytest

from leads.models import Lead
from tests import netguard
from tests.factories import CampaignFactory, LeadFactory

TEST_NET_3 = "203.0.113.1"  # documentation range: never routed


@pytest.fixture
def refused():
    """The guard's error is expected here: clear its record so the teardown check passes."""
    yield
    netguard.blocked.clear()


def _socket_call(method: str, address: tuple, family=socket.AF_INET):
    def call():
        with socket.socket(family) as sock:
            getattr(sock, method)(address)

    return call


@pytest.mark.parametrize(
    "reach",
    [
        lambda: socket.create_connection((TEST_NET_3, 80), timeout=5),
        _socket_call("connect", (TEST_NET_3, 80)),
        _socket_call("connect_ex", (TEST_NET_3, 80)),
        _socket_call("connect", ("2001:db8::1", 80), socket.AF_INET6),
        _socket_call("connect", ("example.com", 80)),
        lambda: socket.getaddrinfo("example.com", 443),
        lambda: socket.gethostbyname("example.com"),
    ],
    ids=["create_connection", "connect", "connect_ex", "ipv6", "connect-name", "dns", "dns-v4"],
)
def test_reaching_the_network_fails_at_once_naming_the_address(reach, refused):
    began = time.monotonic()
    with pytest.raises(netguard.NetworkBlocked, match=r"(203\.0\.113\.1|2001:db8::1|example\.com)"):
        reach()
    assert time.monotonic() - began < 1  # no DNS wait, no connect timeout
    assert netguard.blocked


def test_a_swallowed_refusal_is_remembered_for_the_teardown_check(refused):
    with contextlib.suppress(Exception):  # code that hides network errors
        socket.create_connection((TEST_NET_3, 443), timeout=5)
    # tests/conftest.py fails any test that leaves an entry here
    assert netguard.blocked == [f"{TEST_NET_3}:443"]


def test_urllib_to_the_outside_is_refused(refused):
    from urllib.request import urlopen

    with pytest.raises(netguard.NetworkBlocked, match=r"example\.com"):
        urlopen("http://example.com/", timeout=5)


def test_loopback_still_works():
    for family, host in ((socket.AF_INET, "127.0.0.1"), (socket.AF_INET, "localhost")):
        with socket.socket(family) as server:
            server.bind((host, 0))
            server.listen()
            port = server.getsockname()[1]
            with socket.create_connection((host, port), timeout=5) as client:
                accepted, _ = server.accept()
                client.sendall(b"ping")
                assert accepted.recv(4) == b"ping"
                accepted.close()
    assert socket.getaddrinfo("localhost", 80)
    assert netguard.blocked == []


def test_unix_sockets_still_work(tmp_path):
    path = str(tmp_path / "s.sock")
    with socket.socket(socket.AF_UNIX) as server:
        server.bind(path)
        server.listen()
        with socket.socket(socket.AF_UNIX) as client:
            client.connect(path)
            server.accept()[0].close()


@pytest.mark.parametrize(
    ("host", "local"),
    [
        ("127.0.0.1", True),
        ("127.8.9.10", True),
        ("::1", True),
        ("::ffff:127.0.0.1", True),
        ("LOCALHOST", True),
        (None, True),
        ("10.0.0.1", False),
        ("0.0.0.0", False),  # noqa: S104 - a host to refuse, not one to bind
        ("128.0.0.1", False),
        ("localhost.example.com", False),
    ],
)
def test_what_counts_as_local(host, local):
    assert netguard.is_local(host) is local


# --------------------------------------------------------------------------------------
# assert_queries_flat
# --------------------------------------------------------------------------------------


def _campaign_names(*, n_plus_one: bool) -> list[str]:
    leads = Lead.objects.order_by("pk")
    if not n_plus_one:
        leads = leads.select_related("source_campaign")
    return [lead.source_campaign.name for lead in leads]


def _leads(n: int) -> None:
    for _ in range(n):
        LeadFactory(source_campaign=CampaignFactory())


@pytest.mark.django_db
def test_flat_queries_pass_and_return_the_second_result(assert_queries_flat):
    _leads(2)
    names = assert_queries_flat(
        lambda: _campaign_names(n_plus_one=False), grow=lambda: _leads(5), max_queries=1
    )
    assert len(names) == 7


@pytest.mark.django_db
def test_growing_queries_fail_with_the_extra_statements(assert_queries_flat):
    _leads(2)
    with pytest.raises(AssertionError) as failure:
        assert_queries_flat(lambda: _campaign_names(n_plus_one=True), grow=lambda: _leads(5))
    message = str(failure.value)
    assert message.startswith("query count changed from 3 to 8 (+5)")
    # the five look-ups read as one line, values stripped, the select list shortened
    assert '+   5 × SELECT … FROM "campaigns_campaign" WHERE "campaigns_campaign"."id" = ?' in (
        message
    )


@pytest.mark.django_db
def test_two_prepared_setups_compare_with_then(assert_queries_flat):
    _leads(1)
    with pytest.raises(AssertionError, match=r"from 2 to 1 \(-1\)"):
        assert_queries_flat(
            lambda: _campaign_names(n_plus_one=True),
            then=lambda: _campaign_names(n_plus_one=False),
        )


@pytest.mark.django_db
def test_over_the_budget_fails_listing_the_statements(assert_queries_flat):
    _leads(1)
    with pytest.raises(AssertionError, match=r"2 queries, over the budget of 1:\n.*leads_lead"):
        assert_queries_flat(
            lambda: _campaign_names(n_plus_one=True), grow=lambda: None, max_queries=1
        )


@pytest.mark.django_db
def test_an_error_page_is_not_counted(client, assert_queries_flat):
    with pytest.raises(AssertionError, match="answered 404"):
        assert_queries_flat(lambda: client.get("/no/such/page/"), grow=lambda: _leads(1))
