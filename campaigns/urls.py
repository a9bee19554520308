from django.urls import path

from campaigns import views

app_name = "campaigns"

urlpatterns = [
    path("", views.campaign_list, name="list"),
    path("new/", views.campaign_create, name="create"),
    path("<int:pk>/", views.campaign_detail, name="detail"),
    path("<int:pk>/edit/", views.campaign_edit, name="edit"),
    # Cost lines: POST only, one service call each.
    path("<int:pk>/costs/", views.cost_add, name="cost-add"),
    path("<int:pk>/costs/<int:cost_id>/delete/", views.cost_delete, name="cost-delete"),
]
