"""reports/*: funnel, channel ROI and campaign ROI (see docs/architecture.md).

The three period reports answer from a fresh stored snapshot when there is one, live when
the period is cheap, and otherwise with 202 and the job computing them
(``reports.snapshots.report_answer``); ``reports/jobs/{id}/`` shows the job's progress,
and a manager may queue a recompute with ``POST reports/jobs/``."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import mixins, serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from assignment.models import Team
from campaigns.choices import ChannelKind
from campaigns.models import Channel
from leads.credits import MODELS
from pipeline.api import BaseViewSet
from pipeline.db import reading_replica
from pipeline.errors import ServiceError
from pipeline.roles import (
    FORECAST_READERS,
    REPORT_READERS,
    REPORT_REFRESHERS,
    SCORECARD_READERS,
    Role,
    has_role,
)
from reports.attainment.selectors import STATUSES
from reports.attainment.served import attainment_served
from reports.choices import ReportJobOrigin, ReportKind
from reports.definitions import REPORT_DEFINITIONS, definitions_for
from reports.forecast.selectors import forecast_scope, pipeline_forecast
from reports.metrics_sql import SORTABLE
from reports.models import ReportJob, SlaPolicy
from reports.periods import default_period, period_errors
from reports.quality import bounce_reasons, grade_calibration
from reports.scorecards import ROLES as SCORECARD_ROLES
from reports.scorecards import scorecard_user_ids, scorecards
from reports.selectors import DEFAULT_CAMPAIGN_SORT
from reports.sla.compliance import compliance, compliance_scope, delays
from reports.sla.config import sla_policy_save
from reports.snapshots import (
    ReportKey,
    RoiPage,
    report_answer,
    report_job_find,
    report_job_request,
)
from targets.choices import Metric, month_of, parse_period


class PeriodSerializer(serializers.Serializer):
    """``from``/``to`` dates (default: the last 90 days), attribution model, filters."""

    from_ = serializers.DateField(required=False)
    to = serializers.DateField(required=False)
    model = serializers.ChoiceField(choices=MODELS, required=False, default="first_touch")
    channel_kind = serializers.ChoiceField(choices=ChannelKind.choices, required=False)
    channel = serializers.SlugRelatedField(
        slug_field="code", queryset=Channel.objects.all(), required=False
    )

    def get_fields(self):
        fields = super().get_fields()
        fields["from"] = fields.pop("from_")
        return fields

    def validate(self, attrs):
        start, end = default_period(attrs.get("from"), attrs.get("to"))
        errors = period_errors(start, end)
        if errors:
            raise serializers.ValidationError({k: [message] for k, message in errors.items()})
        attrs["from"], attrs["to"] = start, end
        return attrs


PERIOD_PARAMETERS = [
    OpenApiParameter("from", dt.date, description="First day of the cohort (YYYY-MM-DD)"),
    OpenApiParameter("to", dt.date, description="Last day of the cohort (YYYY-MM-DD)"),
    OpenApiParameter("model", str, enum=list(MODELS)),
    OpenApiParameter("channel_kind", str, enum=ChannelKind.values),
    OpenApiParameter("channel", str, description="A channel code"),
]
_FIGURES = {
    "cost": serializers.DecimalField(max_digits=16, decimal_places=2),
    "leads": serializers.FloatField(),
    "mqls": serializers.FloatField(),
    "sqls": serializers.FloatField(),
    "opportunities": serializers.FloatField(),
    "won": serializers.FloatField(),
    "revenue": serializers.DecimalField(max_digits=16, decimal_places=2),
    "cpl": serializers.DecimalField(max_digits=16, decimal_places=2, allow_null=True),
    "cost_per_mql": serializers.DecimalField(max_digits=16, decimal_places=2, allow_null=True),
    "cost_per_sql": serializers.DecimalField(max_digits=16, decimal_places=2, allow_null=True),
    "cac": serializers.DecimalField(max_digits=16, decimal_places=2, allow_null=True),
    "mql_rate": serializers.FloatField(allow_null=True),
    "sql_rate": serializers.FloatField(allow_null=True),
    "win_rate": serializers.FloatField(allow_null=True),
    "roi": serializers.FloatField(allow_null=True),
}


#: ``definitions`` in a report answer: what each figure counts, in the reader's language
#: (``reports.definitions.DEFINITIONS``), by key.
DEFINITIONS_FIELD = serializers.DictField(
    child=inline_serializer(
        "ReportDefinition",
        {
            "label": serializers.CharField(),
            "text": serializers.CharField(),
            "basis": serializers.ChoiceField(choices=["cohort", "events", "now"]),
        },
    ),
    help_text="What the figures count: the set (cohort, events of the period or now), "
    "credit weighting, working or calendar time.",
)

#: The definitions of each report kind served by ``_ReportView.answer``.
_KIND_DEFINITIONS = {
    ReportKind.CHANNEL_ROI: "channel_roi",
    ReportKind.CAMPAIGN_ROI: "campaign_roi",
    ReportKind.FUNNEL: "funnel",
}


def _with_definitions(body: dict, report: str) -> dict:
    """The answer with its ``definitions`` added (an added key: the contract holds)."""
    return {**body, "definitions": definitions_for(*REPORT_DEFINITIONS[report])}


def _report_shape(
    name: str, key: str, key_field, paged: dict | None = None
) -> serializers.Serializer:
    return inline_serializer(
        name,
        {
            "from": serializers.DateField(),
            "to": serializers.DateField(),
            "model": serializers.CharField(),
            **(paged or {}),
            "rows": inline_serializer(f"{name}Row", {key: key_field, **_FIGURES}, many=True),
            "totals": inline_serializer(f"{name}Totals", dict(_FIGURES)),
            "definitions": DEFINITIONS_FIELD,
        },
    )


class ReportJobSerializer(serializers.ModelSerializer):
    percent = serializers.IntegerField(read_only=True)
    url = serializers.SerializerMethodField()

    class Meta:
        model = ReportJob
        fields = [
            "id",
            "url",
            "status",
            "origin",
            "total",
            "processed",
            "percent",
            "error",
            "created_at",
            "started_at",
            "finished_at",
        ]
        read_only_fields = fields

    def get_url(self, job: ReportJob) -> str:
        path = reverse("report-job", args=[job.pk])
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request is not None else path


REPORT_JOB_ACCEPTED = inline_serializer(
    "ReportJobAccepted", {"detail": serializers.CharField(), "job": ReportJobSerializer()}
)


def job_accepted(request, job: ReportJob, detail: str) -> Response:
    """202 with the job to poll (its URL also in ``Location``)."""
    body = ReportJobSerializer(job, context={"request": request}).data
    return Response(
        {"detail": detail, "job": body},
        status=202,
        headers={"Location": body["url"], "Retry-After": "2"},
    )


class _ReportView(APIView):
    allowed_roles = REPORT_READERS

    def period(self, request) -> dict:
        if not has_role(request.user, *self.allowed_roles):
            raise ServiceError(_("You are not allowed to read this report."), code="forbidden")
        serializer = PeriodSerializer(data=request.query_params)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        channel = data.get("channel")
        return {
            "start": data["from"],
            "end": data["to"],
            "model": data["model"],
            "channel_kind": data.get("channel_kind"),
            "channel": channel.code if channel else None,
        }

    def answer(
        self,
        request,
        key: ReportKey,
        page: RoiPage | None = None,
        extra: dict | None = None,
    ) -> Response:
        """The report from a fresh snapshot, live, or 202 with the job computing it
        (``page``: one page of a campaign ROI report, with ``extra`` keys added)."""
        answer = report_answer(keys=[key], actor=request.user, page=page)
        if answer.job is not None:
            return job_accepted(
                request,
                answer.job,
                _("The report is being computed; follow the job and ask again when it is done."),
            )
        body = _serialise({**answer.reports[key], **(extra or {})})
        if key.kind in _KIND_DEFINITIONS:
            body = _with_definitions(body, _KIND_DEFINITIONS[key.kind])
        response = Response(body)
        if answer.computed_at is not None:
            response["X-Report-Computed-At"] = answer.computed_at.isoformat()
        return response


def _serialise(value):
    """Dates as YYYY-MM-DD and money as strings with two places, like every endpoint."""
    if isinstance(value, dict):
        return {key: _serialise(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_serialise(item) for item in value]
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


class ChannelRoiView(_ReportView):
    """Per channel: cost, funnel counts, revenue, CPL…ROI under the attribution model."""

    @extend_schema(
        parameters=PERIOD_PARAMETERS,
        responses={
            200: _report_shape("ChannelRoi", "channel", serializers.CharField()),
            202: REPORT_JOB_ACCEPTED,
        },
    )
    @reading_replica()
    def get(self, request):
        p = self.period(request)
        return self.answer(request, report_key(ReportKind.CHANNEL_ROI, p))


#: Campaign ROI rows per page of the API unless ``page_size`` says (at most ``MAX_PAGE``).
CAMPAIGN_PAGE_SIZE = 50
CAMPAIGN_MAX_PAGE = 500
CAMPAIGN_SORTS = [sign + figure for figure in SORTABLE for sign in ("-", "")]


class CampaignPageSerializer(serializers.Serializer):
    """``sort`` (a figure, ``-`` first for highest first; default ``-revenue``), ``page``
    and ``page_size`` of the campaign ROI report."""

    sort = serializers.ChoiceField(choices=CAMPAIGN_SORTS, required=False)
    page = serializers.IntegerField(min_value=1, required=False, default=1)
    page_size = serializers.IntegerField(
        min_value=1, max_value=CAMPAIGN_MAX_PAGE, required=False, default=CAMPAIGN_PAGE_SIZE
    )


class CampaignRoiView(_ReportView):
    """Per campaign, the same figures; filter to one channel to drill down. One page of
    campaigns (``page``, ``page_size``; ``count`` is every campaign's), sorted by
    ``sort``, undefined figures last, then by campaign id; ``totals`` cover every campaign."""

    @extend_schema(
        parameters=[
            *PERIOD_PARAMETERS,
            OpenApiParameter("sort", str, enum=CAMPAIGN_SORTS),
            OpenApiParameter("page", int),
            OpenApiParameter("page_size", int, description=f"At most {CAMPAIGN_MAX_PAGE}"),
        ],
        responses={
            200: _report_shape(
                "CampaignRoi",
                "campaign",
                serializers.IntegerField(),
                paged={
                    "count": serializers.IntegerField(),
                    "sort": serializers.CharField(),
                    "page": serializers.IntegerField(),
                    "page_size": serializers.IntegerField(),
                },
            ),
            202: REPORT_JOB_ACCEPTED,
        },
    )
    @reading_replica()
    def get(self, request):
        p = self.period(request)
        paging = CampaignPageSerializer(data=request.query_params)
        paging.is_valid(raise_exception=True)
        number, size = paging.validated_data["page"], paging.validated_data["page_size"]
        page = RoiPage(
            sort=paging.validated_data.get("sort") or DEFAULT_CAMPAIGN_SORT,
            offset=(number - 1) * size,
            limit=size,
        )
        extra = {"page": number, "page_size": size}
        return self.answer(request, report_key(ReportKind.CAMPAIGN_ROI, p), page, extra)


class FunnelView(_ReportView):
    """How far the period's leads got: leads → MQL → SQL → opportunity → won."""

    @extend_schema(
        parameters=PERIOD_PARAMETERS,
        responses={
            200: inline_serializer(
                "Funnel",
                {
                    "from": serializers.DateField(),
                    "to": serializers.DateField(),
                    "totals": inline_serializer(
                        "FunnelTotals",
                        {
                            **_FIGURES,
                            "lost": serializers.IntegerField(),
                            "disqualified": serializers.IntegerField(),
                        },
                    ),
                    "stages": inline_serializer(
                        "FunnelStage",
                        {"stage": serializers.CharField(), "count": serializers.IntegerField()},
                        many=True,
                    ),
                    "definitions": DEFINITIONS_FIELD,
                },
            ),
            202: REPORT_JOB_ACCEPTED,
        },
    )
    @reading_replica()
    def get(self, request):
        p = self.period(request)
        return self.answer(request, report_key(ReportKind.FUNNEL, p))


def report_key(kind: str, period: dict) -> ReportKey:
    """The snapshot key of one report for a parsed request (``_ReportView.period``)."""
    return ReportKey.of(
        kind,
        start=period["start"],
        end=period["end"],
        model=period["model"],
        channel_kind=period["channel_kind"],
        channel=period["channel"],
    )


#: The endpoints a recompute may be asked for, by the ``report`` value of the request.
REFRESHABLE = {
    "funnel": ReportKind.FUNNEL,
    "channel-roi": ReportKind.CHANNEL_ROI,
    "campaign-roi": ReportKind.CAMPAIGN_ROI,
}


class ReportRefreshSerializer(PeriodSerializer):
    report = serializers.ChoiceField(choices=list(REFRESHABLE))


class ReportJobView(APIView):
    """Progress of a report job: ``status``, ``processed`` of ``total`` reports, error."""

    @extend_schema(responses={200: ReportJobSerializer})
    def get(self, request, pk: int):
        if not has_role(request.user, *REPORT_READERS):
            raise ServiceError(_("You are not allowed to read this report."), code="forbidden")
        job = report_job_find(pk)
        if job is None:
            raise ServiceError(_("No such report job."), code="not_found")
        return Response(ReportJobSerializer(job, context={"request": request}).data)


class ReportRefreshView(APIView):
    """Managers: recompute one report for a period into its snapshot, in the background
    (the job already queued for the same report is reused). Answers 202 with the job."""

    @extend_schema(request=ReportRefreshSerializer, responses={202: REPORT_JOB_ACCEPTED})
    def post(self, request):
        if not has_role(request.user, *REPORT_REFRESHERS):
            raise ServiceError(_("Only managers may recompute stored reports."), code="forbidden")
        serializer = ReportRefreshSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        channel = data.get("channel")
        key = report_key(
            REFRESHABLE[data["report"]],
            {
                "start": data["from"],
                "end": data["to"],
                "model": data["model"],
                "channel_kind": data.get("channel_kind"),
                "channel": channel.code if channel else None,
            },
        )
        job = report_job_request(keys=[key], actor=request.user, origin=ReportJobOrigin.REFRESH)
        job.refresh_from_db()
        return job_accepted(request, job, _("The report is being recomputed."))


class SlaPolicySerializer(serializers.ModelSerializer):
    class Meta:
        model = SlaPolicy
        fields = [
            "grade",
            "first_response_hours",
            "follow_up_every_days",
            "recycle_after_days",
            "escalate_after_hours",
            "final_action",
            "final_after_hours",
        ]
        read_only_fields = ["grade"]


class SlaPolicyViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.UpdateModelMixin, BaseViewSet
):
    """SLA per grade; managers and sales managers change it, everyone signed in reads it."""

    queryset = SlaPolicy.objects.order_by("grade")
    serializer_class = SlaPolicySerializer
    lookup_field = "grade"
    lookup_value_regex = "[ABCD]"
    pagination_class = None

    def update(self, request, *args, **kwargs):
        policy = self.get_object()
        serializer = self.get_serializer(
            policy, data=request.data, partial=kwargs.pop("partial", False)
        )
        serializer.is_valid(raise_exception=True)
        saved = sla_policy_save(actor=request.user, grade=policy.grade, **serializer.validated_data)
        return Response(self.get_serializer(saved).data)


class ComplianceQuerySerializer(PeriodSerializer):
    team = serializers.PrimaryKeyRelatedField(queryset=Team.objects.all(), required=False)


class FollowUpComplianceView(_ReportView):
    """Per rep: first-response compliance, median/p95 response, overdue now, wasted leads."""

    allowed_roles = (Role.MANAGER, Role.SALES_MANAGER, Role.SALES_REP, Role.LEAD_DESK)

    @extend_schema(
        parameters=[*PERIOD_PARAMETERS[:2], OpenApiParameter("team", int)],
        responses={
            200: inline_serializer(
                "FollowUpCompliance",
                {
                    "from": serializers.DateField(),
                    "to": serializers.DateField(),
                    "rows": inline_serializer(
                        "ComplianceRow",
                        {
                            "user": serializers.IntegerField(),
                            "username": serializers.CharField(),
                            "assigned": serializers.IntegerField(),
                            "due": serializers.IntegerField(),
                            "in_time": serializers.IntegerField(),
                            "compliance": serializers.FloatField(allow_null=True),
                            "median_response_hours": serializers.FloatField(allow_null=True),
                            "p95_response_hours": serializers.FloatField(allow_null=True),
                            "overdue_now": serializers.IntegerField(),
                            "wasted": serializers.IntegerField(),
                            "backdated": serializers.IntegerField(
                                help_text="Follow-ups recorded in the period more than "
                                "FOLLOW_UP_BACKDATE_HOURS after the time they state."
                            ),
                        },
                        many=True,
                    ),
                    "delays": serializers.DictField(),
                    "definitions": DEFINITIONS_FIELD,
                },
            )
        },
    )
    @reading_replica()
    def get(self, request):
        user = request.user
        if not has_role(user, *self.allowed_roles):
            raise ServiceError(_("You are not allowed to read this report."), code="forbidden")
        serializer = ComplianceQuerySerializer(data=request.query_params)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        user_ids = compliance_scope(user, team=data.get("team"))
        rows = compliance(start=data["from"], end=data["to"], user_ids=user_ids)
        return Response(
            _with_definitions(
                _serialise(
                    {
                        "from": data["from"],
                        "to": data["to"],
                        "rows": rows,
                        "delays": delays(start=data["from"], end=data["to"]),
                    }
                ),
                "follow_up_compliance",
            )
        )


class GradeCalibrationView(_ReportView):
    """Per grade: acceptance, win rate, revenue, days to SQL and won; warnings; bounce reasons."""

    allowed_roles = REPORT_READERS

    @extend_schema(
        parameters=[
            *PERIOD_PARAMETERS[:2],
            PERIOD_PARAMETERS[3],
            PERIOD_PARAMETERS[4],
            OpenApiParameter("by", str, enum=["channel", "campaign"]),
        ],
        responses={200: OpenApiTypes.OBJECT},
    )
    @reading_replica()
    def get(self, request):
        p = self.period(request)
        by = request.query_params.get("by", "channel")
        if by not in ("channel", "campaign"):
            raise ServiceError(_("“by” must be channel or campaign."), field="by")
        report = grade_calibration(
            start=p["start"], end=p["end"], channel_kind=p["channel_kind"], channel=p["channel"]
        )
        report["reasons"] = bounce_reasons(
            start=p["start"],
            end=p["end"],
            by=by,
            channel_kind=p["channel_kind"],
            channel=p["channel"],
        )
        return Response(_with_definitions(_serialise(report), "grade_calibration"))


class ScorecardsView(_ReportView):
    """绩效考核: one card per person for the period, with the previous period beside it.
    A user without a manager's view gets only their own card."""

    allowed_roles = SCORECARD_READERS

    @extend_schema(
        parameters=[
            *PERIOD_PARAMETERS[:2],
            OpenApiParameter("role", str, enum=list(SCORECARD_ROLES)),
        ],
        responses={200: OpenApiTypes.OBJECT},
    )
    @reading_replica()
    def get(self, request):
        p = self.period(request)
        role = request.query_params.get("role") or None
        if role is not None and role not in SCORECARD_ROLES:
            raise ServiceError(_("Unknown role “%(role)s”.") % {"role": role}, field="role")
        user_ids = scorecard_user_ids(request.user)
        report = scorecards(start=p["start"], end=p["end"], role=role, user_ids=user_ids)
        return Response(_with_definitions(_serialise(report), "scorecards"))


class ForecastQuerySerializer(serializers.Serializer):
    """``period`` (``2026-12`` or ``2026-Q4``; default: this month), ``team``, ``user``."""

    period = serializers.CharField(required=False)
    team = serializers.PrimaryKeyRelatedField(queryset=Team.objects.all(), required=False)
    user = serializers.PrimaryKeyRelatedField(
        queryset=get_user_model().objects.all(), required=False
    )

    def validate_period(self, value: str) -> str:
        try:
            parse_period(value)
        except ValueError:
            raise serializers.ValidationError(
                _("Use a month like 2026-12 or a quarter like 2026-Q4 (years 2000–2100).")
            ) from None
        return value.strip()

    def validate(self, attrs):
        if attrs.get("team") is not None and attrs.get("user") is not None:
            raise serializers.ValidationError({"user": [_("Choose a team or a rep, not both.")]})
        return attrs


_FORECAST_FIGURES = {
    "won": serializers.DecimalField(max_digits=16, decimal_places=2),
    "open_count": serializers.IntegerField(),
    "open_amount": serializers.DecimalField(max_digits=16, decimal_places=2),
    "undated_count": serializers.IntegerField(),
    "undated_amount": serializers.DecimalField(max_digits=16, decimal_places=2),
    "best_case": serializers.DecimalField(max_digits=16, decimal_places=2),
    "weighted": serializers.DecimalField(max_digits=16, decimal_places=2),
    "committed": serializers.DecimalField(max_digits=16, decimal_places=2),
    "target": serializers.DecimalField(max_digits=16, decimal_places=2, allow_null=True),
    "gap": serializers.DecimalField(max_digits=16, decimal_places=2, allow_null=True),
}


class ForecastView(APIView):
    """Pipeline forecast for a month or quarter: a row per rep, team and company totals
    (won so far, open deals, best case, weighted, committed, target, gap) and the stage
    win rates of the last 180 days. Reps read their own row, sales managers their teams',
    managers everyone's."""

    @extend_schema(
        parameters=[
            OpenApiParameter("period", str, description="A month (2026-12) or quarter (2026-Q4)"),
            OpenApiParameter("team", int, description="Only this team's reps and total"),
            OpenApiParameter("user", int, description="Only this rep"),
        ],
        responses={
            200: inline_serializer(
                "Forecast",
                {
                    "period": serializers.CharField(),
                    "from": serializers.DateField(),
                    "to": serializers.DateField(),
                    "current": serializers.BooleanField(
                        help_text="The period holds today: open deals without an expected "
                        "close date count in it (undated_count, undated_amount)."
                    ),
                    "win_rate_days": serializers.IntegerField(),
                    "commit_win_rate": serializers.FloatField(),
                    "win_rates": inline_serializer(
                        "ForecastWinRate",
                        {
                            "stage": serializers.CharField(),
                            "won": serializers.IntegerField(),
                            "lost": serializers.IntegerField(),
                            "disqualified": serializers.IntegerField(),
                            "win_rate": serializers.FloatField(allow_null=True),
                        },
                        many=True,
                    ),
                    "rows": inline_serializer(
                        "ForecastRow",
                        {
                            "user": serializers.IntegerField(),
                            "username": serializers.CharField(),
                            "name": serializers.CharField(),
                            **_FORECAST_FIGURES,
                        },
                        many=True,
                    ),
                    "teams": inline_serializer(
                        "ForecastTeam",
                        {
                            "team": serializers.IntegerField(),
                            "name": serializers.CharField(),
                            "members": serializers.ListField(child=serializers.IntegerField()),
                            **_FORECAST_FIGURES,
                        },
                        many=True,
                    ),
                    "company": inline_serializer(
                        "ForecastCompany", dict(_FORECAST_FIGURES), allow_null=True
                    ),
                    "definitions": DEFINITIONS_FIELD,
                },
            )
        },
    )
    @reading_replica()
    def get(self, request):
        if not has_role(request.user, *FORECAST_READERS):
            raise ServiceError(_("You are not allowed to read this report."), code="forbidden")
        serializer = ForecastQuerySerializer(data=request.query_params)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        rep = data.get("user")
        scope = forecast_scope(request.user, team=data.get("team"), rep=rep.pk if rep else None)
        period = data.get("period") or month_of(timezone.localdate())
        report = pipeline_forecast(period=period, scope=scope)
        return Response(_with_definitions(_serialise(report), "forecast"))


class AttainmentView(APIView):
    """绩效考核 against targets: every target of the period the user may read, with its
    actual (the dashboards' and scorecards' figure), attainment, what was expected by now
    (the share of the period's working days elapsed) and status."""

    @extend_schema(
        parameters=[
            OpenApiParameter("period", str, description="2026-12 or 2026-Q4; default this month"),
            OpenApiParameter("metric", str, enum=Metric.values),
        ],
        responses={
            200: inline_serializer(
                "Attainment",
                {
                    "period": serializers.CharField(),
                    "from": serializers.DateField(),
                    "to": serializers.DateField(),
                    "elapsed": serializers.FloatField(),
                    "at_risk_below": serializers.FloatField(),
                    "rows": inline_serializer(
                        "AttainmentRow",
                        {
                            "target": serializers.IntegerField(),
                            "metric": serializers.ChoiceField(choices=Metric.choices),
                            "metric_label": serializers.CharField(),
                            "scope": serializers.CharField(),
                            "scope_id": serializers.CharField(allow_null=True),
                            "scope_label": serializers.CharField(),
                            "value": serializers.FloatField(),
                            "actual": serializers.FloatField(allow_null=True),
                            "attainment": serializers.FloatField(allow_null=True),
                            "expected_by_now": serializers.FloatField(),
                            "status": serializers.ChoiceField(choices=STATUSES),
                        },
                        many=True,
                    ),
                },
            )
        },
    )
    @reading_replica()
    def get(self, request):
        period = request.query_params.get("period") or month_of(timezone.localdate())
        try:
            parse_period(period)
        except ValueError as error:
            raise ServiceError(str(error), field="period") from None
        served = attainment_served(request.user, period=period)
        report = served.report
        metric = request.query_params.get("metric")
        if metric:
            if metric not in Metric.values:
                raise ServiceError(_("Unknown metric."), field="metric")
            report["rows"] = [row for row in report["rows"] if row["metric"] == metric]
        response = Response(_serialise(report))
        if served.computed_at is not None:
            response["X-Report-Computed-At"] = served.computed_at.isoformat()
        return response
