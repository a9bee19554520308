from __future__ import annotations

import pytest

from notifications.outlets import publish
from tests.factories import UserFactory
from tests.webhooks import receiver as receiver_module
from tests.webhooks.world import SECRETS, occurrence
from webhooks import services


@pytest.fixture
def receiver(settings):
    """The local platforms' stand-in; private networks allowed so 127.0.0.1 is reachable."""
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = True
    receiver, server, thread = receiver_module.start()
    receiver.secrets.update(SECRETS)
    yield receiver
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


@pytest.fixture
def admin(db):
    return UserFactory(username="root", is_superuser=True, is_staff=True)


@pytest.fixture
def make_hook(admin, receiver):
    def make(kind: str, **overrides):
        values = {
            "name": f"{kind} robot",
            "kind": kind,
            "url": receiver.url(kind),
            "secret": SECRETS.get(kind, ""),
            "events": ["lead_assigned", "sla_escalation"],
            "language": "en",
        }
        values.update(overrides)
        return services.webhook_save(actor=admin, **values)

    return make


@pytest.fixture
def send(django_capture_on_commit_callbacks):
    """Publish an occurrence as the notification service does, and run what is queued
    after the commit (the delivery tasks, eagerly)."""

    def send_one(**overrides):
        with django_capture_on_commit_callbacks(execute=True):
            publish(occurrence(**overrides))

    return send_one
