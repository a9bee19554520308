"""``tests.worlds.shared_world``: a world built once per module, each test's changes undone
after it (the world after the module: ``test_shared_world_after.py`` finds none of it)."""

from __future__ import annotations

import pytest
from django.conf import settings

from campaigns.models import Channel
from tests.worlds import shared_world

pytestmark = pytest.mark.django_db

BUILT: list[int] = []


def _build() -> int:
    BUILT.append(1)
    return Channel.objects.create(code="shared-world", name="Shared world", kind="online").pk


channel = shared_world(_build)


def test_a_test_changes_the_world(channel):
    Channel.objects.filter(pk=channel).delete()
    assert not Channel.objects.filter(pk=channel).exists()


def test_the_next_test_finds_it_whole_and_it_was_built_once(channel):
    assert Channel.objects.filter(pk=channel, code="shared-world").exists()
    assert len(BUILT) == 1


def test_it_was_built_with_the_test_settings(channel):
    assert settings.PASSWORD_HASHERS == ["django.contrib.auth.hashers.MD5PasswordHasher"]
