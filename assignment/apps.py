from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AssignmentConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "assignment"
    verbose_name = _("Assignment")

    def ready(self) -> None:
        from assignment import subscribers  # tasks import models: only once the registry is ready

        subscribers.connect()
