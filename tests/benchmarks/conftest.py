"""Benchmarks: run on PostgreSQL with `scripts/bench` (see README). Not collected by the
default test run (pyproject addopts ignore this folder)."""

from __future__ import annotations

import json
import os
import pathlib

import pytest
from django.db import connection

RESULTS = pathlib.Path(os.environ.get("BENCH_RESULTS", "benchmark-results"))


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "faults: breaks a service (Redis, a worker, PostgreSQL); only with -m faults"
    )


def pytest_collection_modifyitems(config, items):
    """Fault tests (they stop Redis, kill workers, restart PostgreSQL) run only when asked
    for by marker: ``./scripts/bench -m faults``. ``-k capture`` or ``-k import`` never
    selects them."""
    if "faults" in (config.getoption("markexpr") or ""):
        return
    faults = [item for item in items if item.get_closest_marker("faults")]
    if faults:
        config.hook.pytest_deselected(items=faults)
        items[:] = [item for item in items if not item.get_closest_marker("faults")]


@pytest.fixture(autouse=True)
def _quiet(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.dummy.EmailBackend"
    settings.AUTO_ASSIGN = False


@pytest.fixture(autouse=True)
def _needs_postgres(db):
    if connection.vendor != "postgresql":
        pytest.fail("Benchmarks run on PostgreSQL: set DATABASE_URL (see README).")


@pytest.fixture
def report():
    """Print a result block and keep it as JSON under benchmark-results/."""

    def write(name: str, figures: dict) -> None:
        RESULTS.mkdir(parents=True, exist_ok=True)
        (RESULTS / f"{name}.json").write_text(json.dumps(figures, indent=2, default=str))
        print(f"\n== {name} ==")
        for key, value in figures.items():
            print(f"  {key}: {value}")

    return write
