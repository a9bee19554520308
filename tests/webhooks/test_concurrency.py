"""Two workers race for one delivery (a redelivered task and the sweep): the conditional
UPDATE claim lets exactly one of them send it."""

from __future__ import annotations

import pytest

from tests.parallel import race
from tests.webhooks.world import occurrence
from webhooks import services
from webhooks.choices import DeliveryStatus
from webhooks.models import Delivery

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_two_workers_send_one_delivery_once(make_hook, receiver, monkeypatch):
    make_hook("generic")
    # Committed at once (autocommit); its own task is not run, the racers below are.
    monkeypatch.setattr(services, "enqueue_on_commit", lambda *args: None)
    deliveries = services.occurrence_record(occurrence())
    assert len(deliveries) == 1
    delivery_id = deliveries[0].pk

    results = race([lambda: services.delivery_attempt(delivery_id=delivery_id)] * 4)

    sent = [result for result in results if result is not None]
    assert not [result for result in results if isinstance(result, Exception)], results
    assert len(sent) == 1 and sent[0].status == DeliveryStatus.SENT
    assert len(receiver.of("generic")) == 1
    delivery = Delivery.objects.get(pk=delivery_id)
    assert delivery.attempts == 1 and delivery.attempt_log.count() == 1
