from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from tests import netguard, querycount, worlds
from tests.factories import TeamFactory, TeamMembershipFactory, UserFactory

ROLES = ["marketer", "lead_desk", "sales_rep", "sales_manager", "manager"]


@pytest.fixture(scope="session", autouse=True)
def _no_network():
    """Loopback and unix sockets only: a connection to any other address, or a DNS look-up
    of any other name, raises ``netguard.NetworkBlocked`` naming the address."""
    netguard.install()
    yield
    netguard.uninstall()


@pytest.fixture(autouse=True)
def _network_not_touched(_no_network):
    """Fail the test even when its code caught the ``NetworkBlocked`` error and carried on."""
    netguard.blocked.clear()
    yield
    if netguard.blocked:
        refused, netguard.blocked[:] = list(netguard.blocked), []
        pytest.fail(f"the test tried to reach the network: {', '.join(refused)}")


@pytest.fixture
def assert_queries_flat():
    """``assert_queries_flat(run, grow=..., then=..., max_queries=...)``: the query count of
    ``run`` does not change when ``grow`` adds rows (see ``tests/querycount.py``)::

        make_leads(3)
        response = assert_queries_flat(
            lambda: client.get(url), grow=lambda: make_leads(20), max_queries=15
        )
    """
    return querycount.assert_queries_flat


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Each test starts with an empty cache (throttles, cached SLA configuration)."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def _closed_breakers():
    """A broker or cache failure in one test does not make the next one skip Redis."""
    from pipeline.queue import broker_breaker
    from pipeline.throttles import cache_breaker

    broker_breaker.reset()
    cache_breaker.reset()


@pytest.fixture(scope="session")
def _media_root(tmp_path_factory):
    """One media folder per test run, so two runs side by side (CI runs the SQLite and the
    PostgreSQL suites at once) never read each other's export or import files."""
    return tmp_path_factory.mktemp("media")


@pytest.fixture(autouse=True)
def _settings_for_tests(settings, _media_root):
    for name, value in worlds.settings_for_tests(_media_root).items():
        setattr(settings, name, value)


@pytest.fixture
def desk(db):
    return UserFactory(username="desk", roles=["lead_desk"])


@pytest.fixture
def marketer(db):
    return UserFactory(username="marketer", roles=["marketer"])


@pytest.fixture
def manager(db):
    return UserFactory(username="boss", roles=["manager"])


@pytest.fixture
def team(db):
    return TeamFactory(name="East")


@pytest.fixture
def rep(team):
    return TeamMembershipFactory(
        team=team, user=UserFactory(username="rep", roles=["sales_rep"])
    ).user


@pytest.fixture
def other_rep(team):
    return TeamMembershipFactory(
        team=team, user=UserFactory(username="rep2", roles=["sales_rep"])
    ).user


@pytest.fixture
def sales_manager(team):
    return team.manager


@pytest.fixture
def outsider_rep(db):
    """A rep in another team."""
    other = TeamFactory(name="West")
    return TeamMembershipFactory(
        team=other, user=UserFactory(username="rep_west", roles=["sales_rep"])
    ).user


@pytest.fixture
def api():
    def client_for(user=None) -> APIClient:
        client = APIClient()
        if user is not None:
            client.force_authenticate(user)
        return client

    return client_for


def pytest_runtest_setup(item: pytest.Item) -> None:
    """Tests marked ``postgres`` (real parallel workers, row locks) skip on SQLite."""
    from django.db import connection

    if item.get_closest_marker("postgres") and connection.vendor != "postgresql":
        pytest.skip("parallel workers and row locks need PostgreSQL (CI runs them there)")
