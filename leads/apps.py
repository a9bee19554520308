from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LeadsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "leads"
    verbose_name = _("Leads")

    def ready(self) -> None:
        # Tasks import models: only once the registry is ready. The task module is imported
        # here so the tasks services queue by name are registered in every process.
        from leads import capture, subscribers, tasks  # noqa: F401

        subscribers.connect()
        capture.connect()
        # Export jobs build their leads with the list's filters (a layer above exports).
        from leads.exports import connect_export_queryset
        from leads.filters import export_queryset

        connect_export_queryset(export_queryset)
