from django.urls import path

from webhooks import views

app_name = "webhooks"

urlpatterns = [
    path("", views.webhook_list, name="list"),
    path("new/", views.webhook_create, name="create"),
    path("<int:pk>/", views.webhook_deliveries, name="deliveries"),
    path("<int:pk>/edit/", views.webhook_edit, name="edit"),
    path("<int:pk>/test/", views.webhook_test, name="test"),
    path("<int:pk>/delete/", views.webhook_delete, name="delete"),
]
