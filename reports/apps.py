from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReportsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "reports"
    verbose_name = _("Reports and SLA")

    def ready(self) -> None:
        # Register the report tasks in every process, web included: the snapshot service
        # queues its job task by name (tasks import models, so only once they are ready).
        from reports import tasks  # noqa: F401
        from reports.rollups import subscribers

        # Changes to leads and touches mark their cohort days' rollups stale.
        subscribers.connect()
