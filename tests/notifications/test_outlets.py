from datetime import UTC, datetime

import pytest

from notifications import outlets

# The webhooks app's outlet is connected at start-up and reads the hooks of each event.
pytestmark = pytest.mark.django_db


def test_publish_reaches_each_connected_outlet_once_in_order():
    seen: list[tuple[str, str, str]] = []

    def first(occurrence: outlets.Occurrence) -> None:
        seen.append(("first", occurrence.event, occurrence.render("zh-hans")))

    def second(occurrence: outlets.Occurrence) -> None:
        seen.append(("second", occurrence.event, occurrence.render("en")))

    outlets.connect(first)
    outlets.connect(second)
    outlets.connect(first)  # idempotent
    try:
        outlets.publish(
            outlets.Occurrence(
                event="lead_assigned",
                at=datetime(2026, 12, 2, tzinfo=UTC),
                render=lambda language: {"en": "New lead", "zh-hans": "新线索"}[language],
                lead_id=7,
            )
        )
    finally:
        outlets.disconnect(first)
        outlets.disconnect(second)
    outlets.publish(
        outlets.Occurrence(event="lead_assigned", at=datetime(2026, 12, 2, tzinfo=UTC), render=str)
    )
    assert seen == [("first", "lead_assigned", "新线索"), ("second", "lead_assigned", "New lead")]
