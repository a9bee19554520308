"""Migration 0011: existing follow-ups get ``recorded_at`` = ``created_at``; closed leads
lose their ``next_follow_up_at``."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

BEFORE = [("leads", "0010_capture_consent_idempotency_key")]
AFTER = [("leads", "0011_follow_up_recorded_at_closed_no_next")]


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_migration_fills_recorded_at_and_clears_next_follow_up_on_closed_leads():
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    old = executor.loader.project_state(BEFORE).apps
    User = old.get_model("auth", "User")
    Lead = old.get_model("leads", "Lead")
    FollowUp = old.get_model("leads", "FollowUp")
    rep = User.objects.create(username="old-rep")
    soon = timezone.now() + dt.timedelta(days=3)
    now = timezone.now()

    def lead(name: str, stage: str, **fields):
        return Lead.objects.create(
            name=name,
            stage=stage,
            next_follow_up_at=soon,
            created_at=now,
            updated_at=now,
            mql_at=now,
            **fields,
        )

    won = lead("Won", "won", won_amount=100, signed_at=now.date(), won_at=now, owner=rep)
    lost, open_ = lead("Lost", "lost", owner=rep), lead("Open", "sql", owner=rep)
    at = timezone.now() - dt.timedelta(days=40)
    follow_up = FollowUp.objects.create(lead=open_, author=rep, at=at, method="call")
    created = timezone.now() - dt.timedelta(days=39)
    FollowUp.objects.filter(pk=follow_up.pk).update(created_at=created)

    executor = MigrationExecutor(connection)
    executor.migrate(AFTER)
    new = executor.loader.project_state(AFTER).apps
    assert new.get_model("leads", "FollowUp").objects.get(pk=follow_up.pk).recorded_at == created
    leads = new.get_model("leads", "Lead").objects
    assert leads.get(pk=won.pk).next_follow_up_at is None
    assert leads.get(pk=lost.pk).next_follow_up_at is None
    assert leads.get(pk=open_.pk).next_follow_up_at == soon

    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())
    ContentType.objects.clear_cache()  # the next transactional test recreates them
