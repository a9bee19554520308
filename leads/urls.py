from django.urls import path

from leads.views import bulk, detail, edit, imports, lists, privacy, search

app_name = "leads"

urlpatterns = [
    path("", lists.lead_list, name="list"),
    path("new/", edit.lead_new, name="create"),
    path("bulk/", bulk.lead_bulk, name="bulk"),
    path("search/", search.global_search, name="search"),
    path("views/", lists.saved_view_create_page, name="saved_view_create"),
    path("views/<int:pk>/delete/", lists.saved_view_delete_page, name="saved_view_delete"),
    path("exports/<int:pk>/", imports.export_job, name="export-job"),
    path("exports/<int:pk>/download/", imports.export_download, name="export-download"),
    path("<int:pk>/", detail.lead_detail, name="detail"),
    path("<int:pk>/edit/", edit.lead_edit, name="edit"),
    # Data-subject requests (PIPL): before the actions, whose pattern would match them.
    path("<int:pk>/personal-data/", privacy.lead_personal_data, name="personal_data"),
    path("<int:pk>/erase/", privacy.lead_erase, name="erase"),
    # Lifecycle actions (qualify, assign, accept, …): POST only, through the registry.
    path("<int:pk>/<slug:action>/", detail.lead_action, name="action"),
]
