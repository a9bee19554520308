"""Bulk lifecycle actions over a selection of leads (the desk's bulk qualify/disqualify).

Each lead goes through its single-lead service in its own transaction (the services are
``@transaction.atomic`` and lock their row), so one refused lead never undoes the others
and never leaves a half-changed lead behind. Refusals (``ServiceError``) are collected
with their readable message instead of stopping the run.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.models import User

from leads import lifecycle
from pipeline.errors import ServiceError


@dataclass
class BulkResult:
    """What a bulk run did: ids changed, and (id, message) of each refused lead."""

    done: list[int] = field(default_factory=list)
    refused: list[tuple[int, str]] = field(default_factory=list)

    @property
    def total(self) -> int:
        return len(self.done) + len(self.refused)


def _qualify(lead_id: int, actor: User, **kwargs: Any) -> None:
    # No grade: each lead is qualified with its own rule grade (a lead without one is
    # refused by the service with a message saying so).
    lifecycle.lead_qualify(lead=lead_id, actor=actor)


def _disqualify(lead_id: int, actor: User, **kwargs: Any) -> None:
    lifecycle.lead_disqualify(
        lead=lead_id,
        actor=actor,
        reason=kwargs.get("reason", ""),
        reason_code=kwargs.get("reason_code") or None,
    )


#: The bulk actions, by name; each runs one single-lead service call.
BULK_ACTIONS: dict[str, Callable[..., None]] = {
    "qualify": _qualify,
    "disqualify": _disqualify,
}


def bulk_apply(
    *, action: str, lead_ids: Iterable[int], actor: User | None, **kwargs: Any
) -> BulkResult:
    """Run ``action`` on every lead of ``lead_ids`` (in the given order, duplicates once).

    ``kwargs`` are passed to the action (``reason_code`` and ``reason`` for disqualify).
    Raises ``ValueError`` for an unknown action; every other refusal is in ``refused``.
    """
    try:
        run = BULK_ACTIONS[action]
    except KeyError:
        raise ValueError(f"Unknown bulk action {action!r}") from None
    result = BulkResult()
    for lead_id in dict.fromkeys(lead_ids):
        try:
            run(lead_id, actor, **kwargs)
        except ServiceError as error:
            result.refused.append((lead_id, error.message))
        else:
            result.done.append(lead_id)
    return result
