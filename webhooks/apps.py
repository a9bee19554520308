from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WebhooksConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "webhooks"
    verbose_name = _("Webhooks")

    def ready(self) -> None:
        from notifications import outlets
        from webhooks.services import occurrence_record

        # Every notification event becomes deliveries for the hooks subscribed to it.
        outlets.connect(occurrence_record)
