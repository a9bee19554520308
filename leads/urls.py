from django.urls import path

from leads.views import detail, edit, lists, privacy

app_name = "leads"

urlpatterns = [
    path("", lists.lead_list, name="list"),
    path("new/", edit.lead_new, name="create"),
    path("<int:pk>/", detail.lead_detail, name="detail"),
    path("<int:pk>/edit/", edit.lead_edit, name="edit"),
    # Data-subject requests (PIPL): before the actions, whose pattern would match them.
    path("<int:pk>/personal-data/", privacy.lead_personal_data, name="personal_data"),
    path("<int:pk>/erase/", privacy.lead_erase, name="erase"),
    # Lifecycle actions (qualify, assign, accept, …): POST only, through the registry.
    path("<int:pk>/<slug:action>/", detail.lead_action, name="action"),
]
