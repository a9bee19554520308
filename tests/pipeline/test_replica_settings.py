"""DATABASE_REPLICA_URL and the REPLICA_* settings: a replica alias that mirrors the primary
in tests, and refusals of configurations that could not keep read-your-own-writes."""

from __future__ import annotations

import json

from tests.pipeline.test_settings import _run_django

PRIMARY = "postgres://leadloop@127.0.0.1:1/leadloop"
REPLICA = "postgres://reader@127.0.0.1:2/leadloop"
SHOW = (
    "import json; from django.conf import settings as s; "
    "print(json.dumps({k: s.DATABASES['replica'][k] for k in ('HOST', 'PORT', 'USER', 'TEST', "
    "'OPTIONS')} | {'routers': s.DATABASE_ROUTERS}))"
)


def test_the_replica_url_adds_a_replica_alias_that_mirrors_the_primary_in_tests():
    result = _run_django(
        {"SECRET_KEY": "x", "DATABASE_URL": PRIMARY, "DATABASE_REPLICA_URL": REPLICA},
        "shell",
        "-c",
        SHOW,
    )
    assert result.returncode == 0, result.stderr
    replica = json.loads(result.stdout.strip().splitlines()[-1])
    assert (replica["HOST"], replica["PORT"], replica["USER"]) == ("127.0.0.1", 2, "reader")
    assert replica["TEST"]["MIRROR"] == "default"
    assert replica["OPTIONS"]["connect_timeout"] == 2
    assert replica["routers"] == ["pipeline.dbrouter.ReplicaRouter"]


def test_a_replica_needs_a_postgresql_primary():
    result = _run_django({"DATABASE_REPLICA_URL": REPLICA})
    assert result.returncode != 0
    assert "DATABASE_REPLICA_URL needs a PostgreSQL DATABASE_URL" in result.stderr


def test_a_pin_shorter_than_the_tolerated_lag_is_refused():
    result = _run_django(
        {
            "SECRET_KEY": "x",
            "DATABASE_URL": PRIMARY,
            "DATABASE_REPLICA_URL": REPLICA,
            "REPLICA_MAX_LAG_SECONDS": "30",
            "REPLICA_PIN_SECONDS": "10",
        }
    )
    assert result.returncode != 0
    assert "REPLICA_PIN_SECONDS must be at least" in result.stderr
