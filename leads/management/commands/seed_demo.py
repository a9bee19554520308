"""``manage.py seed_demo``: a deterministic, realistic demo world (demo databases only)."""

from __future__ import annotations

import datetime as dt

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db.models import ProtectedError
from django.utils import timezone

from leads.demo.data import DEMO_PASSWORD, DEMO_TEAMS, DEMO_USERS
from leads.demo.seed import DemoDataExists, Progress, seed_demo


def positive_int(value: str) -> int:
    number = int(value)
    if number < 1:
        raise ValueError(value)
    return number


def non_negative_int(value: str) -> int:
    number = int(value)
    if number < 0:
        raise ValueError(value)
    return number


class Command(BaseCommand):
    help = (
        "Fill the database with a deterministic demo world: users for every role "
        f"({', '.join(user[0] for user in DEMO_USERS)}; password “{DEMO_PASSWORD}”, "
        "listed at the end), three sales teams with routing rules, campaigns with costs on "
        "every channel, companies, and leads in every stage with touches, events, "
        "follow-ups and assignment decisions over the last twelve months. The same --seed, "
        "--leads and --today give the same data. Without --flush the command refuses to "
        "run when the database already holds leads, companies, campaigns, the demo teams "
        "or the demo users (it never tops up); --flush first DELETES ALL leads (with their "
        "touches, events, follow-ups …), imports, companies and campaigns — not only demo "
        "ones — plus the demo teams, their rules and the demo users. Channels, role "
        "groups and other users stay. For demo and benchmark databases only."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--leads", type=non_negative_int, default=2000, help="number of leads (default 2000)"
        )
        parser.add_argument(
            "--seed", type=non_negative_int, default=42, help="random seed (default 42)"
        )
        parser.add_argument(
            "--flush",
            action="store_true",
            help="delete every lead, company, campaign and the demo teams and users first "
            "(channels and role groups stay)",
        )
        parser.add_argument(
            "--batch-size",
            type=positive_int,
            default=5000,
            help="leads simulated and inserted per transaction (default 5000)",
        )
        parser.add_argument(
            "--today",
            type=dt.date.fromisoformat,
            default=None,
            help="date the demo year ends on, YYYY-MM-DD (default: today); "
            "fixes the data across days",
        )

    def handle(self, *args, **options) -> None:
        today = options["today"] or timezone.localdate()
        if today > timezone.localdate():
            raise CommandError("--today cannot be in the future.")
        total = options["leads"]
        self.stdout.write(
            f"Seeding {total:,} demo leads (seed {options['seed']}, year ending {today})…"
        )
        try:
            result = seed_demo(
                leads=total,
                seed=options["seed"],
                flush=options["flush"],
                batch_size=options["batch_size"],
                today=today,
                progress=self._progress,
            )
        except DemoDataExists as exc:
            raise CommandError(
                f"{exc} Run again with --flush to replace it with a fresh demo world "
                "(this deletes every lead, company and campaign)."
            ) from exc
        except ProtectedError as exc:
            kinds = sorted({obj._meta.verbose_name_plural for obj in exc.protected_objects})
            raise CommandError(
                "--flush cannot delete the previous data: "
                f"{', '.join(map(str, kinds))} still refer to it. Delete those first."
            ) from exc

        if result.flushed:
            removed = ", ".join(f"{count:,} {name}" for name, count in result.flushed.items())
            self.stdout.write(f"Flushed previous data: {removed}.")
        stages = ", ".join(f"{stage} {count:,}" for stage, count in result.stages.items())
        self.stdout.write(
            f"{result.leads:,} leads, {result.campaigns} campaigns, {result.companies:,} "
            f"companies in {result.seconds:.1f} s ({stages})."
        )
        self._users_table()
        self.stdout.write(self.style.SUCCESS("Demo world ready."))

    def _progress(self, progress: Progress) -> None:
        percent = progress.done * 100 // progress.total if progress.total else 100
        self.stdout.write(
            f"leads {progress.done:,}/{progress.total:,} ({percent}%) — "
            f"{progress.rate:,.0f} leads/s"
        )

    def _users_table(self) -> None:
        teams = {member[0]: name for name, _, members, _ in DEMO_TEAMS for member in members} | {
            manager: name for name, manager, _, _ in DEMO_TEAMS
        }
        rows = [("username", "name", "role", "team", "password")]
        for username, first, last, roles, superuser in DEMO_USERS:
            role = "superuser (staff)" if superuser else ", ".join(roles)
            name = f"{last}{first}" if first and ord(first[0]) > 0x2E80 else f"{first} {last}"
            rows.append((username, name, role, teams.get(username, ""), DEMO_PASSWORD))
        widths = [max(_width(row[i]) for row in rows) for i in range(len(rows[0]))]
        self.stdout.write("")
        self.stdout.write("Demo users (demo only — change or delete them on a real system):")
        for position, row in enumerate(rows):
            cells = [
                cell + " " * (width - _width(cell)) for cell, width in zip(row, widths, strict=True)
            ]
            self.stdout.write("  " + "  ".join(cells).rstrip())
            if position == 0:
                self.stdout.write("  " + "  ".join("-" * width for width in widths))


def _width(text: str) -> int:
    """Display width: CJK characters take two columns in a terminal."""
    return sum(2 if ord(char) > 0x2E80 else 1 for char in text)
