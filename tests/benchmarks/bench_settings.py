"""Benchmark-only settings: the production settings with ``bench_urls`` as URLConf, so the
baseline views are served by the same gunicorn, middleware and database as the app.
Only ``tests/benchmarks/server.gunicorn(settings_module=...)`` uses this module."""

from pipeline.settings import *  # noqa: F403

ROOT_URLCONF = "tests.benchmarks.bench_urls"
