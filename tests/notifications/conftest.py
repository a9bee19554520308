from __future__ import annotations

import pytest

from notifications import outlets
from notifications.models import UserSettings


@pytest.fixture
def published():
    """Every Occurrence published while the test runs."""
    seen: list[outlets.Occurrence] = []
    outlets.connect(seen.append)
    yield seen
    outlets.disconnect(seen.append)


@pytest.fixture
def chinese():
    """Make a user read LeadLoop in Simplified Chinese."""

    def make(user, **channels):
        return UserSettings.objects.update_or_create(
            user=user, defaults={"language": "zh-hans", "channels": channels}
        )[0]

    return make


@pytest.fixture
def on_commit(django_capture_on_commit_callbacks):
    """Run the after-commit work (subscribers, the email task) of the block."""
    return lambda: django_capture_on_commit_callbacks(execute=True)
