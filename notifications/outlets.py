"""Where a notification event goes besides the people it is addressed to.

The notification service decides who is told what (docs/architecture.md, notifications);
it publishes one :class:`Occurrence` per event here, and every connected outlet (the chat
robots of ``webhooks``, for one) takes it from there. Outlets connect in their
``AppConfig.ready()``, so this module imports nothing of the project and the notification
service never imports a transport.

An outlet is called inside the transaction that recorded the event; it must only write its
own rows and defer any network work to ``transaction.on_commit`` (a worker task).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class Occurrence:
    """One event, as the outlets see it.

    ``render(language)`` gives the message text in a language code (``en``, ``zh-hans``);
    ``team_id`` is the team the event concerns (the lead's owner's team, or the recipient's),
    ``None`` when it concerns no team; ``mention_user_ids`` are the recipients who asked for
    this kind of event to reach their team's robot too.
    """

    event: str
    at: datetime
    render: Callable[[str], str]
    lead_id: int | None = None
    team_id: int | None = None
    mention_user_ids: tuple[int, ...] = field(default_factory=tuple)


Outlet = Callable[[Occurrence], object]

_outlets: list[Outlet] = []


def connect(outlet: Outlet) -> None:
    """Add an outlet (idempotent)."""
    if outlet not in _outlets:
        _outlets.append(outlet)


def disconnect(outlet: Outlet) -> None:
    if outlet in _outlets:
        _outlets.remove(outlet)


def publish(occurrence: Occurrence) -> None:
    """Hand the occurrence to every connected outlet, in connection order."""
    for outlet in list(_outlets):
        outlet(occurrence)
