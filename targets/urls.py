from django.urls import path

from targets import views

app_name = "targets"

urlpatterns = [
    path("", views.target_list, name="list"),
    path("new/", views.target_create, name="create"),
    path("copy/", views.target_copy, name="copy"),
    path("import/", views.target_import, name="import"),
    path("export/", views.target_export, name="export"),
    path("<int:pk>/value/", views.target_value, name="value"),
    path("<int:pk>/delete/", views.target_delete, name="delete"),
]
