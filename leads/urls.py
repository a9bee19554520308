from django.urls import path

from leads import views

app_name = "leads"

urlpatterns = [
    path("", views.lead_list, name="list"),
    path("new/", views.lead_create, name="create"),
    path("<int:pk>/", views.lead_detail, name="detail"),
    path("<int:pk>/edit/", views.lead_edit, name="edit"),
    # Lifecycle actions (qualify, assign, accept, …): POST only, one service call each.
    path("<int:pk>/<slug:action>/", views.lead_action, name="action"),
]
