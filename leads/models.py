"""Companies, leads and everything that happens to a lead.

Writes with rules go through ``leads.lifecycle``; models hold fields, constraints and
cheap properties only.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.core.validators import MaxValueValidator
from django.db import models
from django.db.models import Case, F, IntegerField, Q, Value, When
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from assignment.reasons import reason_text
from leads.choices import (
    CLOSED_STAGES,
    CompanySize,
    DecisionRole,
    EventKind,
    FollowUpMethod,
    Grade,
    GradeSource,
    ImportRowOutcome,
    ImportStatus,
    LegalBasis,
    ReviewStatus,
    Stage,
    Timeline,
    TouchKind,
    ViewScope,
)

MONEY = {"max_digits": 14, "decimal_places": 2}
#: Events that record an ownership decision and keep its reason as code and parameters.
DECISION_EVENT_KINDS = frozenset({EventKind.ASSIGNED, EventKind.REASSIGNED, EventKind.POOLED})


class Company(models.Model):
    """A customer organisation; ``normalized_name`` makes 华为技术有限公司 match 华为技术."""

    name = models.CharField(_("name"), max_length=200)
    normalized_name = models.CharField(_("normalized name"), max_length=200, unique=True)
    industry = models.CharField(_("industry"), max_length=100, blank=True)
    size = models.CharField(
        _("size"), max_length=12, choices=CompanySize.choices, blank=True, default=""
    )
    region = models.CharField(_("region"), max_length=100, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("company")
        verbose_name_plural = _("companies")
        constraints = [
            models.CheckConstraint(
                condition=Q(size__in=CompanySize.values), name="company_size_valid"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def save(self, *args: Any, **kwargs: Any) -> None:
        """A rename reaches the leads' sortable copy (``Lead.company_name``)."""
        renamed = (
            self.pk is not None
            and Company.objects.filter(pk=self.pk).exclude(name=self.name).exists()
        )
        super().save(*args, **kwargs)
        if renamed:
            Lead.objects.filter(company_id=self.pk).update(company_name=company_name_of(self))


def company_name_of(company: Any) -> str | None:
    """The lead's sortable company name (``Lead.company_name``) for a company (or the
    import's look-alike of one, with ``name``) or ``None``: the one definition."""
    return company.name if company is not None else None


#: Stages in lifecycle order (new → … → disqualified) for sorting: the lead list's stage
#: sort and the index that serves it are this one expression.
STAGE_ORDER = Case(
    *[When(stage=code, then=Value(index)) for index, code in enumerate(Stage.values)],
    default=Value(len(Stage.values)),
    output_field=IntegerField(),
)


class Lead(models.Model):
    """A person who may buy, and how far they have got through the loop."""

    # contact
    name = models.CharField(_("name"), max_length=100)
    title = models.CharField(_("title"), max_length=100, blank=True)
    phone = models.CharField(_("phone"), max_length=20, blank=True)
    email = models.EmailField(_("email"), max_length=254, blank=True)
    wechat = models.CharField(_("WeChat"), max_length=64, blank=True)
    company = models.ForeignKey(
        Company,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="leads",
        db_index=False,  # the composite index below starts with it
        verbose_name=_("company"),
    )
    #: The company's name, copied onto the lead so the list's company sort is read from an
    #: index of the lead table (no join): ``None`` without a company. Kept in sync by
    #: ``Lead.save``, ``Company.save`` (a rename) and the bulk writers
    #: (``new_lead_values``); see ``company_name_of``.
    #: NULL (not "") without a company, so such leads sort last in both directions.
    company_name = models.CharField(  # noqa: DJ001
        _("company name"), max_length=200, null=True, blank=True, editable=False
    )
    # need
    product_interest = models.CharField(_("product interest"), max_length=200, blank=True)
    budget = models.DecimalField(_("budget"), null=True, blank=True, **MONEY)
    timeline = models.CharField(
        _("timeline"), max_length=10, choices=Timeline.choices, default=Timeline.UNKNOWN
    )
    decision_role = models.CharField(
        _("decision role"),
        max_length=20,
        choices=DecisionRole.choices,
        default=DecisionRole.UNKNOWN,
    )
    need = models.TextField(_("need"), blank=True)
    # attribution
    source_campaign = models.ForeignKey(
        "campaigns.Campaign",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="sourced_leads",
        db_index=False,  # the composite index below starts with it
        verbose_name=_("source campaign"),
    )
    utm_source = models.CharField(_("utm_source"), max_length=100, blank=True)
    utm_medium = models.CharField(_("utm_medium"), max_length=100, blank=True)
    utm_campaign = models.CharField(_("utm_campaign"), max_length=100, blank=True)
    utm_term = models.CharField(_("utm_term"), max_length=100, blank=True)
    utm_content = models.CharField(_("utm_content"), max_length=100, blank=True)
    landing_page = models.URLField(_("landing page"), max_length=500, blank=True)
    # PIPL consent (DESIGN §13): when the person last agreed to the privacy notice through the
    # public form or the capture API, and to which version of it.
    consent_at = models.DateTimeField(_("consent given at"), null=True, blank=True)
    consent_version = models.CharField(_("privacy notice version"), max_length=40, blank=True)
    # lifecycle
    stage = models.CharField(_("stage"), max_length=12, choices=Stage.choices, default=Stage.NEW)
    grade = models.CharField(_("grade"), max_length=1, choices=Grade.choices, blank=True)
    grade_source = models.CharField(
        _("grade source"), max_length=6, choices=GradeSource.choices, blank=True
    )
    grade_reason = models.CharField(_("grade reason"), max_length=500, blank=True)
    score = models.PositiveSmallIntegerField(
        _("score"), default=0, validators=[MaxValueValidator(100)]
    )
    score_detail = models.JSONField(_("score detail"), default=list, blank=True)
    #: The scoring rule set version (``GradeThresholds.version``) the score was computed
    #: with; 0: never scored. Scoring writes are conditional on it (``scoring.services``).
    score_version = models.PositiveIntegerField(_("score rule set version"), default=0)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="owned_leads",
        db_index=False,  # the composite index below starts with it
        verbose_name=_("owner"),
    )
    in_pool = models.BooleanField(_("in pool"), default=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="created_leads",
        verbose_name=_("created by"),
    )
    # Indexed by ``lead_created_id`` (created_at, id), which serves every range and order of it.
    created_at = models.DateTimeField(_("created at"))
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    #: Set when the scorer last wrote the score (in the transaction that created or
    #: changed the lead, or by a rescore).
    scored_at = models.DateTimeField(_("scored at"), null=True, blank=True)
    mql_at = models.DateTimeField(_("MQL at"), null=True, blank=True)
    sql_at = models.DateTimeField(_("SQL at"), null=True, blank=True)
    opportunity_at = models.DateTimeField(_("opportunity at"), null=True, blank=True)
    won_at = models.DateTimeField(_("won at"), null=True, blank=True)
    lost_at = models.DateTimeField(_("lost at"), null=True, blank=True)
    disqualified_at = models.DateTimeField(_("disqualified at"), null=True, blank=True)
    assigned_at = models.DateTimeField(_("assigned at"), null=True, blank=True)
    pooled_at = models.DateTimeField(_("pooled at"), null=True, blank=True)
    first_contact_at = models.DateTimeField(_("first contact at"), null=True, blank=True)
    #: The current owner's SLA clock: due time of the first response for this assignment,
    #: and when it came (cleared on every new assignment).
    response_due_at = models.DateTimeField(_("first response due"), null=True, blank=True)
    responded_at = models.DateTimeField(_("responded at"), null=True, blank=True)
    last_follow_up_at = models.DateTimeField(_("last follow-up at"), null=True, blank=True)
    next_follow_up_at = models.DateTimeField(_("next follow-up at"), null=True, blank=True)
    # deal
    expected_amount = models.DecimalField(_("expected amount"), null=True, blank=True, **MONEY)
    #: When the owner expects an open deal to close (optional; ``lead_update``): the
    #: forecast counts the deal in the period it falls in (``reports.forecast``).
    expected_close_date = models.DateField(_("expected close date"), null=True, blank=True)
    won_amount = models.DecimalField(_("won amount"), null=True, blank=True, **MONEY)
    signed_at = models.DateField(_("signed on"), null=True, blank=True)
    # reasons (codes; the free text lives on the LeadEvent)
    disqualify_reason = models.CharField(_("disqualify reason"), max_length=30, blank=True)
    reject_reason = models.CharField(_("last reject reason"), max_length=30, blank=True)
    lost_reason = models.CharField(_("lost reason"), max_length=30, blank=True)
    recycle_reason = models.CharField(_("last recycle reason"), max_length=30, blank=True)
    # privacy (PIPL): when the person's data was erased (``leads.privacy``); who did it is
    # on the ``data_erased`` event.
    erased_at = models.DateTimeField(_("personal data erased at"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("lead")
        verbose_name_plural = _("leads")
        constraints = [
            models.CheckConstraint(condition=Q(stage__in=Stage.values), name="lead_stage_valid"),
            models.CheckConstraint(
                condition=Q(grade__in=["", *Grade.values]), name="lead_grade_valid"
            ),
            models.CheckConstraint(
                condition=Q(grade_source__in=["", *GradeSource.values]),
                name="lead_grade_source_valid",
            ),
            models.CheckConstraint(condition=Q(score__lte=100), name="lead_score_lte_100"),
            models.CheckConstraint(
                condition=Q(in_pool=False) | Q(owner__isnull=True), name="lead_pool_has_no_owner"
            ),
            models.CheckConstraint(
                condition=Q(budget__isnull=True) | Q(budget__gte=0), name="lead_budget_gte_0"
            ),
            models.CheckConstraint(
                condition=Q(expected_amount__isnull=True) | Q(expected_amount__gte=0),
                name="lead_expected_amount_gte_0",
            ),
            models.CheckConstraint(
                condition=~Q(stage=Stage.WON)
                | (Q(won_amount__gt=0) & Q(signed_at__isnull=False) & Q(won_at__isnull=False)),
                name="lead_won_has_amount_and_date",
            ),
            models.CheckConstraint(
                condition=Q(won_amount__isnull=True) | Q(won_amount__gt=0),
                name="lead_won_amount_gt_0",
            ),
            models.CheckConstraint(
                condition=Q(stage__in=[Stage.NEW, Stage.DISQUALIFIED]) | Q(mql_at__isnull=False),
                name="lead_past_new_has_mql_at",
            ),
            # The duplicate rule (撞单 guard) at the database level: one open lead per
            # normalised phone and per email.
            models.UniqueConstraint(
                fields=["phone"],
                condition=~Q(phone="") & ~Q(stage__in=sorted(CLOSED_STAGES)),
                name="lead_open_phone_unique",
            ),
            models.UniqueConstraint(
                fields=["email"],
                condition=~Q(email="") & ~Q(stage__in=sorted(CLOSED_STAGES)),
                name="lead_open_email_unique",
            ),
            models.CheckConstraint(
                condition=~Q(stage__in=[Stage.SQL, Stage.OPPORTUNITY])
                | Q(owner__isnull=False)
                | Q(in_pool=True),
                name="lead_sales_stage_owned_or_pooled",
            ),
        ]
        indexes = [
            # Every index is paid for by each insert and by each update of its columns (a
            # routed lead's owner update maintains all that hold owner_id/assigned_at and,
            # never HOT, every other one too), so none repeats another's leading columns:
            # (created_at) is lead_created_id's prefix, (owner, stage) lead_owner_new's
            # (PostgreSQL; lead_owner_created leads with owner on SQLite), (pooled_at) WHERE
            # in_pool gave way to lead_pool_order (same predicate), (grade, stage) and
            # (stage, id) to lead_grade_id and the stage-leading indexes (migration 0021).
            models.Index(fields=["stage", "created_at"]),
            models.Index(fields=["source_campaign", "created_at"]),
            models.Index(fields=["company", "stage"]),
            # The search box matches a normalised phone or a WeChat id exactly.
            models.Index(fields=["phone"], name="lead_phone_idx"),
            models.Index(fields=["wechat"], name="lead_wechat_idx"),
            # One index per sort the lists offer, with the tiebreaker ``id`` (read forwards
            # or backwards), so the first page is an index range, never a sort of the table.
            # Name and company (collated) are indexed by migrations 0015/0019 on PostgreSQL.
            models.Index(fields=["created_at", "id"], name="lead_created_id"),
            models.Index(fields=["score", "id"], name="lead_score_id"),
            models.Index(fields=["grade", "id"], name="lead_grade_id"),
            models.Index(STAGE_ORDER, F("id"), name="lead_stage_order_id"),
            # Names and companies in the database collation: the sorts where there is no
            # people's collation (SQLite; PostgreSQL without it). On PostgreSQL with the
            # collation, migration 0021 drops them (the collated indexes serve the sorts).
            models.Index(fields=["name", "id"], name="lead_name_id"),
            models.Index(fields=["company_name", "id"], name="lead_company_name_id"),
            # Nullable: ascending is NULLS LAST (read forwards). Descending NULLS LAST and
            # "new for me" (assigned_at DESC NULLS LAST) have PostgreSQL-only indexes in
            # migration 0015 (SQLite has no NULLS LAST in an index).
            models.Index(fields=["next_follow_up_at", "id"], name="lead_follow_up_id"),
            # The desk's new queue, the pool, "new for me", the routing page.
            models.Index(fields=["stage", "-score", "created_at", "id"], name="lead_desk_queue"),
            models.Index(
                fields=["-score", "pooled_at", "id"],
                condition=Q(in_pool=True),
                name="lead_pool_order",
            ),
            models.Index(
                fields=["stage", "mql_at", "id"],
                condition=Q(owner__isnull=True),
                name="lead_unowned_mql",
            ),
            # "My leads" (the list with owner=me), newest first: the owner's leads in the
            # order, not the whole table's newest scanned for theirs (docs/architecture.md).
            models.Index(fields=["owner", "created_at", "id"], name="lead_owner_created"),
            # A rep's campaign drop-down (``lead_campaign_choices``): the source campaigns
            # of the leads they hold, read from the index alone (docs/architecture.md).
            models.Index(
                fields=["owner", "source_campaign"],
                condition=Q(in_pool=False),
                name="lead_owner_campaign",
            ),
            # Deals won or lost in a period (``reports.selectors.closed_in_period``, the
            # dashboard's "closed in the period"): an index range holding what the sums
            # read (PostgreSQL; elsewhere the include is dropped), not every won lead.
            models.Index(
                fields=["won_at"],
                include=["won_amount", "source_campaign"],
                condition=Q(stage="won"),
                name="lead_won_at",
            ),
            models.Index(
                fields=["lost_at"],
                include=["source_campaign"],
                condition=Q(stage="lost"),
                name="lead_lost_at",
            ),
        ]

    def __str__(self) -> str:
        if self.erased_at is not None and not self.name:
            return str(_("(erased)"))
        return self.name

    def save(self, *args: Any, **kwargs: Any) -> None:
        """Keep ``company_name`` equal to the linked company's name."""
        name = company_name_of(self.company) if self.company_id else None
        if name != self.company_name:
            self.company_name = name
            fields = kwargs.get("update_fields")
            if fields is not None:
                kwargs["update_fields"] = {*fields, "company_name"}
        super().save(*args, **kwargs)

    @property
    def is_erased(self) -> bool:
        return self.erased_at is not None

    @property
    def is_open(self) -> bool:
        return self.stage not in CLOSED_STAGES


class LeadTouch(models.Model):
    """One arrival of a person through a campaign (form, check-in, webinar, import row)."""

    lead = models.ForeignKey(
        Lead, on_delete=models.CASCADE, related_name="touches", db_index=False
    )  # indexed by (lead, occurred_at)
    campaign = models.ForeignKey(
        "campaigns.Campaign",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="touches",
        db_index=False,  # the composite index below starts with it
        verbose_name=_("campaign"),
    )
    kind = models.CharField(_("kind"), max_length=16, choices=TouchKind.choices)
    occurred_at = models.DateTimeField(_("occurred at"))
    is_first = models.BooleanField(_("first touch"), default=False)
    utm_source = models.CharField(_("utm_source"), max_length=100, blank=True)
    utm_medium = models.CharField(_("utm_medium"), max_length=100, blank=True)
    landing_page = models.URLField(_("landing page"), max_length=500, blank=True)
    # Attribution credit of this touch under each model (docs/architecture.md §4), kept current by
    # ``leads.credits.recompute_credits`` whenever the lead's touches or sql_at change,
    # so every model's report is a plain sum.
    credit_first_touch = models.FloatField(default=0)
    credit_last_touch = models.FloatField(default=0)
    credit_linear = models.FloatField(default=0)
    credit_u_shaped = models.FloatField(default=0)
    #: What an arrival gave that differs from its lead (a conflict: the same phone or email
    #: under another name or contact): ``{"name", "phone", "email", "company"}`` as given,
    #: kept for the desk's review (``ContactReview``); empty for every other touch. Personal
    #: data: wiped on erasure, included in the export (``leads.privacy``).
    given = models.JSONField(_("values given"), default=dict, blank=True)

    class Meta:
        ordering = ["occurred_at", "id"]
        verbose_name = _("lead touch")
        verbose_name_plural = _("lead touches")
        constraints = [
            models.UniqueConstraint(
                fields=["lead"], condition=Q(is_first=True), name="lead_touch_one_first"
            ),
            models.CheckConstraint(
                condition=Q(kind__in=TouchKind.values), name="lead_touch_kind_valid"
            ),
        ]
        indexes = [
            models.Index(fields=["lead", "occurred_at"]),
            models.Index(fields=["campaign", "occurred_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.lead_id} ← {self.campaign_id} ({self.kind})"


class LeadEventQuerySet(models.QuerySet):
    """The timeline is append-only: bulk updates and deletes are refused.

    One rewrite is sanctioned, and only through ``erase_personal_texts``: a data-subject
    erasure (PIPL, ``leads.privacy``) replaces the texts of a person's events. Nothing else
    may change an event, and the guards below stay closed for every other caller.
    """

    def update(self, **kwargs):
        raise TypeError("LeadEvent rows are append-only and cannot be updated.")

    def delete(self):
        raise TypeError("LeadEvent rows are append-only and cannot be deleted.")

    def erase_personal_texts(self, rewrites: Mapping[int, tuple[str, dict[str, Any]]]) -> int:
        """The one sanctioned rewrite of events: ``{event id: (reason, data)}`` replaces
        those events' ``reason`` and ``data`` (kind, stages, actor and time never change).

        Only ``leads.privacy`` calls it, with texts it has scrubbed of the person's data;
        each row is written with the base queryset's ``update`` (the append-only guard of
        this queryset and of ``LeadEvent.save`` stays in force). Returns rows written.
        """
        written = 0
        for pk, (reason, data) in rewrites.items():
            written += models.QuerySet.update(self.filter(pk=pk), reason=reason, data=data)
        return written


class LeadEvent(models.Model):
    """Append-only timeline entry: one per transition, touch, follow-up, breach …"""

    lead = models.ForeignKey(
        Lead, on_delete=models.CASCADE, related_name="events", db_index=False
    )  # indexed by (lead, at)
    kind = models.CharField(_("kind"), max_length=20, choices=EventKind.choices)
    from_stage = models.CharField(_("from stage"), max_length=12, blank=True)
    to_stage = models.CharField(_("to stage"), max_length=12, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="lead_events",
        db_index=False,  # the composite index below starts with it
        verbose_name=_("actor"),
    )
    at = models.DateTimeField(_("at"))
    reason = models.TextField(_("reason"), blank=True)
    data = models.JSONField(_("data"), default=dict, blank=True)

    objects = LeadEventQuerySet.as_manager()

    class Meta:
        ordering = ["at", "id"]
        verbose_name = _("lead event")
        verbose_name_plural = _("lead events")
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=EventKind.values), name="lead_event_kind_valid"
            ),
        ]
        indexes = [
            models.Index(fields=["lead", "at"]),
            models.Index(fields=["kind", "at"]),
            models.Index(fields=["actor", "kind", "at"]),
        ]

    def __str__(self) -> str:
        return f"{self.lead_id} {self.kind} {self.at:%Y-%m-%d %H:%M}"

    def save(self, *args, **kwargs):
        # Guard, not a side effect: an existing event is never rewritten.
        if self.pk is not None and not kwargs.get("force_insert"):
            raise TypeError("LeadEvent rows are append-only and cannot be updated.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise TypeError("LeadEvent rows are append-only and cannot be deleted.")

    @property
    def reason_display(self) -> str:
        """The reason in the active language. An ownership decision (assigned, reassigned,
        pooled) keeps its reason as a code and parameters in ``data``; other events' text,
        and decisions recorded before codes existed, are shown as stored. (Other kinds use
        ``data["reason_code"]`` for their own choice codes: rejected, recycled …)"""
        data = self.data if isinstance(self.data, dict) else {}
        if self.kind in DECISION_EVENT_KINDS and data.get("reason_code"):
            return reason_text(
                str(data["reason_code"]), data.get("reason_params"), fallback=self.reason
            )
        return self.reason


class FollowUp(models.Model):
    """A logged contact with the lead by a salesperson."""

    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="follow_ups")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="follow_ups",
        verbose_name=_("author"),
    )
    at = models.DateTimeField(_("at"))
    method = models.CharField(_("method"), max_length=10, choices=FollowUpMethod.choices)
    outcome = models.CharField(_("outcome"), max_length=200, blank=True)
    note = models.TextField(_("note"), blank=True)
    next_follow_up_at = models.DateTimeField(_("next follow-up at"), null=True, blank=True)
    #: When it was written (``at`` is when it happened, as claimed); see
    #: ``leads.lifecycle.followups.effective_at``.
    recorded_at = models.DateTimeField(_("recorded at"), default=timezone.now)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name = _("follow-up")
        verbose_name_plural = _("follow-ups")
        constraints = [
            models.CheckConstraint(
                condition=Q(method__in=FollowUpMethod.values), name="follow_up_method_valid"
            ),
        ]
        indexes = [
            models.Index(fields=["lead", "at"]),
            models.Index(fields=["author", "at"]),
        ]

    def __str__(self) -> str:
        return f"{self.lead_id} {self.method} {self.at:%Y-%m-%d}"


class IdempotencyKey(models.Model):
    """The first answer to a request carrying an ``Idempotency-Key``; repeats get it again."""

    scope = models.CharField(max_length=30)
    #: Compared whole: the API refuses a longer key instead of cutting it.
    key = models.CharField(max_length=255)
    request_hash = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    response = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("idempotency key")
        verbose_name_plural = _("idempotency keys")
        constraints = [
            models.UniqueConstraint(fields=["scope", "key"], name="idempotency_key_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.scope}:{self.key}"


class ImportJob(models.Model):
    """A bulk import of an attendee list or ad-platform export into one campaign.

    Progress (``processed`` and the counters) is committed together with each batch of
    rows, so a job interrupted mid-file resumes after the last committed batch.
    """

    campaign = models.ForeignKey(
        "campaigns.Campaign",
        on_delete=models.PROTECT,
        related_name="imports",
        verbose_name=_("campaign"),
    )
    file = models.FileField(_("file"), upload_to="imports/%Y/%m/")
    original_name = models.CharField(_("file name"), max_length=255)
    file_kind = models.CharField(_("file type"), max_length=4)
    encoding = models.CharField(_("encoding"), max_length=20, blank=True)
    delimiter = models.CharField(_("delimiter"), max_length=1, blank=True)
    headers = models.JSONField(_("headers"), default=list)
    mapping = models.JSONField(_("column mapping"), default=dict)
    touch_kind = models.CharField(
        _("touch kind"), max_length=16, choices=TouchKind.choices, default=TouchKind.IMPORT
    )
    #: The marketer's statement of the legal basis of the list (PIPL); blank on imports made
    #: before it was asked for.
    legal_basis = models.CharField(
        _("legal basis"), max_length=32, choices=LegalBasis.choices, blank=True
    )
    legal_basis_note = models.CharField(_("legal basis note"), max_length=500, blank=True)
    legal_basis_date = models.DateField(_("legal basis date"), null=True, blank=True)
    #: The first data rows, read with the headers by the worker, for the mapping page.
    sample = models.JSONField(_("sample rows"), default=list, blank=True)
    #: Uploaded on the page and waiting for the user to confirm the column mapping: the job
    #: is not run until then.
    awaiting_mapping = models.BooleanField(_("awaiting the column mapping"), default=False)
    status = models.CharField(
        _("status"), max_length=10, choices=ImportStatus.choices, default=ImportStatus.PENDING
    )
    total = models.PositiveIntegerField(_("rows"), null=True, blank=True)
    processed = models.PositiveIntegerField(_("processed"), default=0)
    created = models.PositiveIntegerField(_("created"), default=0)
    duplicates = models.PositiveIntegerField(_("duplicates"), default=0)
    failed = models.PositiveIntegerField(_("failed"), default=0)
    conflicts = models.PositiveIntegerField(_("conflicts"), default=0)
    errors = models.JSONField(_("errors"), default=list, blank=True)
    message = models.TextField(_("message"), blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="imports",
        verbose_name=_("created by"),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    heartbeat_at = models.DateTimeField(_("heartbeat"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("import")
        verbose_name_plural = _("imports")
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=ImportStatus.values), name="import_job_status_valid"
            ),
        ]
        indexes = [models.Index(fields=["created_at", "id"], name="import_job_created_id")]

    def __str__(self) -> str:
        return f"{self.original_name} ({self.status})"


class SavedView(models.Model):
    """A named lead-list view: its filter querystring and chosen columns.

    Shared with a team or company-wide it is still only filters: each viewer applies it
    within their own visibility (``leads.saved_views``)."""

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="saved_views",
        verbose_name=_("owner"),
    )
    name = models.CharField(_("name"), max_length=80)
    query = models.CharField(_("filters"), max_length=2000, blank=True)
    columns = models.JSONField(_("columns"), default=list, blank=True)
    scope = models.CharField(
        _("shared with"), max_length=10, choices=ViewScope.choices, default=ViewScope.PRIVATE
    )
    team = models.ForeignKey(
        "assignment.Team",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="saved_views",
        verbose_name=_("team"),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        ordering = ["name", "id"]
        verbose_name = _("saved view")
        verbose_name_plural = _("saved views")
        constraints = [
            models.CheckConstraint(
                condition=Q(scope__in=ViewScope.values), name="saved_view_scope_valid"
            ),
            models.CheckConstraint(
                condition=Q(scope="team", team__isnull=False) | (~Q(scope="team") & Q(team=None)),
                name="saved_view_team_iff_team_scope",
            ),
            models.UniqueConstraint(fields=["owner", "name"], name="saved_view_owner_name_unique"),
        ]
        indexes = [models.Index(fields=["scope", "team"])]

    def __str__(self) -> str:
        return self.name


class ImportRow(models.Model):
    """The outcome of one data row of an import (row 1 is the first line under the headers):
    the lead it created or touched and every problem found in it. Written in bulk with the
    batch the row belongs to, so a resumed job never stores a row twice."""

    job = models.ForeignKey(
        ImportJob, on_delete=models.CASCADE, related_name="rows", verbose_name=_("import")
    )
    row = models.PositiveIntegerField(_("row"))
    outcome = models.CharField(_("outcome"), max_length=10, choices=ImportRowOutcome.choices)
    lead = models.ForeignKey(
        Lead,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,  # read through the job; a lead's rows are not listed
        verbose_name=_("lead"),
    )
    #: ``[{"column", "message"}]``: every problem of the row (a conflict says what differs).
    messages = models.JSONField(_("messages"), default=list, blank=True)

    class Meta:
        ordering = ["job", "row"]
        verbose_name = _("import row")
        verbose_name_plural = _("import rows")
        constraints = [
            models.UniqueConstraint(fields=["job", "row"], name="import_row_unique"),
            models.CheckConstraint(
                condition=Q(outcome__in=ImportRowOutcome.values), name="import_row_outcome_valid"
            ),
        ]
        indexes = [models.Index(fields=["job", "outcome", "row"])]

    def __str__(self) -> str:
        return f"{self.job_id}#{self.row}: {self.outcome}"


class ContactReview(models.Model):
    """A lead flagged for the desk: an arrival matched it by phone or email but gave another
    name or the other contact (``touch.given``). Open until the desk decides: the same
    person (kept), the lead's contact updated, or a different person (a new lead, to which
    the touch moves). Decided through ``leads.reviews``."""

    lead = models.ForeignKey(
        Lead, on_delete=models.CASCADE, related_name="contact_reviews", verbose_name=_("lead")
    )
    touch = models.OneToOneField(
        LeadTouch,
        on_delete=models.CASCADE,
        related_name="review",
        verbose_name=_("touch"),
    )
    job = models.ForeignKey(
        ImportJob,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="reviews",
        verbose_name=_("import"),
    )
    row = models.PositiveIntegerField(_("row"), null=True, blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=ReviewStatus.choices, default=ReviewStatus.OPEN
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("decided by"),
    )
    new_lead = models.ForeignKey(
        Lead,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("new lead"),
    )

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = _("contact review")
        verbose_name_plural = _("contact reviews")
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=ReviewStatus.values), name="contact_review_status_valid"
            ),
        ]
        indexes = [
            models.Index(
                fields=["created_at", "id"],
                condition=Q(status=ReviewStatus.OPEN),
                name="contact_review_open_idx",
            ),
            # The API's list of every review (any status), oldest first.
            models.Index(fields=["created_at", "id"], name="contact_review_created_id"),
        ]

    def __str__(self) -> str:
        return f"{self.lead_id} ({self.status})"


class ExportJob(models.Model):
    """A lead export too large for one request (more than ``EXPORT_SYNC_MAX_ROWS`` rows),
    written by a worker on the ``bulk`` queue: the filters and sort it was asked with,
    progress, then the file, which only ``requested_by`` may download until
    ``expires_at`` (``EXPORT_FILE_DAYS``)."""

    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="+",
        verbose_name=_("requested by"),
    )
    #: ``page`` (the list's ``?sort=``) or ``api`` (DRF's ``?ordering=``): which order.
    source = models.CharField(_("source"), max_length=4, default="page")
    #: The list's filters as a query string (the same the request had).
    query = models.TextField(_("filters"), blank=True)
    file_format = models.CharField(_("file format"), max_length=4)
    status = models.CharField(
        _("status"), max_length=10, choices=ImportStatus.choices, default=ImportStatus.PENDING
    )
    total = models.PositiveIntegerField(_("rows"), default=0)
    processed = models.PositiveIntegerField(_("processed"), default=0)
    file = models.FileField(_("file"), upload_to="exports/%Y/%m/", blank=True)
    error = models.TextField(_("error"), blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    expires_at = models.DateTimeField(_("expires at"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("export job")
        verbose_name_plural = _("export jobs")
        indexes = [models.Index(fields=["requested_by", "created_at"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=ImportStatus.values), name="export_job_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(file_format__in=["csv", "xlsx"]), name="export_job_format_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"export {self.pk} {self.file_format} {self.status}"
