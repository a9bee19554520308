"""The email task raced by real parallel workers on PostgreSQL: each notification is
claimed (``emailed_at``) before its email goes, so a redelivered task sends nothing twice."""

from __future__ import annotations

import pytest

from notifications.choices import Event
from notifications.models import Notification
from notifications.services import send_emails
from tests.factories import UserFactory
from tests.parallel import race

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def test_two_workers_sending_the_same_emails_send_each_once(mailoutbox):
    users = [UserFactory() for _ in range(6)]
    rows = Notification.objects.bulk_create(
        Notification(user=user, event=Event.REPORT_READY, text="Ready") for user in users
    )
    ids = [row.pk for row in rows]

    results = race([lambda: send_emails(notification_ids=ids) for _ in range(3)])

    assert not [r for r in results if isinstance(r, Exception)], results
    assert sum(results) == 6  # type: ignore[arg-type]
    assert sorted(m.to[0] for m in mailoutbox) == sorted(u.email for u in users)
    assert Notification.objects.filter(emailed_at__isnull=True).count() == 0
