"""``manage.py rebuild_rollups``: recompute the daily report rollups of every day (after an
upgrade, a bulk load that bypassed the application, or a change of the attribution rules)."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from pipeline.queue import enqueue
from reports.rollups.build import rebuild_rollups
from reports.rollups.marks import REBUILD_TASK


class Command(BaseCommand):
    help = (
        "Recompute the daily report rollups of every day from the first lead's to today. "
        "Until it has run once, the reports answer live. Safe to run again."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--queue", action="store_true", help="queue the rebuild on the reports queue"
        )

    def handle(self, *args, queue: bool, **options):
        if queue:
            queued = enqueue(REBUILD_TASK)
            self.stdout.write("Rebuild queued." if queued else "Could not queue the rebuild.")
            return
        days = rebuild_rollups()
        self.stdout.write(self.style.SUCCESS(f"Rollups rebuilt: {days} days."))
