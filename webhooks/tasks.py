from __future__ import annotations

import logging

from celery import shared_task

from pipeline.queue import BROKER_ERRORS, enqueue
from webhooks.services import deliveries_due, delivery_attempt

logger = logging.getLogger(__name__)

#: A retry further away than this is left to the sweep (a countdown longer than the
#: broker's visibility timeout would be redelivered early anyway).
MAX_COUNTDOWN_SECONDS = 3600


@shared_task(acks_late=True)
def deliver_task(delivery_id: int) -> str | None:
    """Send one delivery once (the claim makes a second run a no-op); a failure is retried
    with a Celery countdown when a worker runs it, else by ``sweep_deliveries_task``."""
    result = delivery_attempt(delivery_id=delivery_id)
    if result is None:
        return None
    eager = deliver_task.app.conf.task_always_eager
    if result.retry_in is not None and not eager and result.retry_in <= MAX_COUNTDOWN_SECONDS:
        try:
            deliver_task.apply_async((delivery_id,), countdown=result.retry_in)
        except BROKER_ERRORS:
            logger.warning(
                "Could not schedule the retry of delivery %s; the sweep will", delivery_id
            )
    return str(result.status)


@shared_task(acks_late=True)
def sweep_deliveries_task() -> int:
    """Beat: queue every delivery that is due (first tries a broker outage skipped,
    retries, and claims a dead worker left). Idempotent: the claim dedups."""
    due = deliveries_due()
    for delivery_id in due:
        enqueue(deliver_task, delivery_id)
    return len(due)
