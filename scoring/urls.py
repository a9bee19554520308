from django.urls import path

from scoring import views

app_name = "scoring"

urlpatterns = [
    path("", views.scoring_index, name="index"),
    path("rules/new/", views.rule_create, name="rule_create"),
    path("rules/<int:pk>/edit/", views.rule_edit, name="rule_edit"),
    path("rules/<int:pk>/delete/", views.rule_delete, name="rule_delete"),
    path("thresholds/", views.thresholds_edit, name="thresholds"),
]
