"""After ``test_shared_world.py``'s module (pytest runs files in name order), its world is
rolled back."""

from __future__ import annotations

import pytest

from campaigns.models import Channel

pytestmark = pytest.mark.django_db


def test_the_shared_world_of_the_module_before_is_gone():
    assert not Channel.objects.filter(code="shared-world").exists()
