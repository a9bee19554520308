"""Enqueueing that never breaks the request that asked for it."""

from __future__ import annotations

import logging

from django.db import transaction
from kombu.exceptions import KombuError
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

BROKER_ERRORS = (KombuError, RedisError, OSError)


def enqueue(task, *args) -> bool:
    """``task.delay(*args)``; if the broker is unreachable, log and return False.

    The data is already committed; periodic sweeps redo what was not queued, so a broker
    outage delays side effects but never loses a lead or fails the request.
    """
    try:
        task.delay(*args)
    except BROKER_ERRORS:
        logger.exception("Could not queue %s%r; the sweep will pick it up", task.name, args)
        return False
    return True


def enqueue_on_commit(task, *args) -> None:
    transaction.on_commit(lambda: enqueue(task, *args))
