from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WebhooksConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "webhooks"
    verbose_name = _("Webhooks")

    def ready(self) -> None:
        from notifications import outlets

        # Register the delivery tasks in every process, web included: the services queue
        # them by name (tasks import models, so only once the registry is ready).
        from webhooks import tasks  # noqa: F401
        from webhooks.services import occurrence_record

        # Every notification event becomes deliveries for the hooks subscribed to it.
        outlets.connect(occurrence_record)
