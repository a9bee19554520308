"""Every lifecycle action in every state and for every role (docs/architecture.md §1).

A refused action raises ``ServiceError`` with the right code and changes nothing: the lead
row, its events and follow-ups are compared before and after.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.utils import timezone

from assignment.models import PoolPolicy
from leads import lifecycle
from leads.choices import EventKind, Stage
from leads.models import FollowUp, Lead, LeadEvent
from pipeline.errors import ServiceError
from tests.factories import (
    LeadFactory,
    TeamFactory,
    TeamMembershipFactory,
    UserFactory,
    lead_in_stage,
)

pytestmark = pytest.mark.django_db

STATES = [
    "new", "mql_desk", "mql_owned", "mql_pool", "sql_owned", "sql_pool", "opp_owned",
    "won", "lost", "disqualified",
]  # fmt: skip


def build(state: str, owner) -> Lead:
    """A lead in ``state``; owned states are owned by ``owner``."""
    stage, _, how = state.partition("_")
    stage = {"opp": Stage.OPPORTUNITY}.get(stage, stage)
    if how == "desk":
        return lead_in_stage(Stage.MQL)
    if how == "pool":
        return lead_in_stage(stage, owner=owner, in_pool=True)
    return lead_in_stage(stage, owner=owner)


def snapshot(lead: Lead) -> tuple:
    return (
        Lead.objects.filter(pk=lead.pk).values().get(),
        LeadEvent.objects.filter(lead=lead).count(),
        FollowUp.objects.filter(lead=lead).count(),
    )


def run(action: str, lead: Lead, actor, *, other_owner=None):
    """Call the service for ``action`` with valid arguments."""
    calls = {
        "qualify": lambda: lifecycle.lead_qualify(lead=lead, actor=actor),
        "disqualify": lambda: lifecycle.lead_disqualify(lead=lead, actor=actor, reason="spam"),
        "assign": lambda: lifecycle.lead_assign(lead=lead, actor=actor, owner=other_owner),
        "accept": lambda: lifecycle.lead_accept(lead=lead, actor=actor),
        "reject": lambda: lifecycle.lead_reject(lead=lead, actor=actor, reason="no budget"),
        "recycle": lambda: lifecycle.lead_recycle(lead=lead, actor=actor, reason="not now"),
        "claim": lambda: lifecycle.lead_claim(lead=lead, actor=actor),
        "to_opportunity": lambda: lifecycle.lead_to_opportunity(
            lead=lead, actor=actor, expected_amount="12000"
        ),
        "win": lambda: lifecycle.lead_win(
            lead=lead, actor=actor, amount="9000", signed_at=timezone.localdate()
        ),
        "lose": lambda: lifecycle.lead_lose(lead=lead, actor=actor, reason="price"),
        "follow_up": lambda: lifecycle.follow_up_log(lead=lead, actor=actor, method="call"),
    }
    return calls[action]()


OK, STAGE, FORBID = "ok", "wrong_stage", "forbidden"
OWNER_ACTION = {  # owner-only actions: unowned leads are refused as "not yours" first
    "new": FORBID, "mql_desk": FORBID, "mql_pool": FORBID, "sql_pool": FORBID,
    "disqualified": FORBID, "won": STAGE, "lost": STAGE,
}  # fmt: skip


def _owner_action(ok_states: set[str]) -> dict[str, str]:
    return {state: OK if state in ok_states else OWNER_ACTION.get(state, STAGE) for state in STATES}


EXPECTED: dict[str, dict[str, str]] = {
    "qualify": {s: OK if s == "new" else STAGE for s in STATES},
    "disqualify": {
        s: OK if s in {"new", "mql_desk", "mql_owned", "mql_pool"} else STAGE for s in STATES
    },
    "assign": {
        s: OK
        if s in {"mql_desk", "mql_owned", "mql_pool", "sql_owned", "sql_pool", "opp_owned"}
        else STAGE
        for s in STATES
    },
    "accept": _owner_action({"mql_owned"}),
    "reject": _owner_action({"mql_owned"}),
    "recycle": _owner_action({"mql_owned", "sql_owned"}),
    "to_opportunity": _owner_action({"sql_owned"}),
    "win": _owner_action({"sql_owned", "opp_owned"}),
    "lose": _owner_action({"sql_owned", "opp_owned"}),
    "follow_up": _owner_action({"mql_owned", "sql_owned", "opp_owned"}),
    "claim": {s: OK if s in {"mql_pool", "sql_pool"} else STAGE for s in STATES},
}

CASES = [(action, state) for action in EXPECTED for state in STATES]


@pytest.mark.parametrize(("action", "state"), CASES, ids=[f"{a}-{s}" for a, s in CASES])
def test_action_in_every_state(action, state, desk, rep, other_rep):
    lead = build(state, owner=rep)
    actor = {"qualify": desk, "disqualify": desk, "assign": desk, "claim": other_rep}.get(
        action, rep
    )
    before = snapshot(lead)
    expected = EXPECTED[action][state]
    if expected == OK:
        run(action, lead, actor, other_owner=other_rep)
        after = snapshot(lead)
        assert after[1] == before[1] + 1, "exactly one LeadEvent per transition"
        assert after[0] != before[0]
    else:
        with pytest.raises(ServiceError) as refused:
            run(action, lead, actor, other_owner=other_rep)
        assert refused.value.code == expected, refused.value.message
        assert snapshot(lead) == before, "a refused action changes nothing"


@pytest.fixture
def outsider_manager(db):
    team = TeamFactory(name="North")
    TeamMembershipFactory(team=team)
    return team.manager


@pytest.fixture
def superuser(db):
    return UserFactory(username="root", is_superuser=True, is_staff=True)


ACTORS = [
    "marketer", "desk", "owner", "other_rep", "sales_manager", "outsider_manager", "manager",
    "superuser", "system",
]  # fmt: skip
OWNER_SIDE = {"owner", "sales_manager", "superuser"}
ROLE_EXPECTED = {
    # action: (state the lead is in, actors allowed)
    "qualify": ("new", {"desk", "superuser", "system"}),
    "disqualify": ("new", {"desk", "superuser"}),
    "assign": ("mql_owned", {"desk", "sales_manager", "superuser", "system"}),
    "accept": ("mql_owned", OWNER_SIDE),
    "reject": ("mql_owned", OWNER_SIDE),
    "recycle": ("mql_owned", OWNER_SIDE | {"system"}),
    "to_opportunity": ("sql_owned", OWNER_SIDE),
    "win": ("opp_owned", OWNER_SIDE),
    "lose": ("sql_owned", OWNER_SIDE),
    "follow_up": ("sql_owned", OWNER_SIDE),
    # "owner" recycled this lead into the pool, so the re-claim cool-down refuses them.
    "claim": ("mql_pool", {"other_rep", "sales_manager", "outsider_manager", "superuser"}),
}
ROLE_CASES = [(action, who) for action in ROLE_EXPECTED for who in ACTORS]


@pytest.mark.parametrize(("action", "who"), ROLE_CASES, ids=[f"{a}-{w}" for a, w in ROLE_CASES])
def test_action_for_every_role(
    action, who, marketer, desk, rep, other_rep, sales_manager, outsider_manager, manager,
    superuser,
):  # fmt: skip
    state, allowed = ROLE_EXPECTED[action]
    lead = build(state, owner=rep)
    actor = {
        "marketer": marketer, "desk": desk, "owner": rep, "other_rep": other_rep,
        "sales_manager": sales_manager, "outsider_manager": outsider_manager,
        "manager": manager, "superuser": superuser, "system": None,
    }[who]  # fmt: skip
    before = snapshot(lead)
    if who in allowed:
        run(action, lead, actor, other_owner=other_rep)
        assert snapshot(lead)[1] == before[1] + 1
    else:
        with pytest.raises(ServiceError) as refused:
            run(action, lead, actor, other_owner=other_rep)
        assert refused.value.code == "forbidden", refused.value.message
        assert snapshot(lead) == before


# --- what each transition writes --------------------------------------------------------


def test_qualify_with_rule_grade_sets_mql_and_keeps_rule_source(desk):
    lead = LeadFactory(grade="A", grade_source="rule")
    lifecycle.lead_qualify(lead=lead, actor=desk)
    lead.refresh_from_db()
    assert (lead.stage, lead.grade, lead.grade_source) == (Stage.MQL, "A", "rule")
    assert lead.mql_at is not None
    event = lead.events.get(kind=EventKind.QUALIFIED)
    assert (event.from_stage, event.to_stage, event.actor) == ("new", "mql", desk)


def test_qualify_with_other_grade_needs_reason_and_becomes_manual(desk):
    lead = LeadFactory(grade="C", grade_source="rule")
    with pytest.raises(ServiceError) as refused:
        lifecycle.lead_qualify(lead=lead, actor=desk, grade="A")
    assert (refused.value.code, refused.value.field) == ("invalid", "reason")
    lead.refresh_from_db()
    assert lead.stage == Stage.NEW and lead.grade == "C"
    lifecycle.lead_qualify(lead=lead, actor=desk, grade="A", reason="CEO confirmed budget")
    lead.refresh_from_db()
    assert (lead.grade, lead.grade_source) == ("A", "manual")
    assert lead.grade_reason == "CEO confirmed budget"


def test_qualify_without_any_grade_is_refused(desk):
    lead = LeadFactory(grade="", grade_source="")
    with pytest.raises(ServiceError) as refused:
        lifecycle.lead_qualify(lead=lead, actor=desk)
    assert refused.value.field == "grade"
    with pytest.raises(ServiceError):
        lifecycle.lead_qualify(lead=lead, actor=desk, grade="E", reason="x")
    assert Lead.objects.get(pk=lead.pk).stage == Stage.NEW


@pytest.mark.parametrize(
    ("action", "kwargs"),
    [
        ("disqualify", {"reason": "  "}),
        ("disqualify", {"reason": "spam", "reason_code": "bogus"}),
    ],
)
def test_disqualify_needs_reason_and_known_code(action, kwargs, desk):
    lead = LeadFactory()
    with pytest.raises(ServiceError) as refused:
        lifecycle.lead_disqualify(lead=lead, actor=desk, **kwargs)
    assert refused.value.code == "invalid"
    assert Lead.objects.get(pk=lead.pk).stage == Stage.NEW


def test_disqualify_owned_mql_releases_owner_and_keeps_reason_code(desk, rep):
    lead = lead_in_stage(Stage.MQL, owner=rep)
    lifecycle.lead_disqualify(lead=lead, actor=desk, reason="competitor", reason_code="competitor")
    lead.refresh_from_db()
    assert (lead.stage, lead.owner, lead.in_pool) == (Stage.DISQUALIFIED, None, False)
    assert lead.disqualify_reason == "competitor" and lead.disqualified_at is not None
    event = lead.events.get(kind=EventKind.DISQUALIFIED)
    assert event.data == {"reason_code": "competitor", "previous_owner": rep.pk}


def test_assign_sets_owner_and_assigned_at(desk, rep):
    lead = lead_in_stage(Stage.MQL)
    lifecycle.lead_assign(lead=lead, actor=desk, owner=rep, reason="east region")
    lead.refresh_from_db()
    assert lead.owner == rep and lead.assigned_at is not None and not lead.in_pool
    event = lead.events.get(kind=EventKind.ASSIGNED)
    assert event.data["owner"] == rep.pk and "east region" in event.reason
    decision = lead.assignments.get()
    assert (decision.owner, decision.strategy, decision.actor) == (rep, "manual", desk)
    assert "east region" in decision.reason


def test_reassign_writes_reassigned_event_with_previous_owner(desk, rep, other_rep):
    lead = lead_in_stage(Stage.SQL, owner=rep)
    lifecycle.lead_assign(lead=lead, actor=desk, owner=other_rep)
    lead.refresh_from_db()
    assert (lead.owner, lead.stage) == (other_rep, Stage.SQL)
    event = lead.events.get(kind=EventKind.REASSIGNED)
    assert event.data["previous_owner"] == rep.pk


def test_assign_refuses_non_sales_inactive_and_current_owner(desk, rep, marketer):
    lead = lead_in_stage(Stage.MQL, owner=rep)
    inactive = UserFactory(roles=["sales_rep"], is_active=False)
    for owner in (marketer, inactive, rep):
        with pytest.raises(ServiceError) as refused:
            lifecycle.lead_assign(lead=lead, actor=desk, owner=owner)
        assert (refused.value.code, refused.value.field) == ("invalid", "owner")
    assert Lead.objects.get(pk=lead.pk).owner == rep


def test_sales_manager_assigns_only_to_own_team(sales_manager, rep, outsider_rep):
    lead = lead_in_stage(Stage.MQL, owner=rep)
    with pytest.raises(ServiceError) as refused:
        lifecycle.lead_assign(lead=lead, actor=sales_manager, owner=outsider_rep)
    assert refused.value.code == "forbidden"
    assert Lead.objects.get(pk=lead.pk).owner == rep


def test_accept_sets_sql(rep):
    lead = lead_in_stage(Stage.MQL, owner=rep)
    lifecycle.lead_accept(lead=lead, actor=rep)
    lead.refresh_from_db()
    assert lead.stage == Stage.SQL and lead.sql_at is not None and lead.owner == rep


def test_reject_returns_lead_to_desk_with_reason(rep):
    lead = lead_in_stage(Stage.MQL, owner=rep)
    lifecycle.lead_reject(lead=lead, actor=rep, reason="number dead", reason_code="not_reachable")
    lead.refresh_from_db()
    assert (lead.stage, lead.owner, lead.in_pool) == (Stage.MQL, None, False)
    assert lead.reject_reason == "not_reachable"
    event = lead.events.get(kind=EventKind.REJECTED)
    assert event.reason == "number dead" and event.data["previous_owner"] == rep.pk


@pytest.mark.parametrize("stage", [Stage.MQL, Stage.SQL])
def test_recycle_sends_to_pool_in_same_stage(stage, rep):
    lead = lead_in_stage(stage, owner=rep)
    lifecycle.lead_recycle(lead=lead, actor=rep, reason="not now", reason_code="not_now")
    lead.refresh_from_db()
    assert (lead.stage, lead.owner, lead.in_pool) == (stage, None, True)
    assert lead.pooled_at is not None and lead.recycle_reason == "not_now"


def test_claim_makes_claimer_owner(other_rep):
    lead = lead_in_stage(Stage.MQL, in_pool=True)
    lifecycle.lead_claim(lead=lead, actor=other_rep)
    lead.refresh_from_db()
    assert (lead.owner, lead.in_pool) == (other_rep, False)
    assert lead.events.filter(kind=EventKind.CLAIMED, actor=other_rep).count() == 1


def test_claim_daily_limit(other_rep):
    PoolPolicy.objects.update_or_create(pk=1, defaults={"daily_claim_limit": 2})
    leads = [lead_in_stage(Stage.MQL, in_pool=True) for _ in range(3)]
    lifecycle.lead_claim(lead=leads[0], actor=other_rep)
    lifecycle.lead_claim(lead=leads[1], actor=other_rep)
    with pytest.raises(ServiceError) as refused:
        lifecycle.lead_claim(lead=leads[2], actor=other_rep)
    assert refused.value.code == "forbidden" and "limit" in refused.value.message
    leads[2].refresh_from_db()
    assert leads[2].in_pool and leads[2].owner is None


def test_rep_cannot_reclaim_a_lead_they_dropped_until_cooldown_ends(rep):
    PoolPolicy.objects.update_or_create(pk=1, defaults={"reclaim_cooldown_days": 3})
    lead = lead_in_stage(Stage.SQL, owner=rep)
    lifecycle.lead_recycle(lead=lead, actor=rep, reason="not now")
    with pytest.raises(ServiceError) as refused:
        lifecycle.lead_claim(lead=lead, actor=rep)
    assert refused.value.code == "forbidden" and "again after" in refused.value.message
    with time_machine.travel(timezone.now() + dt.timedelta(days=3, minutes=1)):
        lifecycle.lead_claim(lead=lead, actor=rep)
    lead.refresh_from_db()
    assert lead.owner == rep


def test_to_opportunity_needs_positive_amount(rep):
    lead = lead_in_stage(Stage.SQL, owner=rep)
    for bad in (None, "", "0", "-5", "abc", "1e20"):
        with pytest.raises(ServiceError) as refused:
            lifecycle.lead_to_opportunity(lead=lead, actor=rep, expected_amount=bad)
        assert refused.value.field == "expected_amount"
    assert Lead.objects.get(pk=lead.pk).stage == Stage.SQL
    lifecycle.lead_to_opportunity(lead=lead, actor=rep, expected_amount="250000.50")
    lead.refresh_from_db()
    assert lead.stage == Stage.OPPORTUNITY and lead.expected_amount == Decimal("250000.50")


def test_win_needs_amount_and_signed_date_not_in_future(rep):
    lead = lead_in_stage(Stage.OPPORTUNITY, owner=rep)
    today = timezone.localdate()
    bad_calls = [
        {"amount": None, "signed_at": today},
        {"amount": "0", "signed_at": today},
        {"amount": "100", "signed_at": None},
        {"amount": "100", "signed_at": today + dt.timedelta(days=1)},
    ]
    for kwargs in bad_calls:
        with pytest.raises(ServiceError) as refused:
            lifecycle.lead_win(lead=lead, actor=rep, **kwargs)
        assert refused.value.code == "invalid"
    assert Lead.objects.get(pk=lead.pk).stage == Stage.OPPORTUNITY
    lifecycle.lead_win(lead=lead, actor=rep, amount="88000", signed_at=today)
    lead.refresh_from_db()
    assert (lead.stage, lead.won_amount, lead.signed_at) == (Stage.WON, Decimal("88000"), today)
    assert lead.won_at is not None and lead.owner == rep


def test_win_straight_from_sql(rep):
    lead = lead_in_stage(Stage.SQL, owner=rep)
    lifecycle.lead_win(lead=lead, actor=rep, amount="5000", signed_at=timezone.localdate())
    lead.refresh_from_db()
    assert lead.stage == Stage.WON and lead.opportunity_at is None


def test_lose_needs_reason(rep):
    lead = lead_in_stage(Stage.SQL, owner=rep)
    with pytest.raises(ServiceError):
        lifecycle.lead_lose(lead=lead, actor=rep, reason="")
    lifecycle.lead_lose(lead=lead, actor=rep, reason="went with vendor X", reason_code="competitor")
    lead.refresh_from_db()
    assert (lead.stage, lead.lost_reason) == (Stage.LOST, "competitor")
    assert lead.lost_at is not None


def test_follow_up_updates_contact_timestamps(rep):
    lead = lead_in_stage(Stage.SQL, owner=rep)
    lead.assigned_at = timezone.now() - dt.timedelta(days=1)  # dated after the assignment
    lead.save(update_fields=["assigned_at"])
    earlier = timezone.now() - dt.timedelta(hours=3)
    later = timezone.now() + dt.timedelta(days=2)
    lifecycle.follow_up_log(
        lead=lead, actor=rep, method="call", at=earlier, next_follow_up_at=later
    )
    lead.refresh_from_db()
    assert lead.first_contact_at == earlier == lead.last_follow_up_at
    assert lead.next_follow_up_at == later


def test_follow_up_refuses_future_date_and_past_next_date(rep):
    lead = lead_in_stage(Stage.SQL, owner=rep)
    before = snapshot(lead)
    with pytest.raises(ServiceError) as refused:
        lifecycle.follow_up_log(
            lead=lead, actor=rep, method="call", at=timezone.now() + dt.timedelta(hours=2)
        )
    assert refused.value.field == "at"
    with pytest.raises(ServiceError) as refused:
        lifecycle.follow_up_log(
            lead=lead, actor=rep, method="call",
            next_follow_up_at=timezone.now() - dt.timedelta(days=1),
        )  # fmt: skip
    assert refused.value.field == "next_follow_up_at"
    with pytest.raises(ServiceError):
        lifecycle.follow_up_log(lead=lead, actor=rep, method="fax")
    assert snapshot(lead) == before


def test_allowed_actions_lists_what_the_actor_may_do(rep, desk):
    lead = lead_in_stage(Stage.MQL, owner=rep)
    assert set(lifecycle.allowed_actions(lead=lead, actor=rep)) == {
        "accept", "reject", "recycle", "follow_up",
    }  # fmt: skip
    assert set(lifecycle.allowed_actions(lead=lead, actor=desk)) == {"disqualify", "assign"}


def test_events_cannot_be_edited_or_deleted(rep):
    lead = lead_in_stage(Stage.MQL, owner=rep)
    event = lead.events.first()
    event.reason = "rewritten"
    with pytest.raises(TypeError):
        event.save()
    with pytest.raises(TypeError):
        event.delete()
    with pytest.raises(TypeError):
        LeadEvent.objects.filter(lead=lead).update(reason="x")
    with pytest.raises(TypeError):
        LeadEvent.objects.filter(lead=lead).delete()
    assert LeadEvent.objects.filter(lead=lead, reason="rewritten").count() == 0
