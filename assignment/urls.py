from django.urls import path

from assignment import views

app_name = "assignment"

urlpatterns = [
    path("", views.assignment_index, name="index"),
    path("teams/<int:team_pk>/members/new/", views.member_edit, name="member_add"),
    path("teams/<int:team_pk>/members/<int:pk>/edit/", views.member_edit, name="member_edit"),
    path("rules/new/", views.rule_edit, name="rule_create"),
    path("rules/<int:pk>/edit/", views.rule_edit, name="rule_edit"),
    path("rules/<int:pk>/toggle/", views.rule_toggle, name="rule_toggle"),
    path("rules/<int:pk>/delete/", views.rule_delete, name="rule_delete"),
    path("pool-policy/", views.pool_policy_edit, name="pool_policy"),
    path("simulate/", views.simulate_page, name="simulate"),
    path("route/", views.route_page, name="route"),
    path("pool/", views.pool_page, name="pool"),
    path("pool/<int:pk>/claim/", views.pool_claim, name="claim"),
    path("new-for-me/", views.new_for_me, name="new_for_me"),
]
