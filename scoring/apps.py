from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ScoringConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "scoring"
    verbose_name = _("Scoring")

    def ready(self) -> None:
        # Tasks import models: only once the registry is ready. The tasks module is
        # imported so that services can queue them by name (``pipeline.queue.task_named``).
        from scoring import subscribers, tasks  # noqa: F401

        subscribers.connect()
