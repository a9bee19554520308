"""Scoring and grading of leads: rules, thresholds, rescoring, manual grades (see
docs/architecture.md §4).

The arithmetic is in ``scoring.scorer`` (pure); this module loads facts, calls it and saves.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import time
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.db import OperationalError, connection, transaction
from django.db.models import Case, Count, F, Q, Value, When
from django.utils import timezone
from django.utils.translation import gettext as _

from leads.choices import CLOSED_STAGES, EventKind, Grade, GradeSource, Stage
from leads.facts import LEAD_FACT_FIELDS, lead_facts
from leads.lifecycle import (
    arriving,
    lead_qualify,
    leads_qualify_automatically,
    lock_lead,
    record_event,
    require_reason,
)
from leads.models import Lead, LeadEvent, LeadTouch
from pipeline.conditions import ConditionError, check_condition
from pipeline.db import fast_bulk_insert
from pipeline.errors import ServiceError
from pipeline.queue import enqueue, enqueue_on_commit
from pipeline.roles import Role, has_role
from scoring.choices import Dimension, JobStatus
from scoring.models import GradeThresholds, RescoreJob, ScoringRule
from scoring.scorer import Rule, ScoreResult, Thresholds, score_lead

logger = logging.getLogger(__name__)

BATCH_SIZE = 2000
#: PostgreSQL's SQLSTATE for a lock not obtained within ``lock_timeout``.
LOCK_NOT_AVAILABLE = "55P03"


# --------------------------------------------------------------------------------------
# Rules and thresholds
# --------------------------------------------------------------------------------------


def _require_desk(actor: User | None) -> None:
    if not has_role(actor, Role.LEAD_DESK):
        raise ServiceError(_("Only the lead desk changes scoring."), code="forbidden")


def check_desk(lead: Lead, actor: User | None) -> None:
    """Only the lead desk grades by hand or drops a manual grade (403)."""
    _require_desk(actor)


def check_grading(lead: Lead, actor: User | None) -> None:
    """The desk grades open leads by hand: 403 for anyone else, 409 for a closed lead."""
    _require_desk(actor)
    if lead.stage in CLOSED_STAGES:
        raise ServiceError(_("A closed lead cannot be regraded."), code="wrong_stage")


def clean_scoring_rule(
    *, name: str, dimension: str, field: str, operator: str, value: Any, points: Any
) -> dict[str, Any]:
    """Validate a rule; raise ``ServiceError`` naming the wrong part."""
    if not (name or "").strip():
        raise ServiceError(_("A rule needs a name."), field="name")
    if dimension not in Dimension.values:
        raise ServiceError(
            _("Unknown dimension “%(d)s”; use fit or engagement.") % {"d": dimension},
            field="dimension",
        )
    try:
        field, operator, value = check_condition(field, operator, value, LEAD_FACT_FIELDS)
    except ConditionError as exc:
        raise ServiceError(str(exc), field=exc.field) from exc
    if isinstance(points, bool) or not isinstance(points, int) or not -100 <= points <= 100:
        raise ServiceError(_("Points must be a whole number from -100 to 100."), field="points")
    return {
        "name": name.strip(),
        "dimension": dimension,
        "field": field,
        "operator": operator,
        "value": value,
        "points": points,
    }


# --------------------------------------------------------------------------------------
# The rule set and its version
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RuleSet:
    """The active rules and thresholds as plain values, with the version they belong to,
    and the auto-qualify score (``None`` when auto-qualification is off)."""

    version: int
    rules: tuple[Rule, ...]
    thresholds: Thresholds
    auto_qualify_score: int | None = None


def _rules_fingerprint_sql() -> str:
    """A subquery naming every stored rule's content (all of them, active or not), in id
    order: what the cached rules were built from (``_cached_rules``)."""
    table = ScoringRule._meta.db_table
    columns = ("id", "name", "dimension", "field", "operator", "value", "points", "active")
    if connection.vendor == "postgresql":
        row = f"concat_ws(chr(31), {', '.join(columns)})"
        return f"(SELECT md5(string_agg({row}, chr(30) ORDER BY id)) FROM {table})"  # noqa: S608 - no input
    row = " || char(31) || ".join(f"COALESCE({c}, '')" for c in columns)
    return f"(SELECT group_concat(r, char(30)) FROM (SELECT {row} AS r FROM {table} ORDER BY id))"  # noqa: S608 - no input


def _version_row(*, hold: bool) -> tuple[int, Thresholds, int | None, str]:
    """From the rule set's one row (created if missing), in one statement: the version,
    the thresholds, the auto-qualify score (``None`` when off) and the rules' fingerprint."""
    sql = (
        "SELECT version, a, b, c, auto_qualify, auto_qualify_score, "  # noqa: S608 - no input
        f"{_rules_fingerprint_sql()} FROM {GradeThresholds._meta.db_table} WHERE id = 1"
    )
    if hold and connection.vendor == "postgresql" and connection.in_atomic_block:
        sql += " FOR KEY SHARE"
    with connection.cursor() as cursor:
        cursor.execute(sql)
        row = cursor.fetchone()
    if row is None:
        GradeThresholds.current()
        return _version_row(hold=hold)
    version, a, b, c, auto_qualify, auto_score, fingerprint = row
    return (
        int(version),
        Thresholds(a=a, b=b, c=c),
        int(auto_score) if auto_qualify else None,
        hashlib.sha256(str(fingerprint or "").encode()).hexdigest(),
    )


#: The validated active rules of the last rule set read, by (version, fingerprint): one
#: entry per process, replaced when either changes (``_cached_rules``).
_rules_cache: tuple[tuple[int, str], tuple[Rule, ...]] | None = None


def _cached_rules(version: int, fingerprint: str, *, store: bool) -> tuple[Rule, ...]:
    """The active rules of rule set ``version``, read and validated once per process.

    Every change through the services bumps the version in the same transaction
    (``_publish``), so a version names its rules; the fingerprint (the stored rules'
    content, read in the version's statement) also catches rows written around the
    services, so a cached rule set is never one the table no longer holds. The caller read
    the version under the rule set's hold (``rule_set``), so the rules read here are the
    version's own; without the hold (``store`` false) an edit may commit between the two
    reads, so what is read then is used but not kept.
    """
    global _rules_cache
    key = (version, fingerprint)
    cached = _rules_cache
    if cached is not None and cached[0] == key:
        return cached[1]
    rules = tuple(active_rules())
    if store:
        _rules_cache = (key, rules)
    return rules


def current_version() -> int:
    """The version of the rule set now (no lock)."""
    return _version_row(hold=False)[0]


def rule_set(*, hold: bool = True) -> RuleSet:
    """The current rule set, for a scoring write.

    ``hold`` (every scoring write but the rescore's, inside its transaction): on PostgreSQL
    the version row is locked ``FOR KEY SHARE`` until the transaction ends. An edit of the
    rules or thresholds locks that row ``FOR UPDATE`` (``_lock_rule_set``), so it waits for
    the scoring transactions in flight, and those that start meanwhile wait for it: a lead
    scored in a transaction always commits with the version current at its commit, and a
    rescore started after an edit sees every lead scored before it. SQLite runs one write
    transaction at a time, so it needs no lock.

    Without ``hold`` (the rescore, between its batches), the version is read before the
    rules: an edit committed in between makes the label older than the rules, never newer,
    so a later rescore redoes that lead and nothing looks fresher than it is.
    """
    version, thresholds, auto_qualify_score, fingerprint = _version_row(hold=hold)
    return RuleSet(
        version=version,
        rules=_cached_rules(version, fingerprint, store=hold),
        thresholds=thresholds,
        auto_qualify_score=auto_qualify_score,
    )


#: How long a rules or thresholds edit waits for the scoring transactions in flight (an
#: import batch holds the rule set while it writes) before it is refused as busy.
RULE_SET_LOCK_WAIT = dt.timedelta(seconds=10)
#: Each attempt to lock it waits at most this long (PostgreSQL ``lock_timeout``).
RULE_SET_LOCK_ATTEMPT_MS = 200


def _lock_rule_set() -> GradeThresholds:
    """Lock the rule set's row for an edit (``FOR UPDATE``), see ``rule_set``.

    On PostgreSQL each attempt waits at most ``RULE_SET_LOCK_ATTEMPT_MS``, then steps out
    of the queue and tries again until ``RULE_SET_LOCK_WAIT``. A waiting ``FOR UPDATE``
    holds back every later ``FOR KEY SHARE``, so waiting long would stall captures behind
    an import batch — and a capture that locked its lead and waits behind this edit, while
    the batch waits for that lead, would close a deadlock; stepping out well before the
    deadlock detector fires breaks it.
    """
    GradeThresholds.current()
    locked = GradeThresholds.objects.select_for_update()
    if connection.vendor != "postgresql":
        return locked.get(pk=1)
    deadline = time.monotonic() + RULE_SET_LOCK_WAIT.total_seconds()
    while True:
        try:
            with transaction.atomic(), connection.cursor() as cursor:  # a savepoint per try
                cursor.execute(f"SET LOCAL lock_timeout = {int(RULE_SET_LOCK_ATTEMPT_MS)}")
                row = locked.get(pk=1)
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL lock_timeout = DEFAULT")
            return row
        except OperationalError as exc:
            if getattr(exc.__cause__, "pgcode", None) != LOCK_NOT_AVAILABLE:
                raise
            if time.monotonic() > deadline:
                raise ServiceError(
                    _("Leads are being scored right now (an import?). Try again in a minute."),
                    code="conflict",
                ) from exc
            time.sleep(0.05)


def _publish(row: GradeThresholds, *, actor: User, reason: str) -> RescoreJob:
    """Bump the version of the locked rule set (this edit's transaction) and ask for the
    one rescore that brings open leads to it."""
    row.version += 1
    GradeThresholds.objects.filter(pk=row.pk).update(version=row.version)
    return rescore_job_start(actor=actor, reason=reason, version=row.version)


# --------------------------------------------------------------------------------------
# Rules and thresholds
# --------------------------------------------------------------------------------------


@transaction.atomic
def scoring_rule_save(
    *,
    actor: User,
    rule: ScoringRule | None = None,
    name: str,
    dimension: str,
    field: str,
    operator: str,
    value: Any,
    points: int,
    active: bool = True,
) -> ScoringRule:
    """Create or change a rule and publish a new rule set version (one transaction); the
    open leads are rescored in the background (``rescore_job_start``)."""
    _require_desk(actor)
    data = clean_scoring_rule(
        name=name, dimension=dimension, field=field, operator=operator, value=value, points=points
    )
    version_row = _lock_rule_set()
    clash = ScoringRule.objects.filter(name=data["name"])
    if rule is not None:
        clash = clash.exclude(pk=rule.pk)
    if clash.exists():
        raise ServiceError(_("A rule with this name exists already."), field="name")
    rule = rule or ScoringRule()
    for key, val in data.items():
        setattr(rule, key, val)
    rule.active = active
    rule.save()
    _publish(version_row, actor=actor, reason=_("Rule “%(name)s” changed") % {"name": rule.name})
    return rule


@transaction.atomic
def scoring_rule_delete(*, actor: User, rule: ScoringRule) -> None:
    """Delete a rule and publish a new rule set version (one transaction)."""
    _require_desk(actor)
    version_row = _lock_rule_set()
    name = rule.name
    rule.delete()
    _publish(version_row, actor=actor, reason=_("Rule “%(name)s” deleted") % {"name": name})


@transaction.atomic
def thresholds_save(
    *,
    actor: User,
    a: int,
    b: int,
    c: int,
    auto_qualify: bool | None = None,
    auto_qualify_score: int | None = None,
) -> GradeThresholds:
    """Change the grade thresholds (A above B above C above 0) and publish a new rule set
    version (one transaction); the open leads are rescored in the background."""
    _require_desk(actor)
    for key, val in (("a", a), ("b", b), ("c", c)):
        if isinstance(val, bool) or not isinstance(val, int) or not 0 < val <= 100:
            raise ServiceError(_("A threshold is a whole number from 1 to 100."), field=key)
    if not a > b > c:
        raise ServiceError(_("Thresholds must be in order: A above B above C."), field="a")
    thresholds = _lock_rule_set()
    thresholds.a, thresholds.b, thresholds.c = a, b, c
    if auto_qualify is not None:
        thresholds.auto_qualify = auto_qualify
    if auto_qualify_score is not None:
        if not 0 <= auto_qualify_score <= 100:
            raise ServiceError(_("The score must be from 0 to 100."), field="auto_qualify_score")
        thresholds.auto_qualify_score = auto_qualify_score
    thresholds.save()
    _publish(thresholds, actor=actor, reason=_("Grade thresholds changed"))
    return thresholds


def active_rules() -> list[Rule]:
    """Active rules as plain values; a stored rule that no longer validates is skipped."""
    rules = []
    for row in ScoringRule.objects.filter(active=True).order_by("id"):
        try:
            data = clean_scoring_rule(
                name=row.name,
                dimension=row.dimension,
                field=row.field,
                operator=row.operator,
                value=row.value,
                points=row.points,
            )
        except ServiceError as exc:
            logger.warning("Scoring rule %s (%s) skipped: %s", row.pk, row.name, exc)
            continue
        rules.append(Rule(**data))
    return rules


def current_thresholds() -> Thresholds:
    row = GradeThresholds.current()
    return Thresholds(a=row.a, b=row.b, c=row.c)


# --------------------------------------------------------------------------------------
# One lead
# --------------------------------------------------------------------------------------


def _touch_facts(lead_ids: Sequence[int]) -> dict[int, tuple[int, list[str]]]:
    counts: dict[int, int] = defaultdict(int)
    kinds: dict[int, set[str]] = defaultdict(set)
    rows = (
        LeadTouch.objects.filter(lead_id__in=lead_ids)
        .values("lead_id", "kind")
        .annotate(n=Count("id"))
        .order_by()
    )
    for row in rows:
        counts[row["lead_id"]] += row["n"]
        kinds[row["lead_id"]].add(row["kind"])
    return {lead_id: (counts[lead_id], sorted(kinds[lead_id])) for lead_id in lead_ids}


def score_of(
    lead: Lead,
    *,
    rules: Iterable[Rule] | None = None,
    thresholds: Thresholds | None = None,
    touches: tuple[int, list[str]] | None = None,
) -> ScoreResult:
    """The lead's score now, without saving (for previews and explanations); ``touches``
    (count, kinds) when the caller knows them, else they are counted."""
    count, kinds = touches if touches is not None else _touch_facts([lead.pk])[lead.pk]
    facts = lead_facts(lead, touch_count=count, touch_kinds=kinds)
    return score_lead(
        facts, active_rules() if rules is None else rules, thresholds or current_thresholds()
    )


def _store_score(lead: Lead, result: ScoreResult, *, version: int) -> bool:
    """Save one lead's score, conditionally: only if no score of a newer rule set version is
    there, never over an erased lead, and never replacing a manual grade (the grade is kept
    when ``grade_source`` is manual on the row being updated; the score itself is still
    recorded, so the desk sees what the rules say). Updates ``lead`` in memory; False if
    nothing was written."""
    now = timezone.now()
    manual = Q(grade_source=GradeSource.MANUAL)
    written = Lead.objects.filter(
        pk=lead.pk, erased_at__isnull=True, score_version__lte=version
    ).update(
        score=result.score,
        score_detail=result.detail,
        score_version=version,
        scored_at=now,
        updated_at=now,
        grade=Case(When(manual, then=F("grade")), default=Value(result.grade)),
        grade_source=Case(When(manual, then=F("grade_source")), default=Value(GradeSource.RULE)),
    )
    if not written:
        return False
    _set_score(lead, result, version=version, now=now)
    return True


#: The columns a score writes (``_store_score``), for a save that writes them with others.
SCORE_FIELDS = ("score", "score_detail", "score_version", "scored_at", "grade", "grade_source")


def _set_score(lead: Lead, result: ScoreResult, *, version: int, now: dt.datetime) -> None:
    """The score on the instance (what ``_store_score`` wrote); the grade unless manual."""
    lead.score, lead.score_detail, lead.score_version = result.score, result.detail, version
    lead.scored_at = lead.updated_at = now
    if lead.grade_source != GradeSource.MANUAL:  # the caller holds the row lock
        lead.grade, lead.grade_source = result.grade, GradeSource.RULE


def lead_score(*, lead: Lead | int, touches: tuple[int, list[str]] | None = None) -> Lead | None:
    """Recompute and save one lead's score in the caller's transaction; the grade follows
    unless it was set by hand.

    Called in the transaction that creates the lead, adds a touch or edits a scored field
    (``scoring.subscribers.score``, an ``in_transaction`` subscriber), so no lead is ever
    committed without its rule grade. Takes the lead's row lock (``SELECT … FOR UPDATE``,
    the lock ``lead_set_grade`` takes too) and holds the rule set (``rule_set``); the write
    is conditional (``_store_score``). Writes a ``graded`` event when the grade changes,
    and qualifies automatically when the setting is on and the lead reaches the score.
    ``None`` if there is no such lead.

    A lead this transaction already holds (marked ``_row_locked`` — a new lead its arrival
    announces before inserting it, ``lifecycle.arriving``) is scored as it is, without
    reading it again and without a savepoint, and written by that insert; ``touches``
    (count, kinds) are its touch facts when the caller knows them (a new lead has its one
    first touch).
    """
    if isinstance(lead, Lead) and getattr(lead, "_row_locked", False):
        return _score_locked(lead, touches=touches)
    with transaction.atomic():
        locked = (
            Lead.objects.select_for_update(of=("self",))
            .select_related("company", "source_campaign__channel")
            .filter(pk=lead.pk if isinstance(lead, Lead) else lead)
            .first()
        )
        if locked is None:
            return None
        locked._row_locked = True  # type: ignore[attr-defined]  # for lead_qualify
        try:
            return _score_locked(locked, touches=touches)
        finally:
            locked._row_locked = False  # type: ignore[attr-defined]  # the lock ends here


def _score_locked(locked: Lead, *, touches: tuple[int, list[str]] | None) -> Lead:
    """``lead_score`` of a lead whose row the caller's transaction holds."""
    if locked.erased_at is not None:
        # Erased (PIPL, ``leads.privacy``): its fields are wiped, so a new score would only
        # measure the erasure; the score and grade it had stay, as the reports need.
        return locked
    current = rule_set()
    result = score_of(locked, rules=current.rules, thresholds=current.thresholds, touches=touches)
    previous_grade = locked.grade
    if arriving(locked) is not None:
        # A new arrival, not inserted yet: no other writer can have scored it. Its insert
        # writes the score, and the qualification when it qualifies at once.
        _set_score(locked, result, version=current.version, now=timezone.now())
        if _qualifies_automatically(locked, current.auto_qualify_score):
            return lead_qualify(lead=locked, actor=None)
        return locked
    if not _store_score(locked, result, version=current.version):
        return locked
    if locked.grade != previous_grade and previous_grade:  # a first grade is not a change
        record_event(
            lead=locked,
            kind=EventKind.GRADED,
            actor=None,
            from_stage=locked.stage,
            to_stage=locked.stage,
            data={
                "grade": locked.grade,
                "previous_grade": previous_grade,
                "score": locked.score,
                "source": "rule",
            },
        )
    if _qualifies_automatically(locked, current.auto_qualify_score):
        locked = lead_qualify(lead=locked, actor=None)
    return locked


def _qualifies_automatically(lead: Lead, auto_qualify_score: int | None) -> bool:
    """Auto-qualification is on (``auto_qualify_score`` is its score) and this new lead
    reached it."""
    return (
        auto_qualify_score is not None
        and lead.stage == Stage.NEW
        and lead.score >= auto_qualify_score
    )


def auto_qualify(lead_ids: Sequence[int]) -> int:
    """Qualify those of these leads that reached the auto-qualify score, when that setting
    is on (bulk paths that write scores themselves, like imports). Returns how many."""
    thresholds = GradeThresholds.current()
    if not thresholds.auto_qualify or not lead_ids:
        return 0
    candidates = Lead.objects.filter(
        pk__in=lead_ids, stage=Stage.NEW, score__gte=thresholds.auto_qualify_score
    ).values_list("pk", flat=True)
    # Set-based through the lifecycle service (one update and one event insert per set).
    return len(leads_qualify_automatically(list(candidates)))


@transaction.atomic
def lead_set_grade(*, lead: Lead, actor: User, grade: str, reason: str) -> Lead:
    """The desk grades by hand with a reason; the grade stays until reset.

    Under the lead's row lock (``lock_lead``, ``SELECT … FOR UPDATE``): a single-lead
    scoring write (``lead_score``) waits for it or runs before it, and every scoring write
    keeps a grade whose source is manual on the row it updates (``_store_score``,
    ``_write_scores``), so no rule grade replaces it, whenever it was computed.
    """
    lead = lock_lead(lead)
    check_grading(lead, actor)
    if grade not in Grade.values:
        raise ServiceError(
            _("“%(grade)s” is not a grade; use A, B, C or D.") % {"grade": grade}, field="grade"
        )
    reason = require_reason(reason)
    previous = lead.grade
    lead.grade, lead.grade_source, lead.grade_reason = grade, GradeSource.MANUAL, reason[:500]
    lead.save(update_fields=["grade", "grade_source", "grade_reason", "updated_at"])
    record_event(
        lead=lead,
        kind=EventKind.GRADED,
        actor=actor,
        from_stage=lead.stage,
        to_stage=lead.stage,
        reason=reason,
        data={"grade": grade, "previous_grade": previous, "source": "manual"},
    )
    return lead


@transaction.atomic
def lead_reset_grade(*, lead: Lead, actor: User) -> Lead:
    """Drop a manual grade: the rule grade applies again, scored now.

    Under the lead's row lock (``lock_lead``) and the rule set (``rule_set``), like
    ``lead_score``; the score is saved with the version it was computed with.
    """
    lead = lock_lead(lead)
    _require_desk(actor)
    if lead.grade_source != GradeSource.MANUAL:
        raise ServiceError(_("This lead has no manual grade to reset."), code="wrong_stage")
    previous = lead.grade
    current = rule_set()
    result = score_of(lead, rules=current.rules, thresholds=current.thresholds)
    lead.grade, lead.grade_source, lead.grade_reason = result.grade, GradeSource.RULE, ""
    lead.score, lead.score_detail = result.score, result.detail
    lead.score_version, lead.scored_at = current.version, timezone.now()
    lead.save(
        update_fields=[
            "grade",
            "grade_source",
            "grade_reason",
            "score",
            "score_detail",
            "score_version",
            "scored_at",
            "updated_at",
        ]
    )
    record_event(
        lead=lead,
        kind=EventKind.GRADE_RESET,
        actor=actor,
        from_stage=lead.stage,
        to_stage=lead.stage,
        data={"grade": lead.grade, "previous_grade": previous, "score": lead.score},
    )
    return lead


# --------------------------------------------------------------------------------------
# Everyone: the rescoring job
# --------------------------------------------------------------------------------------


#: A running rescore whose worker sent no heartbeat (one per batch) for this long is
#: queued again by ``rescore_resume``.
RESCORE_STALE_AFTER = dt.timedelta(minutes=5)


@transaction.atomic
def rescore_job_start(*, actor: User | None, reason: str, version: int | None = None) -> RescoreJob:
    """Ask for the rescore of open leads to rule set ``version`` (default: the current one).

    Debounced: the job is queued ``RESCORE_DEBOUNCE_SECONDS`` after this transaction
    commits, with the version it was asked for, and runs only if no newer request came
    meanwhile. A job still pending is reused and moved to the newer version, so ten rule
    edits in a row make one rescore: each edit queues the job again, and only the delivery
    carrying the last version runs it (``rescore_job_run``). With eager tasks (the embedded
    default, no broker) there is no delay: each edit rescores at once after its commit.
    """
    version = current_version() if version is None else version
    now = timezone.now()
    job = (
        RescoreJob.objects.select_for_update()
        .filter(status=JobStatus.PENDING)
        .order_by("id")
        .first()
    )
    if job is None:
        job = RescoreJob.objects.create(
            reason=reason[:200], requested_by=actor, version=version, heartbeat_at=now
        )
    else:
        job.version, job.reason, job.heartbeat_at = max(job.version, version), reason[:200], now
        job.requested_by = actor or job.requested_by
        job.save(update_fields=["version", "reason", "requested_by", "heartbeat_at"])
    enqueue_on_commit(
        "scoring.tasks.rescore_job_task",
        job.pk,
        job.version,
        countdown=settings.RESCORE_DEBOUNCE_SECONDS,
    )
    return job


ScoreRow = tuple[int, int, str, list[dict[str, Any]]]


def _write_scores(
    rows: Sequence[ScoreRow], *, version: int, same_version: bool
) -> dict[int, tuple[str, str]]:
    """Write (id, score, rule grade, detail) rows in one conditional statement.

    A row is written only if the lead's ``score_version`` is older than ``version`` (a
    rescore) — or not newer (``same_version``: the facts changed, the rule set did not) —
    and the lead is not erased. A manual grade is kept: the grade and its source are
    computed from the row being updated (PostgreSQL re-reads a row another transaction
    changed before updating it). Returns the written ids with their grade and source now.
    """
    if not rows:
        return {}
    now = timezone.now()
    table = Lead._meta.db_table
    postgres = connection.vendor == "postgresql"
    one = "(%s, %s, %s, %s::jsonb)" if postgres else "(%s, %s, %s, %s)"
    op = "<=" if same_version else "<"
    sql = (
        f"WITH v(id, score, grade, detail) AS (VALUES {', '.join([one] * len(rows))}) "  # noqa: S608 - no input
        f"UPDATE {table} SET score = v.score, score_detail = v.detail, score_version = %s, "
        f"grade = CASE WHEN {table}.grade_source = %s THEN {table}.grade ELSE v.grade END, "
        f"grade_source = CASE WHEN {table}.grade_source = %s THEN {table}.grade_source "
        "ELSE %s END, updated_at = %s, scored_at = %s "
        f"FROM v WHERE {table}.id = v.id AND {table}.score_version {op} %s "
        f"AND {table}.erased_at IS NULL RETURNING {table}.id, {table}.grade, {table}.grade_source"
    )
    stamp = now if postgres else connection.ops.adapt_datetimefield_value(now)
    params: list[Any] = []
    for pk, score, grade, detail in rows:
        params += [pk, score, grade, json.dumps(detail, ensure_ascii=False)]
    params += [version, GradeSource.MANUAL, GradeSource.MANUAL, GradeSource.RULE, stamp, stamp]
    params.append(version)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return {pk: (grade, source) for pk, grade, source in cursor.fetchall()}


def rescore_batch(
    batch: Sequence[Lead],
    *,
    current: RuleSet,
    same_version: bool = False,
    event_data: dict[str, Any] | None = None,
) -> int:
    """Score loaded leads (company and channel selected) in one set-based conditional
    write (``_write_scores``) stamped with ``current.version``.

    Manual grades are kept; a rule grade that changed writes a ``graded`` event. Returns
    how many leads changed score, detail or grade. Callers hold the transaction.
    """
    touches = _touch_facts([lead.pk for lead in batch])
    rows: list[ScoreRow] = []
    results: dict[int, ScoreResult] = {}
    for lead in batch:
        count, kinds = touches[lead.pk]
        facts = lead_facts(lead, touch_count=count, touch_kinds=kinds)
        result = score_lead(facts, current.rules, current.thresholds)
        results[lead.pk] = result
        rows.append((lead.pk, result.score, result.grade, result.detail))
    written = _write_scores(rows, version=current.version, same_version=same_version)
    changed, events, now = 0, [], timezone.now()
    for lead in batch:
        if lead.pk not in written:
            continue  # newer already, or erased meanwhile
        result, (grade, source) = results[lead.pk], written[lead.pk]
        if (lead.score, lead.grade, lead.score_detail) != (result.score, grade, result.detail):
            changed += 1
        if source == GradeSource.RULE and grade != lead.grade and lead.grade:
            events.append(  # a first grade is part of creation
                LeadEvent(
                    lead_id=lead.pk,
                    kind=EventKind.GRADED,
                    at=now,
                    from_stage=lead.stage,
                    to_stage=lead.stage,
                    data={
                        "grade": grade,
                        "previous_grade": lead.grade,
                        "score": result.score,
                        "source": "rule",
                        **(event_data or {}),
                    },
                )
            )
    fast_bulk_insert(LeadEvent, events)
    return changed


def score_arrivals(leads: Sequence[Any], *, touch_kind: str) -> tuple[int, list[ScoreResult]]:
    """Score leads that are about to be inserted with their one first touch (imports),
    in the caller's transaction: the rule set version and a result per lead.

    Same facts, rules and thresholds as ``lead_score``, so the rows are written already
    scored (with this version) instead of being inserted, read back and updated. The rule
    set is held until the caller commits (``rule_set``). ``leads`` are objects with a
    lead's attributes, ``company`` and ``source_campaign`` (with its channel) set.
    """
    current = rule_set()
    return current.version, [
        score_lead(
            lead_facts(lead, touch_count=1, touch_kinds=[touch_kind]),
            current.rules,
            current.thresholds,
        )
        for lead in leads
    ]


def score_leads(
    lead_ids: Sequence[int],
    *,
    loaded: Sequence[Lead] = (),
    event_data: dict[str, Any] | None = None,
) -> int:
    """Score many leads whose facts changed (an import's known people got a touch), in the
    caller's transaction, set-based in batches; same rules as one by one.

    ``loaded`` are leads already in memory (with company and campaign set): they are scored
    without being read again.
    """
    current = rule_set()
    changed = (
        rescore_batch(list(loaded), current=current, same_version=True, event_data=event_data)
        if loaded
        else 0
    )
    have = {lead.pk for lead in loaded}
    rest = [pk for pk in lead_ids if pk not in have]
    for start in range(0, len(rest), BATCH_SIZE):
        batch = list(
            Lead.objects.filter(pk__in=rest[start : start + BATCH_SIZE])
            .select_related("company", "source_campaign__channel")
            .order_by("pk")
        )
        changed += rescore_batch(batch, current=current, same_version=True, event_data=event_data)
    return changed


def _end_job(job_id: int, started_at: dt.datetime | None, status: str, **extra: Any) -> None:
    RescoreJob.objects.filter(pk=job_id, status=JobStatus.RUNNING, started_at=started_at).update(
        status=status, finished_at=timezone.now(), **extra
    )


def rescore_job_run(*, job_id: int, version: int | None = None) -> RescoreJob | None:
    """Bring every open, non-erased lead to the job's rule set version. Safe to run twice,
    and to restart after a worker died.

    ``version`` is the version the delivery was queued for: if the job was moved to a newer
    one since (another edit within the debounce), this delivery does nothing and the newer
    one runs it. The job is claimed with a conditional UPDATE (pending → running), so only
    one worker runs it. Leads are read in keyset batches (id order) among those whose
    ``score_version`` is older; each batch is one set-based conditional write in its own
    short transaction, so no row lock is held across batches. Before each batch the current
    version is read: once it moved past the job's, the job stops (``superseded``) and the
    newer job rescores. A restart (``rescore_resume``) starts again at the lowest stale id.
    """
    job = RescoreJob.objects.filter(pk=job_id).first()
    if job is None:
        return None
    version = job.version if version is None else version
    started_at = timezone.now()
    claimed = RescoreJob.objects.filter(
        pk=job_id, status=JobStatus.PENDING, version=version
    ).update(status=JobStatus.RUNNING, started_at=started_at, heartbeat_at=started_at)
    if not claimed:
        return None
    try:
        current = rule_set(hold=False)
        if current.version != version:  # a newer edit: its own job rescores
            _end_job(job_id, started_at, JobStatus.SUPERSEDED)
            return RescoreJob.objects.get(pk=job_id)
        stale = (
            Lead.objects.exclude(stage__in=CLOSED_STAGES)
            .filter(erased_at__isnull=True, score_version__lt=version)
            .select_related("company", "source_campaign__channel")
        )
        RescoreJob.objects.filter(pk=job_id).update(total=stale.count())
        last_id, processed, changed = 0, 0, 0
        while True:
            if current_version() > version:
                _end_job(job_id, started_at, JobStatus.SUPERSEDED)
                break
            batch = list(stale.filter(pk__gt=last_id).order_by("pk")[:BATCH_SIZE])
            if not batch:
                _end_job(job_id, started_at, JobStatus.DONE)
                break
            last_id = batch[-1].pk
            with transaction.atomic():
                changed += rescore_batch(batch, current=current, event_data={"job": job_id})
            processed += len(batch)
            mine = RescoreJob.objects.filter(
                pk=job_id, status=JobStatus.RUNNING, started_at=started_at
            ).update(processed=processed, changed=changed, heartbeat_at=timezone.now())
            if not mine:  # taken over (``rescore_resume`` thought this worker dead)
                break
    except Exception as exc:
        logger.exception("Rescore job %s failed", job_id)
        _end_job(job_id, started_at, JobStatus.FAILED, error=str(exc)[:2000])
        raise
    job.refresh_from_db()
    return job


def rescore_resume() -> int:
    """Beat: queue again the rescores that stopped without finishing. Idempotent.

    A running job without a heartbeat for ``RESCORE_STALE_AFTER`` lost its worker (killed):
    it goes back to pending. A pending job asked for longer ago than the debounce and a
    margin was never delivered (broker down). Each such job at the current version is
    queued at once (it starts again at the lowest stale lead; what was written stays); one
    at an older version is superseded (a newer job exists). Returns how many were queued.
    """
    now = timezone.now()
    waited = dt.timedelta(seconds=settings.RESCORE_DEBOUNCE_SECONDS) + dt.timedelta(minutes=1)
    RescoreJob.objects.filter(
        status=JobStatus.RUNNING, heartbeat_at__lt=now - RESCORE_STALE_AFTER
    ).update(status=JobStatus.PENDING, heartbeat_at=now - waited)
    version = current_version()
    queued = 0
    for job in RescoreJob.objects.filter(
        Q(heartbeat_at__lte=now - waited) | Q(heartbeat_at__isnull=True),
        status=JobStatus.PENDING,
    ).order_by("id"):
        if job.version < version:
            RescoreJob.objects.filter(pk=job.pk, status=JobStatus.PENDING).update(
                status=JobStatus.SUPERSEDED, finished_at=now
            )
        elif enqueue("scoring.tasks.rescore_job_task", job.pk, job.version):
            queued += 1
    return queued
