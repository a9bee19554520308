import pytest

from leads.choices import Stage
from tests.factories import lead_in_stage


@pytest.mark.django_db
@pytest.mark.parametrize("stage", [s.value for s in Stage])
def test_lead_in_stage_builds_every_stage(stage, rep):
    lead = lead_in_stage(stage, owner=rep)
    lead.refresh_from_db()
    assert lead.stage == stage
