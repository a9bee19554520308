"""Side effects by subscription: every announcement of the lifecycle core has a
subscriber, runs after the commit (or, for derived data, inside the transaction), and
nothing runs for a change that was rolled back."""

from __future__ import annotations

import pathlib
import re

import pytest
from django.db import transaction
from django.test import TestCase

from leads import lifecycle
from leads.lifecycle.announcements import (
    AFTER_COMMIT,
    IN_TRANSACTION,
    Announcement,
    announce,
    subscribe,
    subscriptions,
    unsubscribe,
)
from pipeline.queue import task_named

ROOT = pathlib.Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("announcement", list(Announcement))
def test_every_announcement_has_a_subscriber(announcement):
    assert subscriptions()[announcement], f"nobody listens to {announcement.value}"


def test_the_core_imports_no_app_above_it():
    """The lifecycle announces; it never imports scoring, routing or notifications."""
    forbidden = re.compile(
        r"^\s*(from|import) (scoring|assignment\.(services|tasks|views|api)|leads\.(tasks|"
        r"notifications|imports|actions|views|api)|reports\.(views|api|selectors))",
        re.M,
    )
    for path in (ROOT / "leads" / "lifecycle").glob("*.py"):
        assert not forbidden.search(path.read_text()), path.name


def test_every_task_a_service_enqueues_by_name_exists():
    names = set()
    # The project's own packages only: not tests, nor any virtualenv (CI's is .ci-venv,
    # tens of thousands of files) or other dot-folder.
    packages = [
        folder
        for folder in ROOT.iterdir()
        if (folder / "__init__.py").is_file() and folder.name != "tests"
    ]
    for path in (path for folder in packages for path in folder.rglob("*.py")):
        names |= set(re.findall(r"enqueue(?:_on_commit)?\(\s*\"([\w.]+)\"", path.read_text()))
    assert names, "no task is enqueued by name: the check would prove nothing"
    for name in names:
        assert task_named(name).name == name


@pytest.mark.django_db
def test_after_commit_subscribers_wait_for_the_commit_and_skip_a_rollback():
    heard = []

    def listener(*, lead_id: int) -> None:
        heard.append(lead_id)

    subscribe(Announcement.QUALIFIED, listener)
    try:
        with TestCase.captureOnCommitCallbacks(execute=True), transaction.atomic():
            announce(Announcement.QUALIFIED, lead_id=1)
            assert heard == []  # not before the commit
        assert heard == [1]
        with TestCase.captureOnCommitCallbacks(execute=True):
            try:
                with transaction.atomic():
                    announce(Announcement.QUALIFIED, lead_id=2)
                    raise RuntimeError("roll back")
            except RuntimeError:
                pass
        assert heard == [1]  # a rolled-back change announced nothing
    finally:
        unsubscribe(Announcement.QUALIFIED, listener)


def test_credits_and_scores_are_written_in_the_transaction_and_side_effects_after_it():
    moments = {
        (a, s.moment)
        for a, subs in lifecycle.subscriptions().items()
        for s in subs
        if s.subscriber.__module__ == "leads.subscribers" and "credit" in s.subscriber.__name__
    }
    assert moments == {
        (Announcement.TOUCHES_CHANGED, IN_TRANSACTION),
        (Announcement.ACCEPTED, IN_TRANSACTION),
    }
    # The score and rule grade commit with the lead (DESIGN §5).
    scoring = {
        (a, s.moment) for a, subs in subscriptions().items() for s in subs
        if s.subscriber.__module__ == "scoring.subscribers"
    }  # fmt: skip
    assert scoring == {
        (Announcement.ARRIVED, IN_TRANSACTION),
        (Announcement.RETURNED, IN_TRANSACTION),
        (Announcement.CHANGED, IN_TRANSACTION),
    }
    # Routing's subscriber runs in the transaction only to see whether a bulk path routes
    # the lead as part of a set (assignment.bulk.routed_as_a_set); its side effect, the
    # queued task, still waits for the commit (test below).
    in_transaction_ok = {"assignment.subscribers"}
    for announcement, subs in subscriptions().items():
        for sub in subs:
            module = sub.subscriber.__module__
            if module not in {"leads.subscribers", "scoring.subscribers"} | in_transaction_ok:
                assert sub.moment == AFTER_COMMIT, (announcement, sub.name)


@pytest.mark.django_db
def test_routing_is_queued_only_after_the_commit(
    settings, monkeypatch, django_capture_on_commit_callbacks
):
    from assignment import subscribers

    settings.AUTO_ASSIGN = True
    queued = []
    monkeypatch.setattr("pipeline.queue.enqueue", lambda *args, **kw: queued.append(args))
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        subscribers.route_qualified(lead_id=1)
        transaction.set_rollback(True)
    assert queued == []  # rolled back: nothing queued
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        subscribers.route_qualified(lead_id=2)
        assert queued == []  # not before the commit
    assert [args[1:] for args in queued] == [(2,)]
