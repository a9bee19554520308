"""``manage.py rebuild_campaign_figures``: recompute every campaign's figures from the
tables (after a ``TRUNCATE``, which fires no trigger; docs/architecture.md, "Campaign
figures")."""

from __future__ import annotations

from django.core.management.base import BaseCommand
from django.db import connection

from campaigns import triggers


class Command(BaseCommand):
    help = (
        "Recompute every campaign's actual cost, leads and MQLs from the tables, putting "
        "back any missing trigger. Safe to run again."
    )

    def handle(self, *args, **options):
        if not triggers.ensure(connection):
            triggers.rebuild()
        self.stdout.write(self.style.SUCCESS("Campaign figures rebuilt."))
