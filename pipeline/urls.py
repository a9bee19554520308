from django.conf import settings
from django.conf.urls.static import static
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.authtoken.views import obtain_auth_token
from rest_framework.routers import DefaultRouter

from assignment.api import AssignmentRuleViewSet, TeamViewSet
from campaigns.api import CampaignViewSet, ChannelViewSet
from leads.api import CaptureView, ImportViewSet, LeadViewSet
from pipeline import views
from reports.api import (
    CampaignRoiView,
    ChannelRoiView,
    FollowUpComplianceView,
    FunnelView,
    SlaPolicyViewSet,
)
from scoring.api import GradeThresholdsView, RescoreJobViewSet, ScoringRuleViewSet

router = DefaultRouter()
router.register("channels", ChannelViewSet, basename="channel")
router.register("campaigns", CampaignViewSet, basename="campaign")
router.register("leads", LeadViewSet, basename="lead")
router.register("imports", ImportViewSet, basename="import")
router.register("teams", TeamViewSet, basename="team")
router.register("assignment-rules", AssignmentRuleViewSet, basename="assignment-rule")
router.register("scoring-rules", ScoringRuleViewSet, basename="scoring-rule")
router.register("rescore-jobs", RescoreJobViewSet, basename="rescore-job")
router.register("sla-policies", SlaPolicyViewSet, basename="sla-policy")

api_urlpatterns = [
    path("auth/token/", obtain_auth_token, name="api-token"),
    path("capture/", CaptureView.as_view(), name="capture"),
    path("reports/funnel/", FunnelView.as_view(), name="report-funnel"),
    path(
        "reports/follow-up-compliance/",
        FollowUpComplianceView.as_view(),
        name="report-follow-up-compliance",
    ),
    path("reports/channel-roi/", ChannelRoiView.as_view(), name="report-channel-roi"),
    path("reports/campaign-roi/", CampaignRoiView.as_view(), name="report-campaign-roi"),
    path("grade-thresholds/", GradeThresholdsView.as_view(), name="grade-thresholds"),
    path("", include(router.urls)),
]

urlpatterns = [
    path("", views.home, name="home"),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("leads/", include("leads.urls")),
    path("admin/", admin.site.urls),
    path("api/v1/", include(api_urlpatterns)),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("healthz", views.healthz, name="healthz"),
]

handler404 = "pipeline.views.not_found"
handler500 = "pipeline.views.server_error"

if settings.DEBUG:
    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)
