"""What the lifecycle announces, and who listens: side effects by subscription.

The lifecycle core changes leads and says what happened (``announce``); it never imports
the apps that react. Scoring, routing, notifications and attribution subscribe in their
``AppConfig.ready()`` (``subscribe``), so dependencies point down: the core knows no app
above it. The table of announcements and their subscribers is in
``docs/architecture.md``; a test compares it with the live registry and fails when an
announcement has no subscriber.

Two moments:

- ``AFTER_COMMIT`` (the default): side effects — queueing a task, sending a message. They
  run once the transaction that announced them commits (``transaction.on_commit``), so a
  rolled-back change announces nothing, and a failing subscriber never undoes the change.
  Subscribers enqueue with ``pipeline.queue.enqueue``, which survives a broker outage
  (the owning app's sweep redoes what was not queued).
- ``IN_TRANSACTION``: derived data that must commit together with the change (attribution
  credits of touches). They run at once, inside the announcing transaction; an error
  rolls the change back.

Payloads are plain values (ids, flags), never model instances — except the new lead that
``ARRIVED`` hands to in-transaction subscribers, the row its transaction is about to
insert: an after-commit subscriber re-reads what it needs.
"""

from __future__ import annotations

import enum
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from django.db import transaction


class Announcement(str, enum.Enum):
    """Something that happened to leads. Payload keys are listed per member."""

    #: A new lead is created by an arrival (capture, page, API, import row), announced
    #: just before its insert. ``lead``: the new row, not inserted yet (no id): an
    #: in-transaction subscriber completes it (scoring: its score, grade and automatic
    #: qualification), and the insert writes it (``lifecycle.arriving``); ``touch_kind``:
    #: the kind of its one first touch.
    ARRIVED = "arrived"
    #: A known person arrived again: a touch was added to their open lead.
    #: ``lead_id``, ``owner_id`` (or None).
    RETURNED = "returned"
    #: The touches of these leads changed (a returning person's touch, touches moved by a
    #: review). A new lead's first touch is written with its credits and announces only
    #: ``ARRIVED``. ``lead_ids``; ``saved`` (optional, False when absent): True when the
    #: touches were saved one by one through the ORM (their model signals were sent), as
    #: a returning person's is, False when they were written set-based.
    TOUCHES_CHANGED = "touches_changed"
    #: An import batch created these leads or added touches to them, written set-based
    #: (scored, credits recomputed, no per-lead announcement). ``lead_ids``.
    IMPORTED = "imported"
    #: Fields that describe the person or their need were edited on an open lead.
    #: ``lead_id``.
    CHANGED = "changed"
    #: new → mql. ``lead_id``, ``bulk`` (True when a bulk path qualified it, e.g. an
    #: import's auto-qualification: its side effects go to the bulk queue).
    QUALIFIED = "qualified"
    #: Sales accepted the lead (mql → sql): ``sql_at`` is set. ``lead_id``.
    ACCEPTED = "accepted"
    #: Leads got an owner (first assignment or reassignment): one lead, or a set assigned
    #: together. ``assignments``: (lead id, owner id, previous owner id or None) each.
    ASSIGNED = "assigned"
    #: Leads went back to the pool. ``pairs``: (lead id, previous owner id) each;
    #: ``reroute``: the rules should route them again at once, never back to that owner
    #: (the SLA's "reassign" final action).
    RECYCLED = "recycled"


Moment = Literal["after_commit", "in_transaction"]
AFTER_COMMIT: Moment = "after_commit"
IN_TRANSACTION: Moment = "in_transaction"

Subscriber = Callable[..., Any]


@dataclass(frozen=True)
class Subscription:
    announcement: Announcement
    subscriber: Subscriber
    moment: Moment

    @property
    def name(self) -> str:
        """``module.function``: how the architecture document names the subscriber."""
        return f"{self.subscriber.__module__}.{self.subscriber.__qualname__}"


_registry: dict[Announcement, list[Subscription]] = defaultdict(list)


def subscribe(
    announcement: Announcement, subscriber: Subscriber, *, moment: Moment = AFTER_COMMIT
) -> None:
    """Call ``subscriber(**payload)`` whenever ``announcement`` is made.

    Idempotent (``ready()`` may run twice in tests); subscribers run in subscription order.
    """
    subscription = Subscription(announcement, subscriber, moment)
    if subscription not in _registry[announcement]:
        _registry[announcement].append(subscription)


def unsubscribe(announcement: Announcement, subscriber: Subscriber) -> None:
    """Stop calling ``subscriber`` (tests that listen for a while)."""
    _registry[announcement] = [s for s in _registry[announcement] if s.subscriber != subscriber]


def subscriptions() -> dict[Announcement, list[Subscription]]:
    """Every announcement with its subscribers (for the docs test and for reading)."""
    return {announcement: list(_registry.get(announcement, ())) for announcement in Announcement}


def announce(announcement: Announcement, **payload: Any) -> None:
    """Tell the subscribers of ``announcement``; the caller is inside the transaction of
    the change (outside one, after-commit subscribers run at once)."""
    for subscription in _registry.get(announcement, ()):
        if subscription.moment == IN_TRANSACTION:
            subscription.subscriber(**payload)
        else:
            transaction.on_commit(_deferred(subscription.subscriber, payload))


def _deferred(subscriber: Subscriber, payload: dict[str, Any]) -> Callable[[], None]:
    return lambda: subscriber(**payload)
