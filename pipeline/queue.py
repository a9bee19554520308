"""Enqueueing background tasks so that a broker outage never breaks, nor slows down, the
request that asked for them (a circuit breaker in front of Celery's publish)."""

from __future__ import annotations

import logging
import time
from typing import Protocol

from django.conf import settings
from django.db import transaction
from kombu.exceptions import KombuError
from redis.exceptions import RedisError

from pipeline.celery import app as celery_app

logger = logging.getLogger(__name__)

BROKER_ERRORS = (KombuError, RedisError, OSError)


class CircuitBreaker:
    """After a failure, skip a dependency for ``REDIS_BREAKER_SECONDS`` (in this process).

    While Redis is down every attempt to reach it costs a connection attempt (milliseconds
    when the port is closed, up to the connect timeout when the host does not answer), and
    a web request may make several. Once one attempt failed, the next ones are skipped
    until the cool-down has passed; then one request tries again (half-open) and either
    closes the breaker or trips it for another cool-down. A race between threads costs at
    most one extra attempt, so no lock.
    """

    def __init__(self, name: str):
        self.name = name
        self._open_until = 0.0

    def allows(self) -> bool:
        return time.monotonic() >= self._open_until

    def trip(self) -> bool:
        """Open for the cool-down; True if it was closed (worth a full log line)."""
        was_closed = self._open_until == 0.0
        self._open_until = time.monotonic() + settings.REDIS_BREAKER_SECONDS
        return was_closed

    def reset(self) -> None:
        if self._open_until:
            logger.warning("%s reachable again", self.name)
        self._open_until = 0.0


class _Config(Protocol):
    @property
    def task_always_eager(self) -> bool: ...


class _App(Protocol):
    @property
    def conf(self) -> _Config: ...


class Task(Protocol):
    """What ``enqueue`` uses of a Celery task (Celery ships no type information)."""

    @property
    def name(self) -> str: ...

    @property
    def app(self) -> _App: ...

    def delay(self, *args: object) -> object: ...

    def apply_async(
        self, args: tuple[object, ...], countdown: float | None, queue: str | None
    ) -> object: ...


#: The Celery broker, as seen from this process.
broker_breaker = CircuitBreaker("Celery broker")


def task_named(name: str) -> Task:
    """The registered Celery task called ``name`` (``"scoring.tasks.rescore_job_task"``).

    Services enqueue their own background work by name: a task module imports the service
    it wraps, so the service cannot import the task module back (that would be an import
    cycle). Every name used is checked against the registry by a test.
    """
    task: Task = celery_app.tasks[name]
    return task


def enqueue(
    task: Task | str, *args: object, countdown: float | None = None, queue: str | None = None
) -> bool:
    """``task.delay(*args)``; if the broker is unreachable, log and return False.

    ``task`` is a task, or its registered name (see ``task_named``). With ``countdown``,
    a worker runs it that many seconds later (eager tasks run at once). ``queue``
    overrides the task's route (``CELERY_TASK_ROUTES``) for this one message: a bulk path
    sends a task that is realtime for one lead to ``bulk``.

    The data is already committed; periodic sweeps redo what was not queued, so a broker
    outage delays side effects but never loses a lead or fails the request. Publishing
    never retries (``CELERY_TASK_PUBLISH_RETRY``, ``max_retries`` 0 in the transport
    options), and after a failure the broker is skipped for ``REDIS_BREAKER_SECONDS``, so a
    request costs milliseconds while Redis is down.
    """
    if isinstance(task, str):
        task = task_named(task)
    eager = task.app.conf.task_always_eager  # no broker: run inline, nothing to break
    if not eager and not broker_breaker.allows():
        logger.info("Broker skipped (recent failure): %s%r left to the sweep", task.name, args)
        return False
    try:
        if countdown is None and queue is None:
            task.delay(*args)
        else:
            task.apply_async(args=args, countdown=countdown, queue=queue)
    except BROKER_ERRORS:
        if eager:
            logger.exception("Task %s%r failed; the sweep will redo it", task.name, args)
        elif broker_breaker.trip():
            logger.exception("Could not queue %s%r; the sweep will pick it up", task.name, args)
        else:
            logger.warning("Could not queue %s%r; the sweep will pick it up", task.name, args)
        return False
    if not eager:
        broker_breaker.reset()
    return True


def enqueue_on_commit(
    task: Task | str, *args: object, countdown: float | None = None, queue: str | None = None
) -> None:
    """``enqueue`` once the current transaction commits (nothing if it rolls back)."""
    transaction.on_commit(lambda: enqueue(task, *args, countdown=countdown, queue=queue))
