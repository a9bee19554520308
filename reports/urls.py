"""Report pages, mounted at /reports/ (the API endpoints live under /api/v1/reports/)."""

from django.urls import path

from reports import views
from reports.attainment import views as attainment

app_name = "reports"

urlpatterns = [
    path("", views.dashboard, name="index"),
    path("channel/<slug:code>/", views.channel_detail, name="channel"),
    path("refresh/", views.refresh, name="refresh"),
    path("scoreboard/", views.scoreboard, name="scoreboard"),
    path("scorecards/", views.scorecards_page, name="scorecards"),
    path("forecast/", views.forecast_page, name="forecast"),
    path("attainment/", attainment.attainment_page, name="attainment"),
    path("agreement/", attainment.agreement_page, name="agreement"),
    path("grade-calibration/", views.grade_calibration_page, name="grade_calibration"),
]
