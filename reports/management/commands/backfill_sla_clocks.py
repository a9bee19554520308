"""``manage.py backfill_sla_clocks``: fill the SLA figures of rows written before they were
kept (an upgrade from an earlier LeadLoop) or loaded in bulk (an import from another CRM)."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from reports.sla.backfill import backfill_sla_clocks


class Command(BaseCommand):
    help = (
        "Fill empty SLA figures: response due times of open leads, and each assignment's "
        "due time, first response and working-time delays. Safe to run again."
    )

    def add_arguments(self, parser):
        parser.add_argument("--batch", type=int, default=5000, help="rows per write (5000)")

    def handle(self, *args, batch: int, **options):
        updated = backfill_sla_clocks(batch=batch)
        self.stdout.write(self.style.SUCCESS(f"SLA figures filled on {updated} rows."))
