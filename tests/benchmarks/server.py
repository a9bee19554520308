"""Start the real app under gunicorn on 127.0.0.1 for a benchmark, and Celery workers on
chosen queues, and stop them. Every benchmark that needs a server or a worker uses these
(never a copy)."""

from __future__ import annotations

import contextlib
import os
import pathlib
import socket
import subprocess
import sys
import threading
import time
import urllib.request

from django.db import connection

ROOT = pathlib.Path(__file__).resolve().parents[2]
#: How long a Celery worker may take to say it is ready (a loaded 2-core machine is slow).
READY_TIMEOUT = 120


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def database_url() -> str:
    db = connection.settings_dict
    return f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


@contextlib.contextmanager
def gunicorn(
    *,
    workers: int = 4,
    threads: int = 1,
    extra_env: dict | None = None,
    settings_module: str = "pipeline.settings",
):
    """The app under gunicorn with ``pipeline/gunicorn.conf.py``; yields the port.

    ``settings_module="tests.benchmarks.bench_settings"`` serves the benchmark-only
    baseline views too (``tests/benchmarks/bench_urls.py``), on the same server."""
    from django.conf import settings

    port = free_port()
    # The same key as this process, so sessions made here are valid on the server.
    env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        # The test run's media folder (tests/conftest.py): an upload stored by the test is
        # read by the worker.
        "MEDIA_ROOT": str(settings.MEDIA_ROOT),
        "SECRET_KEY": settings.SECRET_KEY,
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "WEB_CONCURRENCY": str(workers),
        "GUNICORN_THREADS": str(threads),
        "LOG_LEVEL": "WARNING",
        "STATIC_MANIFEST": "0",  # no collectstatic here: serve static files from the finders
        "DEBUG": "0",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "DJANGO_SETTINGS_MODULE": settings_module,
        **(extra_env or {}),
    }
    process = subprocess.Popen(
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
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        for _ in range(100):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1):
                    break
            except OSError:
                time.sleep(0.2)
        else:
            raise RuntimeError("gunicorn did not start: " + process.stderr.read(4000).decode())
        yield port
    finally:
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()


@contextlib.contextmanager
def celery_worker(
    tag: str,
    *,
    extra_env: dict | None = None,
    concurrency: int = 2,
    queues: tuple[str, ...] | None = None,
):
    """A Celery worker on ``queues`` (default: every queue, ``TASK_QUEUES``) against the
    test database, started as docker-compose starts one (``-O fair``); yields once the
    worker consumes (its "ready" log line)."""
    from django.conf import settings

    env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        # The test run's media folder (tests/conftest.py): an upload stored by the test is
        # read by the worker.
        "MEDIA_ROOT": str(settings.MEDIA_ROOT),
        "SECRET_KEY": settings.SECRET_KEY,
        **(extra_env or {}),
    }
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "pipeline",
            "worker",
            "-l",
            "info",
            "-c",
            str(concurrency),
            "-n",
            f"{tag}@%h",
            "-Q",
            ",".join(queues or settings.TASK_QUEUES),
            "-O",
            "fair",
            "--without-gossip",
            "--without-mingle",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    ready = threading.Event()

    def drain() -> None:  # the log goes nowhere, once the worker said it is ready
        for line in process.stderr or ():
            if " ready." in line:
                ready.set()

    threading.Thread(target=drain, daemon=True).start()
    if not ready.wait(READY_TIMEOUT) and process.poll() is not None:
        raise RuntimeError(f"Celery worker {tag} did not start")
    try:
        yield process
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
