"""Benchmarks: run on PostgreSQL with `scripts/bench` (see README). Not collected by the
default test run (pyproject addopts ignore this folder)."""

from __future__ import annotations

import json
import os
import pathlib

import pytest
from django.db import connection

RESULTS = pathlib.Path(os.environ.get("BENCH_RESULTS", "benchmark-results"))


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
