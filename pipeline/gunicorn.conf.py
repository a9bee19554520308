"""Gunicorn settings for the LeadLoop web process, read from the environment.

    gunicorn --config pipeline/gunicorn.conf.py pipeline.wsgi

Variables: PORT or GUNICORN_BIND, WEB_CONCURRENCY, GUNICORN_THREADS, GUNICORN_TIMEOUT,
LOG_LEVEL, TRUSTED_PROXIES (see README).

Proxies: ``TRUSTED_PROXIES`` is the one list of reverse proxies the app believes (the
Django setting of the same name; ``pipeline.clientip``). When it is set, gunicorn trusts
the same proxies' ``X-Forwarded-*`` headers (``forwarded_allow_ips``). When it is unset,
gunicorn keeps its own ``FORWARDED_ALLOW_IPS`` variable (default ``127.0.0.1,::1``), which
only decides the request scheme for gunicorn: the app never takes a client address from it.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

# Gunicorn reads this file before it puts the working directory on sys.path.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pipeline.clientip import trusted_proxies_from_env
from pipeline.env import env_int, env_str

bind = [env_str("GUNICORN_BIND") or f"0.0.0.0:{env_int('PORT', 8000, minimum=1)}"]
# Two processes per core plus one is the usual sizing for a mostly I/O-bound Django app;
# capped so a large host does not exhaust PostgreSQL connections by default.
workers = env_int("WEB_CONCURRENCY", min(2 * (os.cpu_count() or 1) + 1, 8), minimum=1)
# Sync workers by default: measured against gthread (3 workers × 4 threads) with the
# open-loop load test (tests/benchmarks/bench_load.py), gthread did not win.
threads = env_int("GUNICORN_THREADS", 1, minimum=1)
worker_class = "gthread" if threads > 1 else "sync"
timeout = env_int("GUNICORN_TIMEOUT", 60, minimum=1)
graceful_timeout = 30
keepalive = 5
# Recycle workers now and then so a slow leak never grows without bound.
max_requests = 1000
max_requests_jitter = 100
accesslog = "-"
errorlog = "-"
loglevel = env_str("LOG_LEVEL", "INFO").lower()
if _trusted_proxies := trusted_proxies_from_env():
    forwarded_allow_ips = _trusted_proxies
# Heartbeat files on tmpfs: a container's overlay filesystem can stall them.
_SHM = "/dev/shm"  # noqa: S108 - gunicorn's own heartbeat files, not shared data
if Path(_SHM).is_dir():
    worker_tmp_dir = _SHM
