"""The user's own pages, mounted at /me/: notifications, settings, today."""

from django.urls import path

from notifications import views

app_name = "notifications"

urlpatterns = [
    path("notifications/", views.notification_list, name="list"),
    path("notifications/<int:pk>/read/", views.notification_read, name="read"),
    path("notifications/read-all/", views.notification_read_all, name="read_all"),
    path("settings/", views.my_settings, name="settings"),
    path("today/", views.today, name="today"),
]
