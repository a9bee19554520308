"""Emails of the SLA jobs: one message per recipient, however many leads it lists."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.mail import send_mail

from pipeline.text import email_subject


def mail_many(messages: dict[int, tuple[str, list[str]]]) -> None:
    """One email per recipient: the recipients are read in one query."""
    if not messages:
        return
    users = get_user_model().objects.filter(pk__in=list(messages), is_active=True).in_bulk()
    for user_id, (subject, lines) in messages.items():
        user = users.get(user_id)
        if user is not None and user.email:
            send_mail(email_subject(subject), "\n".join(lines[:MAIL_LINES]), None, [user.email])


#: An email lists at most this many leads; its subject carries the full count.
MAIL_LINES = 200


def mail(user_id: int, subject: str, lines: list[str]) -> None:
    mail_many({user_id: (subject, lines)})
