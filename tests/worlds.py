"""Settings every test runs with, and worlds built once for the tests of a module.

A test's own database work is rolled back after it (``django_db``: a transaction per
test). A world that many tests only read — a seeded demo year, a random report world — can
instead be built once: ``shared_world(build)`` makes a module-scoped fixture that builds it
inside an outer transaction, and each test's transaction nests in it as a savepoint, so what
a test changes is still undone after that test, and the world itself is undone after the
module's last test. As with a per-test world, nothing commits: ``on_commit`` callbacks of
the build do not run (``captureOnCommitCallbacks`` inside ``build`` runs them, as in a test).

A module that uses ``shared_world`` must hold only tests that can live with its world in
the database: a test that needs an empty database belongs in another module (the fixture
lives until the module ends, even for tests that do not ask for it).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.db import transaction
from django.test import override_settings


def settings_for_tests(media_root: Path) -> dict[str, Any]:
    """The settings every test runs with (``tests/conftest.py`` applies them per test)."""
    return {
        "AUTO_ASSIGN": False,
        "MEDIA_ROOT": media_root,
        # Real hashing costs ~0.3 s per user; tests create many users.
        "PASSWORD_HASHERS": ["django.contrib.auth.hashers.MD5PasswordHasher"],
        "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
        "CELERY_TASK_ALWAYS_EAGER": True,
        "STORAGES": {
            **django_settings.STORAGES,
            "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
        },
        # Static files straight from the apps (no collectstatic), whatever DATABASE_URL says,
        # looked up when asked for: WhiteNoise otherwise lists and stats every static file
        # each time a handler is built, and the test client builds one per client (a tenth
        # of the suite's time went there).
        "WHITENOISE_USE_FINDERS": True,
        "WHITENOISE_AUTOREFRESH": True,
    }


def seeds_for_this_database(seeds: tuple[int, ...]) -> tuple[int, ...]:
    """Half of a property test's random seeds: the even-placed ones on PostgreSQL, the others
    on SQLite. CI runs the suite on both databases, so every seed runs there; one local run
    costs half. (Read at collection: the database is the one ``DATABASE_URL`` configures.)"""
    on_postgres = django_settings.DATABASES["default"]["ENGINE"].endswith("postgresql")
    return seeds[::2] if on_postgres else seeds[1::2]


@contextmanager
def _rolled_back() -> Iterator[None]:
    with transaction.atomic():
        try:
            yield
        finally:
            transaction.set_rollback(True)


def shared_world(build: Callable[[], Any]) -> Any:
    """A module-scoped fixture whose value is ``build()``, run once in a transaction that
    is rolled back after the module's tests (see the module docstring)."""

    @pytest.fixture(scope="module")
    def world(django_db_setup, django_db_blocker, _media_root):
        from django.core.cache import cache

        with (
            django_db_blocker.unblock(),
            override_settings(**settings_for_tests(_media_root)),
            _rolled_back(),
        ):
            cache.clear()
            yield build()
        cache.clear()

    return world
