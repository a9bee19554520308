"""Report snapshots: the expensive period reports stored for the pages and the API (see
docs/architecture.md).

At a million leads the funnel, channel ROI, campaign ROI and the monthly trend take seconds
each. So:

- a beat task (``snapshots_refresh_standard``) stores them for the quick periods the pages
  offer (``reports.periods.period_presets``) under every attribution model;
- a page or endpoint first looks for a snapshot of its exact request computed less than
  ``REPORT_SNAPSHOT_MAX_AGE`` seconds ago (``report_answer``); without one it computes live
  when the period is cheap (at most ``REPORT_LIVE_MAX_LEADS`` leads created in it), and
  otherwise queues a ``ReportJob`` whose progress the page polls;
- a manager's "refresh" queues the same job for the reports on the page.

A snapshot is what the report's own selector returned (``ReportKey.compute``): no report
rule lives here. Jobs are safe with several workers: one job per set of reports is active
at a time (a partial unique constraint), a worker claims a job with a conditional UPDATE
and writes progress only under its claim token, and each snapshot is one upsert, so running
anything twice leaves one row per report.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import time
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypedDict

from django.conf import settings
from django.contrib.auth.models import AnonymousUser, User
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from leads.credits import MODELS
from leads.models import Lead
from notifications.events import tell_report_ready
from pipeline.queue import enqueue, enqueue_on_commit
from reports import selectors
from reports.attainment.agreement import agreement_figures, agreement_period
from reports.attainment.selectors import attainment_actuals
from reports.choices import ReportJobOrigin, ReportJobStatus, ReportKind
from reports.metrics_sql import sort_key
from reports.models import ReportJob, ReportSnapshot
from reports.periods import period_bounds, period_presets
from reports.rollups import read as rollups
from reports.trends import monthly_trend
from targets.choices import month_of, parse_period, previous_period, quarter_of

logger = logging.getLogger(__name__)

#: Kinds whose figures depend on the attribution model.
ATTRIBUTED = frozenset({ReportKind.CHANNEL_ROI, ReportKind.CAMPAIGN_ROI})
#: Kinds that can be narrowed to one channel (the channel ROI is one row per channel).
PER_CHANNEL = frozenset({ReportKind.CAMPAIGN_ROI, ReportKind.FUNNEL, ReportKind.TREND})
ACTIVE = (ReportJobStatus.PENDING, ReportJobStatus.RUNNING)
#: Snapshots and finished jobs older than this are deleted by the scheduled refresh.
KEEP = dt.timedelta(days=7)
#: The Celery task that runs a job (``report_job_run``), by its registered name: the task
#: module imports this one, so this one enqueues it by name (``pipeline.queue.task_named``).
REPORT_JOB_TASK = "reports.tasks.report_job_task"


class _Period(TypedDict):
    start: dt.date
    end: dt.date


class _Filters(_Period):
    channel_kind: str | None


@dataclass(frozen=True, order=True)
class ReportKey:
    """One report for one exact request. Build it with ``ReportKey.of``, which fills in
    what does not apply with ``""``, so equal requests make equal keys."""

    kind: str
    start: dt.date
    end: dt.date
    model: str = ""
    channel_kind: str = ""
    channel: str = ""

    @classmethod
    def of(
        cls,
        kind: str,
        *,
        start: dt.date,
        end: dt.date,
        model: str | None = None,
        channel_kind: str | None = None,
        channel: str | None = None,
    ) -> ReportKey:
        if kind not in ReportKind.values:
            raise ValueError(f"unknown report kind {kind!r}")
        if kind in ATTRIBUTED:
            model = model or "first_touch"
            if model not in MODELS:
                raise ValueError(f"unknown attribution model {model!r}")
        else:
            model = ""
        return cls(
            kind=kind,
            start=start,
            end=end,
            model=model,
            channel_kind=channel_kind or "",
            channel=(channel or "") if kind in PER_CHANNEL else "",
        )

    def as_json(self) -> dict[str, str]:
        return {
            "kind": self.kind,
            "from": self.start.isoformat(),
            "to": self.end.isoformat(),
            "model": self.model,
            "channel_kind": self.channel_kind,
            "channel": self.channel,
        }

    @classmethod
    def from_json(cls, data: dict[str, str]) -> ReportKey:
        return cls.of(
            data["kind"],
            start=dt.date.fromisoformat(data["from"]),
            end=dt.date.fromisoformat(data["to"]),
            model=data.get("model"),
            channel_kind=data.get("channel_kind"),
            channel=data.get("channel"),
        )

    @property
    def fields(self) -> dict[str, Any]:
        """The snapshot columns that identify this report."""
        return {
            "kind": self.kind,
            "model": self.model,
            "channel_kind": self.channel_kind,
            "channel": self.channel,
            "start": self.start,
            "end": self.end,
        }

    @property
    def period(self) -> str:
        """The target period (``2026-12``, ``2026-Q4``) of an attainment or agreement key,
        whose [start, end] is exactly one month or quarter; ``ValueError`` otherwise."""
        period = agreement_period(self.start, self.end)
        if period is None or parse_period(period) != (self.start, self.end):
            raise ValueError(f"{self.start}–{self.end} is not a month or a quarter")
        return period

    def compute(self, *, live: bool = False, page: RoiPage | None = None) -> Any:
        """The report, from its selector: the only place a snapshot's content comes from
        (the selector reads the daily rollups where they serve; ``live``: never). With
        ``page``, a campaign ROI report is the page's rows only, sorted and cut in the
        database (``selectors.campaign_roi_page``)."""
        common: _Filters = {
            "start": self.start,
            "end": self.end,
            "channel_kind": self.channel_kind or None,
        }
        channel = self.channel or None
        if self.kind == ReportKind.ATTAINMENT:
            return attainment_actuals(self.period)
        if self.kind == ReportKind.AGREEMENT:
            start, end = parse_period(self.period)
            return agreement_figures(start=start, end=end)
        if self.kind == ReportKind.CHANNEL_ROI:
            return selectors.channel_roi(model=self.model, live=live, **common)
        if self.kind == ReportKind.CAMPAIGN_ROI:
            if page is not None:
                return page.compute(model=self.model, channel=channel, live=live, **common)
            return selectors.campaign_roi(model=self.model, channel=channel, live=live, **common)
        if self.kind == ReportKind.FUNNEL:
            return selectors.funnel(channel=channel, live=live, **common)
        return monthly_trend(channel=channel, live=live, **common)


@dataclass(frozen=True)
class RoiPage:
    """Which rows of a campaign ROI report to give: sorted by ``sort``
    (``reports.metrics_sql.SORTABLE``, ``-`` for descending), ``limit`` rows from
    ``offset`` (``None``: every row, as an iterator, for an export). The report then also
    says its ``sort`` and ``count`` (rows of the whole report); its totals stay those of
    the whole report."""

    sort: str = selectors.DEFAULT_CAMPAIGN_SORT
    offset: int = 0
    limit: int | None = 50

    def compute(self, **args: Any) -> dict[str, Any]:
        """The page from the selector, in the database."""
        if self.limit is None:
            report = selectors.campaign_roi_page(**args, sort=self.sort, limit=0)
            return {**report, "rows": selectors.campaign_roi_stream(**args, sort=self.sort)}
        return selectors.campaign_roi_page(
            **args, sort=self.sort, offset=self.offset, limit=self.limit
        )

    def cut(self, report: dict[str, Any]) -> dict[str, Any]:
        """The page of a whole report (a snapshot), in the same order."""
        rows = sorted(report["rows"], key=sort_key(self.sort, "campaign"))
        end = None if self.limit is None else self.offset + self.limit
        return {
            **report,
            "sort": self.sort,
            "count": len(rows),
            "rows": rows if end is None else rows[self.offset : end],
        }


def _cut(answer: Answer, page: RoiPage | None) -> Answer:
    """The campaign ROI reports of a whole-report answer cut to ``page``."""
    if page is not None:
        for key, report in answer.reports.items():
            if key.kind == ReportKind.CAMPAIGN_ROI:
                answer.reports[key] = page.cut(report)
    return answer


# --------------------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------------------


@dataclass
class Answer:
    """What a page or endpoint shows: the reports (from snapshots or live), or the job
    computing them. ``computed_at`` is the oldest snapshot's time; ``None`` when live."""

    reports: dict[ReportKey, Any] = field(default_factory=dict)
    computed_at: dt.datetime | None = None
    job: ReportJob | None = None

    @property
    def ready(self) -> bool:
        return self.job is None


def snapshots_fresh(
    keys: Sequence[ReportKey], *, since: dt.datetime | None = None
) -> dict[ReportKey, ReportSnapshot]:
    """The snapshots of these reports computed less than ``REPORT_SNAPSHOT_MAX_AGE``
    seconds ago (or since ``since``), in one query; some may be missing."""
    if not keys:
        return {}
    oldest = since or timezone.now() - dt.timedelta(seconds=settings.REPORT_SNAPSHOT_MAX_AGE)
    match = Q()
    for key in keys:
        match |= Q(**key.fields)
    found = {}
    for snapshot in ReportSnapshot.objects.filter(match, computed_at__gte=oldest).order_by():
        found[ReportKey.of(snapshot.kind, **_key_args(snapshot))] = snapshot
    return found


def _key_args(snapshot: ReportSnapshot) -> dict[str, Any]:
    return {
        "start": snapshot.start,
        "end": snapshot.end,
        "model": snapshot.model,
        "channel_kind": snapshot.channel_kind,
        "channel": snapshot.channel,
    }


def _from_snapshots(
    keys: Sequence[ReportKey], *, since: dt.datetime | None = None
) -> Answer | None:
    found = snapshots_fresh(keys, since=since)
    if not all(key in found for key in keys):
        return None
    return Answer(
        reports={key: found[key].payload for key in keys},
        computed_at=min(found[key].computed_at for key in keys),
    )


#: Kinds the daily rollups answer (``reports.rollups``): every kind of report key.
ROLLED_UP = frozenset(
    {ReportKind.FUNNEL, ReportKind.CHANNEL_ROI, ReportKind.CAMPAIGN_ROI, ReportKind.TREND}
)


def _from_rollups(keys: Sequence[ReportKey]) -> bool:
    """Whether the rollups serve these reports now (their selectors then read them): one
    query, none when a kind is not rolled up."""
    if not keys or any(key.kind not in ROLLED_UP for key in keys):
        return False
    start, end = min(key.start for key in keys), max(key.end for key in keys)
    return rollups.plan(start, end) is not None


def is_cheap(keys: Iterable[ReportKey]) -> bool:
    """Whether these reports may be computed inside the request.

    The estimate is the number of leads created in the period (every report here scans the
    period's leads or their touches), counted by the ``created_at`` index and capped at
    ``REPORT_LIVE_MAX_LEADS + 1`` rows, so the estimate itself stays cheap at any size.
    The kind and channel filters are ignored: an upper bound is enough.
    """
    keys = list(keys)
    if not keys:
        return True
    limit = settings.REPORT_LIVE_MAX_LEADS
    low, high = period_bounds(min(k.start for k in keys), max(k.end for k in keys))
    leads = Lead.objects.filter(created_at__gte=low, created_at__lt=high).order_by()
    return leads.values("pk")[: limit + 1].count() <= limit


def report_answer(
    *,
    keys: Sequence[ReportKey],
    actor: User | AnonymousUser | None = None,
    job_id: int | str | None = None,
    page: RoiPage | None = None,
) -> Answer:
    """The reports for a page or endpoint, the cheapest way that is correct:

    1. a job the caller follows (``job_id``) that is still pending, running or failed:
       that job, so the page keeps showing its progress or its error; once it is done,
       the snapshots computed since it was queued, however old (the user waited for
       them: a short ``REPORT_SNAPSHOT_MAX_AGE`` must not send them round in circles);
    2. reports the daily rollups serve (``reports.rollups``: funnel, ROI and trend, any
       period and model, once built): computed from them now, never stale;
    3. fresh snapshots of every report asked for: them (one query);
    4. a cheap period (``is_cheap``): computed live, nothing stored;
    5. otherwise: the job computing them (queued now, or the one already active). In the
       embedded setup (tasks run eagerly) it has already finished when it is returned
       outside a transaction; the answer then holds the new snapshots.

    With ``page``, a campaign ROI report is one page of it (``RoiPage``): computed page
    only (2, 4), or cut from the whole stored report (1, 3, 5); snapshots and jobs always
    hold whole reports.
    """
    if job_id:
        followed = report_job_find(job_id)
        if followed is not None:
            if followed.status != ReportJobStatus.DONE:
                return Answer(job=followed)
            answer = _from_snapshots(keys, since=followed.created_at)
            if answer is not None:
                return _cut(answer, page)
    if _from_rollups(keys):
        return Answer(reports={key: key.compute(page=page) for key in keys})
    answer = _from_snapshots(keys)
    if answer is not None:
        return _cut(answer, page)
    if is_cheap(keys):  # the rollups do not serve these (above): live, no second look
        return Answer(reports={key: key.compute(live=True, page=page) for key in keys})
    job = report_job_request(keys=keys, actor=actor, origin=ReportJobOrigin.ON_DEMAND)
    job.refresh_from_db()
    if job.status == ReportJobStatus.DONE:
        answer = _from_snapshots(keys)
        if answer is not None:
            return _cut(answer, page)
    return Answer(job=job)


def report_job_find(job_id: int | str) -> ReportJob | None:
    try:
        return ReportJob.objects.filter(pk=int(job_id)).first()
    except (TypeError, ValueError):
        return None


# --------------------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------------------


def _digest(specs: list[dict[str, str]]) -> str:
    text = json.dumps(specs, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def report_job_request(
    *,
    keys: Iterable[ReportKey],
    actor: User | AnonymousUser | None = None,
    origin: str = ReportJobOrigin.ON_DEMAND,
    queue: bool = True,
) -> ReportJob:
    """Queue the computation of these reports, or return the job already pending or
    running for exactly the same reports.

    Two requests racing to create the same job: the partial unique constraint on ``key``
    lets one insert win; the other reads the winner's row. The task is enqueued after the
    surrounding transaction commits (``queue=False``: the caller runs the job itself).
    """
    ordered = sorted(set(keys))
    specs = [key.as_json() for key in ordered]
    digest = _digest(specs)
    user = actor if actor is not None and actor.is_authenticated else None
    for _attempt in range(3):
        active = ReportJob.objects.filter(key=digest, status__in=ACTIVE).first()
        if active is not None:
            return active
        try:
            with transaction.atomic():
                job = ReportJob.objects.create(
                    key=digest,
                    reports=specs,
                    total=len(specs),
                    origin=origin,
                    requested_by=user,
                )
        except IntegrityError:
            continue  # another request created it first: read theirs
        if queue:
            enqueue_on_commit(REPORT_JOB_TASK, job.pk)
        return job
    raise RuntimeError(f"could not create or find the report job {digest}")


def snapshot_store(*, key: ReportKey, payload: Any, seconds: float = 0.0) -> None:
    """Insert or replace the snapshot of one report, in one statement (an upsert on the
    unique key): two workers storing the same report leave one row, the later one."""
    ReportSnapshot.objects.bulk_create(
        [
            ReportSnapshot(
                **key.fields, payload=payload, computed_at=timezone.now(), seconds=seconds
            )
        ],
        update_conflicts=True,
        unique_fields=["kind", "model", "channel_kind", "channel", "start", "end"],
        update_fields=["payload", "computed_at", "seconds"],
    )


def report_job_claim(*, job_id: int) -> uuid.UUID | None:
    """Take a job for this worker: a conditional UPDATE from pending (or from running
    without a heartbeat for ``REPORT_JOB_STALE_SECONDS``, its worker presumed dead) to
    running with a new claim token. Exactly one of several racing workers gets a row count
    of 1 and the token; the others get ``None``."""
    now = timezone.now()
    stale = now - dt.timedelta(seconds=settings.REPORT_JOB_STALE_SECONDS)
    run = uuid.uuid4()
    claimed = (
        ReportJob.objects.filter(pk=job_id)
        .filter(
            Q(status=ReportJobStatus.PENDING)
            | Q(status=ReportJobStatus.RUNNING, heartbeat_at__lt=stale)
        )
        .update(
            status=ReportJobStatus.RUNNING,
            run=run,
            processed=0,
            started_at=now,
            heartbeat_at=now,
        )
    )
    return run if claimed else None


def report_job_run(*, job_id: int) -> ReportJob | None:
    """Compute a job's reports one by one, storing each snapshot and counting it done, so
    the page's progress bar moves per report. Safe to run twice and on several workers:
    only the claimant runs it (``report_job_claim``), and a claimant that lost its claim
    stops at the next report. A failing report fails the job with its error (logged), and
    is not raised: the page shows the failure and offers a retry.

    Returns the finished job, or ``None`` when another worker has it.
    """
    run = report_job_claim(job_id=job_id)
    if run is None:
        return None
    job = ReportJob.objects.get(pk=job_id)
    mine = ReportJob.objects.filter(pk=job_id, run=run)
    try:
        for done, spec in enumerate(job.reports, start=1):
            key = ReportKey.from_json(spec)
            began = time.perf_counter()
            payload = key.compute()
            snapshot_store(key=key, payload=payload, seconds=time.perf_counter() - began)
            if not mine.update(processed=done, heartbeat_at=timezone.now()):
                logger.warning("Report job %s was taken over; this worker stops", job_id)
                return None
        mine.update(status=ReportJobStatus.DONE, finished_at=timezone.now())
    except Exception as exc:
        logger.exception("Report job %s failed", job_id)
        mine.update(
            status=ReportJobStatus.FAILED, error=str(exc)[:2000], finished_at=timezone.now()
        )
    job.refresh_from_db()
    tell_report_ready(job_id=job_id)
    return job


def standard_report_keys(*, today: dt.date | None = None) -> list[ReportKey]:
    """What the dashboard and the report endpoints ask for most: every quick period of the
    pages, online and offline together, the funnel and the trend once and the channel and
    campaign ROI under each attribution model."""
    today = today or timezone.localdate()
    keys: list[ReportKey] = []
    for _label, start, end in period_presets(today):
        period: _Period = {"start": start, "end": end}
        keys.append(ReportKey.of(ReportKind.FUNNEL, **period))
        keys.append(ReportKey.of(ReportKind.TREND, **period))
        for model in MODELS:
            keys.append(ReportKey.of(ReportKind.CHANNEL_ROI, model=model, **period))
            keys.append(ReportKey.of(ReportKind.CAMPAIGN_ROI, model=model, **period))
    keys += attainment_report_keys(today=today)
    return list(dict.fromkeys(keys))  # two presets may be the same period (1 January)


def attainment_periods(today: dt.date) -> list[str]:
    """The periods the attainment and agreement pages offer and their snapshots cover:
    this month, the previous one and this quarter."""
    this_month = month_of(today)
    return [this_month, previous_period(this_month), quarter_of(today)]


def attainment_key(kind: str, period: str) -> ReportKey:
    """The snapshot key of a period's attainment actuals or agreement figures."""
    start, end = parse_period(period)
    return ReportKey.of(kind, start=start, end=end)


def attainment_report_keys(*, today: dt.date | None = None) -> list[ReportKey]:
    """The attainment actuals and agreement figures of every period the pages offer."""
    today = today or timezone.localdate()
    return [
        attainment_key(kind, period)
        for period in attainment_periods(today)
        for kind in (ReportKind.ATTAINMENT, ReportKind.AGREEMENT)
    ]


def report_jobs_resume() -> int:
    """Queue again the jobs a lost message or a dead worker left behind: pending or
    running without a heartbeat for ``REPORT_JOB_STALE_SECONDS``. A second delivery of a
    job that is in fact alive finds it claimed and does nothing."""
    stale = timezone.now() - dt.timedelta(seconds=settings.REPORT_JOB_STALE_SECONDS)
    ids = list(
        ReportJob.objects.filter(
            Q(status=ReportJobStatus.PENDING, created_at__lt=stale)
            | Q(status=ReportJobStatus.RUNNING, heartbeat_at__lt=stale)
        ).values_list("pk", flat=True)
    )
    for pk in ids:
        enqueue(REPORT_JOB_TASK, pk)
    return len(ids)


def snapshots_prune() -> int:
    """Delete snapshots and finished jobs older than ``KEEP`` (the quick periods move
    every day, so yesterday's snapshots are never read again)."""
    cutoff = timezone.now() - KEEP
    deleted, _ = ReportSnapshot.objects.filter(computed_at__lt=cutoff).delete()
    ReportJob.objects.filter(
        status__in=[ReportJobStatus.DONE, ReportJobStatus.FAILED], finished_at__lt=cutoff
    ).delete()
    return deleted


def snapshots_refresh_standard(*, today: dt.date | None = None) -> ReportJob | None:
    """Beat: recompute the standard snapshots in this worker, as a job whose progress
    shows like any other. If a previous refresh is still running, it is left alone."""
    report_jobs_resume()
    snapshots_prune()
    job = report_job_request(
        keys=standard_report_keys(today=today), origin=ReportJobOrigin.SCHEDULED, queue=False
    )
    return report_job_run(job_id=job.pk)
