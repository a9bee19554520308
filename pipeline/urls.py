from django.conf import settings
from django.conf.urls.static import static
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.routers import DefaultRouter

from assignment.api import AssignmentRuleViewSet, TeamViewSet
from campaigns.api import CampaignViewSet, ChannelViewSet
from leads.api import (
    CaptureView,
    ContactReviewViewSet,
    ExportJobViewSet,
    ImportViewSet,
    LeadViewSet,
    SavedViewViewSet,
)
from leads.urls import urlpatterns as leads_urls
from leads.views import capture, desk, imports, reviews
from notifications import views as notification_views
from notifications.api import MySettingsView, NotificationViewSet, TodayView
from pipeline import views
from pipeline.api import TokenView
from reports.api import (
    AttainmentView,
    CampaignRoiView,
    ChannelRoiView,
    FollowUpComplianceView,
    ForecastView,
    FunnelView,
    GradeCalibrationView,
    ReportJobView,
    ReportRefreshView,
    ScorecardsView,
    SlaPolicyViewSet,
)
from scoring.api import GradeThresholdsView, RescoreJobViewSet, ScoringRuleViewSet
from targets.api import TargetViewSet
from webhooks.api import WebhookViewSet

router = DefaultRouter()
router.register("channels", ChannelViewSet, basename="channel")
router.register("campaigns", CampaignViewSet, basename="campaign")
router.register("leads", LeadViewSet, basename="lead")
router.register("imports", ImportViewSet, basename="import")
router.register("lead-exports", ExportJobViewSet, basename="lead-export")
router.register("saved-views", SavedViewViewSet, basename="saved-view")
router.register("contact-reviews", ContactReviewViewSet, basename="contact-review")
router.register("teams", TeamViewSet, basename="team")
router.register("assignment-rules", AssignmentRuleViewSet, basename="assignment-rule")
router.register("scoring-rules", ScoringRuleViewSet, basename="scoring-rule")
router.register("rescore-jobs", RescoreJobViewSet, basename="rescore-job")
router.register("sla-policies", SlaPolicyViewSet, basename="sla-policy")
router.register("webhooks", WebhookViewSet, basename="webhook")
router.register("targets", TargetViewSet, basename="target")
router.register("notifications", NotificationViewSet, basename="notification")

api_urlpatterns = [
    path("auth/token/", TokenView.as_view(), name="api-token"),
    path("capture/", CaptureView.as_view(), name="capture"),
    path("reports/funnel/", FunnelView.as_view(), name="report-funnel"),
    path(
        "reports/grade-calibration/",
        GradeCalibrationView.as_view(),
        name="report-grade-calibration",
    ),
    path("reports/scorecards/", ScorecardsView.as_view(), name="report-scorecards"),
    path("reports/forecast/", ForecastView.as_view(), name="report-forecast"),
    path("reports/attainment/", AttainmentView.as_view(), name="report-attainment"),
    path(
        "reports/follow-up-compliance/",
        FollowUpComplianceView.as_view(),
        name="report-follow-up-compliance",
    ),
    path("reports/channel-roi/", ChannelRoiView.as_view(), name="report-channel-roi"),
    path("reports/campaign-roi/", CampaignRoiView.as_view(), name="report-campaign-roi"),
    path("reports/jobs/", ReportRefreshView.as_view(), name="report-refresh"),
    path("reports/jobs/<int:pk>/", ReportJobView.as_view(), name="report-job"),
    path("grade-thresholds/", GradeThresholdsView.as_view(), name="grade-thresholds"),
    path("me/settings/", MySettingsView.as_view(), name="my-settings"),
    path("me/today/", TodayView.as_view(), name="my-today"),
    path("", include(router.urls)),
]

#: The lead desk's workspace (商机接待): queues, consult, bulk and one-lead desk actions.
desk_urlpatterns = [
    path("", desk.desk_queue, name="desk"),
    path("rejected/", desk.desk_rejected, name="desk_rejected"),
    path("reviews/", reviews.desk_reviews, name="desk_reviews"),
    path(
        "reviews/<int:pk>/<slug:decision>/", reviews.desk_review_decide, name="desk_review_decide"
    ),
    path("bulk/", desk.desk_bulk, name="desk_bulk"),
    path("<int:pk>/consult/", desk.desk_consult, name="desk_consult"),
    path("<int:pk>/grade/", desk.desk_set_grade, name="desk_set_grade"),
    path("<int:pk>/reset-grade/", desk.desk_reset_grade, name="desk_reset_grade"),
    path("<int:pk>/assign/", desk.desk_assign, name="desk_assign"),
    path("<int:pk>/disqualify/", desk.desk_disqualify, name="desk_disqualify"),
]

imports_urlpatterns = [
    path("", imports.import_list, name="list"),
    path("new/", imports.import_upload, name="new"),
    path("new/<int:pk>/", imports.import_mapping, name="mapping"),
    path("<int:pk>/", imports.import_detail, name="detail"),
]

urlpatterns = [
    path("", views.home, name="home"),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    # Django's language switch, which also saves a signed-in user's language on them.
    path("i18n/setlang/", notification_views.set_language, name="set_language"),
    # The user's own pages: notifications, settings, today's tasks.
    path("me/", include("notifications.urls")),
    # Before the leads include, so "export" is not read as a lead id or action.
    path("leads/export/", imports.lead_export, name="export-leads"),
    # The lead desk's pages sit in the "leads" namespace (leads:desk …) under /leads/desk/.
    path("leads/", include(([path("desk/", include(desk_urlpatterns)), *leads_urls], "leads"))),
    path("campaigns/", include("campaigns.urls")),
    path("imports/", include((imports_urlpatterns, "imports"))),
    # The public capture form, embeddable on the company website (no login).
    path("f/<slug:public_key>/", capture.capture_form, name="capture-form"),
    path("scoring/", include("scoring.urls")),
    path("assignment/", include("assignment.urls")),
    path("reports/", include("reports.urls")),
    # The sales workspace (my leads, team page) and the SLA pages (policies, compliance).
    path("sales/", include(("leads.views.sales", "sales"))),
    path("sla/", include(("reports.views.sla", "sla"))),
    # Outgoing webhooks (chat robots, signed JSON): administrators only.
    path("webhooks/", include("webhooks.urls")),
    # Targets (绩效考核): the targets of a period, import and export.
    path("targets/", include("targets.urls")),
    path("admin/", admin.site.urls),
    path("api/v1/", include(api_urlpatterns)),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # The split view loads its start-up script as a file (?script): no inline script, so
    # the page passes the Content-Security-Policy (pipeline/security.py).
    path(
        "api/docs/",
        SpectacularSwaggerSplitView.as_view(url_name="api-schema", template_name="api_docs.html"),
        name="api-docs",
    ),
    path("healthz", views.healthz, name="healthz"),
]

handler404 = "pipeline.views.not_found"
handler500 = "pipeline.views.server_error"

if settings.DEBUG:
    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)
