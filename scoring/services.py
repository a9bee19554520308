"""Scoring and grading of leads: rules, thresholds, rescoring, manual grades (see
docs/architecture.md §4).

The arithmetic is in ``scoring.scorer`` (pure); this module loads facts, calls it and saves.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

from django.contrib.auth.models import User
from django.db import connection, transaction
from django.db.models import Count
from django.utils import timezone
from django.utils.translation import gettext as _

from leads.choices import CLOSED_STAGES, EventKind, Grade, GradeSource, Stage
from leads.facts import LEAD_FACT_FIELDS, lead_facts
from leads.lifecycle import lead_qualify, lock_lead, record_event, require_reason
from leads.models import Lead, LeadEvent, LeadTouch
from pipeline.conditions import ConditionError, check_condition
from pipeline.db import fast_bulk_insert
from pipeline.errors import ServiceError
from pipeline.queue import enqueue_on_commit
from pipeline.roles import Role, has_role
from scoring.choices import Dimension, JobStatus
from scoring.models import GradeThresholds, RescoreJob, ScoringRule
from scoring.scorer import Rule, ScoreResult, Thresholds, score_lead

logger = logging.getLogger(__name__)

BATCH_SIZE = 2000


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
    """Create or change a rule, then rescore every open lead in the background."""
    _require_desk(actor)
    data = clean_scoring_rule(
        name=name, dimension=dimension, field=field, operator=operator, value=value, points=points
    )
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
    rescore_job_start(actor=actor, reason=_("Rule “%(name)s” changed") % {"name": rule.name})
    return rule


@transaction.atomic
def scoring_rule_delete(*, actor: User, rule: ScoringRule) -> None:
    _require_desk(actor)
    name = rule.name
    rule.delete()
    rescore_job_start(actor=actor, reason=_("Rule “%(name)s” deleted") % {"name": name})


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
    """Change the grade thresholds (A above B above C above 0), then rescore."""
    _require_desk(actor)
    for key, val in (("a", a), ("b", b), ("c", c)):
        if isinstance(val, bool) or not isinstance(val, int) or not 0 < val <= 100:
            raise ServiceError(_("A threshold is a whole number from 1 to 100."), field=key)
    if not a > b > c:
        raise ServiceError(_("Thresholds must be in order: A above B above C."), field="a")
    thresholds = GradeThresholds.current()
    thresholds.a, thresholds.b, thresholds.c = a, b, c
    if auto_qualify is not None:
        thresholds.auto_qualify = auto_qualify
    if auto_qualify_score is not None:
        if not 0 <= auto_qualify_score <= 100:
            raise ServiceError(_("The score must be from 0 to 100."), field="auto_qualify_score")
        thresholds.auto_qualify_score = auto_qualify_score
    thresholds.save()
    rescore_job_start(actor=actor, reason=_("Grade thresholds changed"))
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
    lead: Lead, *, rules: Iterable[Rule] | None = None, thresholds: Thresholds | None = None
) -> ScoreResult:
    """The lead's score now, without saving (for previews and explanations)."""
    count, kinds = _touch_facts([lead.pk])[lead.pk]
    facts = lead_facts(lead, touch_count=count, touch_kinds=kinds)
    return score_lead(
        facts, active_rules() if rules is None else rules, thresholds or current_thresholds()
    )


@transaction.atomic
def lead_score(*, lead: Lead | int, rules: Sequence[Rule] | None = None) -> Lead | None:
    """Recompute and save one lead's score; the grade follows unless it was set by hand.

    Writes a ``graded`` event when the grade changes, and qualifies automatically when the
    setting is on and the lead reaches the score. ``None`` if there is no such lead.
    """
    pk = lead.pk if isinstance(lead, Lead) else lead
    locked = (
        Lead.objects.select_for_update(of=("self",))
        .select_related("company", "source_campaign__channel")
        .filter(pk=pk)
        .first()
    )
    if locked is None:
        return None
    if locked.erased_at is not None:
        # Erased (PIPL, ``leads.privacy``): its fields are wiped, so a new score would only
        # measure the erasure; the score and grade it had stay, as the reports need.
        return locked
    thresholds_row = GradeThresholds.current()
    thresholds = Thresholds(a=thresholds_row.a, b=thresholds_row.b, c=thresholds_row.c)
    result = score_of(locked, rules=rules, thresholds=thresholds)
    fields = ["scored_at"]
    locked.scored_at = timezone.now()
    if locked.score != result.score or locked.score_detail != result.detail:
        locked.score, locked.score_detail = result.score, result.detail
        fields += ["score", "score_detail"]
    previous_grade = locked.grade
    if locked.grade_source != GradeSource.MANUAL and locked.grade != result.grade:
        locked.grade, locked.grade_source = result.grade, GradeSource.RULE
        fields += ["grade", "grade_source"]
    locked.save(update_fields=[*fields, "updated_at"])
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
    if _qualifies_automatically(locked, thresholds_row):
        locked = lead_qualify(lead=locked, actor=None)
    return locked


def _qualifies_automatically(lead: Lead, thresholds: GradeThresholds) -> bool:
    return (
        thresholds.auto_qualify
        and lead.stage == Stage.NEW
        and lead.score >= thresholds.auto_qualify_score
    )


def auto_qualify(lead_ids: Sequence[int]) -> int:
    """Qualify those of these leads that reached the auto-qualify score, when that setting
    is on (bulk paths that write scores themselves, like imports). Returns how many."""
    thresholds = GradeThresholds.current()
    if not thresholds.auto_qualify or not lead_ids:
        return 0
    done = 0
    candidates = Lead.objects.filter(
        pk__in=lead_ids, stage=Stage.NEW, score__gte=thresholds.auto_qualify_score
    ).order_by("pk")
    for lead in candidates:
        if _qualifies_automatically(lead, thresholds):
            lead_qualify(lead=lead, actor=None)
            done += 1
    return done


@transaction.atomic
def lead_set_grade(*, lead: Lead, actor: User, grade: str, reason: str) -> Lead:
    """The desk grades by hand with a reason; the grade stays until reset."""
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
    """Drop a manual grade: the rule grade applies again."""
    lead = lock_lead(lead)
    _require_desk(actor)
    if lead.grade_source != GradeSource.MANUAL:
        raise ServiceError(_("This lead has no manual grade to reset."), code="wrong_stage")
    previous = lead.grade
    result = score_of(lead)
    lead.grade, lead.grade_source, lead.grade_reason = result.grade, GradeSource.RULE, ""
    lead.score, lead.score_detail = result.score, result.detail
    lead.save(
        update_fields=[
            "grade",
            "grade_source",
            "grade_reason",
            "score",
            "score_detail",
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


def rescore_job_start(*, actor: User | None, reason: str) -> RescoreJob:
    """Queue a rescore of all open leads; runs after the surrounding transaction commits.

    A job still pending is reused, so ten rule edits in a row queue one recompute.
    """
    job = RescoreJob.objects.filter(status=JobStatus.PENDING).order_by("id").first()
    if job is None:
        job = RescoreJob.objects.create(reason=reason[:200], requested_by=actor)
        enqueue_on_commit("scoring.tasks.rescore_job_task", job.pk)
    return job


def _write_scores(rows: Sequence[tuple[int, int, str, str, list[dict[str, Any]]]]) -> None:
    """Write (id, score, grade, grade_source, detail) rows in one statement per batch."""
    if not rows:
        return
    if connection.vendor == "postgresql":
        from psycopg2.extras import execute_values

        with connection.cursor() as cursor:
            execute_values(
                cursor,
                "UPDATE leads_lead AS l SET score = v.score, grade = v.grade, "
                "grade_source = v.grade_source, score_detail = v.detail::jsonb, "
                "updated_at = now(), scored_at = now() "
                "FROM (VALUES %s) AS v(id, score, grade, grade_source, detail) WHERE l.id = v.id",
                [(pk, s, g, src, json.dumps(d, ensure_ascii=False)) for pk, s, g, src, d in rows],
                page_size=len(rows),
            )
        return
    now = timezone.now()
    leads = [
        Lead(pk=pk, score=s, grade=g, grade_source=src, score_detail=d, scored_at=now)
        for pk, s, g, src, d in rows
    ]
    Lead.objects.bulk_update(leads, ["score", "grade", "grade_source", "score_detail", "scored_at"])


def rescore_batch(
    batch: Sequence[Lead],
    *,
    rules: Sequence[Rule],
    thresholds: Thresholds,
    event_data: dict[str, Any] | None = None,
) -> int:
    """Score loaded leads (company and channel selected) and write only what changed.

    Manual grades are kept; a changed rule grade writes a ``graded`` event. Returns how
    many leads changed. Callers hold the transaction.
    """
    touches = _touch_facts([lead.pk for lead in batch])
    rows, events = [], []
    now = timezone.now()
    for lead in batch:
        count, kinds = touches[lead.pk]
        facts = lead_facts(lead, touch_count=count, touch_kinds=kinds)
        result = score_lead(facts, rules, thresholds)
        manual = lead.grade_source == GradeSource.MANUAL
        grade = lead.grade if manual else result.grade
        unchanged = (lead.score, lead.grade, lead.score_detail) == (
            result.score,
            grade,
            result.detail,
        )
        if unchanged and lead.scored_at is not None:
            continue
        source = GradeSource.MANUAL if manual else GradeSource.RULE
        rows.append((lead.pk, result.score, grade, source, result.detail))
        if grade != lead.grade and lead.grade:  # a first grade is part of creation
            events.append(
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
    _write_scores(rows)
    fast_bulk_insert(LeadEvent, events)
    return len(rows)


def score_arrivals(leads: Sequence[Any], *, touch_kind: str) -> list[ScoreResult]:
    """Score leads that are about to be inserted with their one first touch (imports).

    Same facts, rules and thresholds as :func:`score_leads`, so the rows can be written
    already scored instead of being inserted, read back and updated. ``leads`` are objects
    with a lead's attributes, ``company`` and ``source_campaign`` (with its channel) set.
    """
    rules, thresholds = active_rules(), current_thresholds()
    return [
        score_lead(lead_facts(lead, touch_count=1, touch_kinds=[touch_kind]), rules, thresholds)
        for lead in leads
    ]


def score_leads(
    lead_ids: Sequence[int],
    *,
    loaded: Sequence[Lead] = (),
    event_data: dict[str, Any] | None = None,
) -> int:
    """Score many leads at once (imports); same rules as one by one, far fewer queries.

    ``loaded`` are leads already in memory (with company and campaign set): they are scored
    without being read again.
    """
    rules, thresholds = active_rules(), current_thresholds()
    changed = (
        rescore_batch(list(loaded), rules=rules, thresholds=thresholds, event_data=event_data)
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
        changed += rescore_batch(batch, rules=rules, thresholds=thresholds, event_data=event_data)
    return changed


def rescore_job_run(*, job_id: int) -> RescoreJob | None:
    """Recompute every open lead, in id batches, with progress. Safe to run twice.

    The job is claimed with a conditional UPDATE (pending → running), so only one worker
    runs it; a second delivery finds it taken and returns.
    """
    claimed = RescoreJob.objects.filter(pk=job_id, status=JobStatus.PENDING).update(
        status=JobStatus.RUNNING, started_at=timezone.now()
    )
    if not claimed:
        return None
    job = RescoreJob.objects.get(pk=job_id)
    try:
        rules, thresholds = active_rules(), current_thresholds()
        open_leads = Lead.objects.exclude(stage__in=CLOSED_STAGES).filter(erased_at__isnull=True)
        RescoreJob.objects.filter(pk=job_id).update(total=open_leads.count())
        last_id, processed, changed = 0, 0, 0
        while True:
            batch = list(
                open_leads.filter(pk__gt=last_id)
                .order_by("pk")
                .select_related("company", "source_campaign__channel")[:BATCH_SIZE]
            )
            if not batch:
                break
            last_id = batch[-1].pk
            with transaction.atomic():
                batch_changed = rescore_batch(
                    batch, rules=rules, thresholds=thresholds, event_data={"job": job_id}
                )
            processed += len(batch)
            changed += batch_changed
            RescoreJob.objects.filter(pk=job_id).update(processed=processed, changed=changed)
        RescoreJob.objects.filter(pk=job_id).update(
            status=JobStatus.DONE, finished_at=timezone.now()
        )
    except Exception as exc:
        logger.exception("Rescore job %s failed", job_id)
        RescoreJob.objects.filter(pk=job_id).update(
            status=JobStatus.FAILED, error=str(exc)[:2000], finished_at=timezone.now()
        )
        raise
    job.refresh_from_db()
    return job


def sweep_unscored(*, older_than: dt.timedelta = dt.timedelta(minutes=2), limit: int = 1000) -> int:
    """Score open leads whose scoring never ran (the broker was down when it was queued):
    ``scored_at`` still empty some minutes after creation. Idempotent. Returns how many."""
    cutoff = timezone.now() - older_than
    unscored = list(
        Lead.objects.filter(scored_at__isnull=True, created_at__lt=cutoff, erased_at__isnull=True)
        .exclude(stage__in=CLOSED_STAGES)
        .order_by("created_at")
        .values_list("pk", flat=True)[:limit]
    )
    for pk in unscored:
        lead_score(lead=pk)
    return len(unscored)
