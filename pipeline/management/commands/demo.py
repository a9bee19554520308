"""``manage.py demo``: seed the demo world once, then print the demo logins.

Used by ``./scripts/dev demo`` before it starts the server, so running the demo again keeps
the data already there (and anything changed in it) instead of failing or re-seeding.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser

from leads.demo.data import DEMO_PASSWORD, DEMO_USERS
from leads.demo.world import existing_demo_data


class Command(BaseCommand):
    help = (
        "Seed the demo data with seed_demo if the database has none yet, then print the demo "
        "logins. Never deletes anything (use seed_demo --flush to start over)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--leads", type=int, default=None, help="leads to seed on a fresh database"
        )

    def handle(self, *args, **options) -> None:
        found = existing_demo_data()
        if not found:
            seed_options = {} if options["leads"] is None else {"leads": options["leads"]}
            call_command("seed_demo", stdout=self.stdout, stderr=self.stderr, **seed_options)
            return

        listed = ", ".join(f"{count:,} {name}" for name, count in found.items())
        self.stdout.write(f"The database already holds data ({listed}); not seeding again.")
        existing = set(
            get_user_model()
            .objects.filter(username__in=[row[0] for row in DEMO_USERS], is_active=True)
            .values_list("username", flat=True)
        )
        if not existing:
            self.stdout.write(
                self.style.WARNING(
                    "No demo users in this database. Run `manage.py seed_demo --flush` to "
                    "replace its data with the demo world (this deletes every lead)."
                )
            )
            return
        rows = [
            (username, "superuser" if superuser else ", ".join(roles))
            for username, _first, _last, roles, superuser in DEMO_USERS
            if username in existing
        ]
        width = max(len(username) for username, _ in rows)
        self.stdout.write("")
        self.stdout.write(f"Demo logins (password “{DEMO_PASSWORD}” unless changed since):")
        for username, role in rows:
            self.stdout.write(f"  {username.ljust(width)}  {role}")
