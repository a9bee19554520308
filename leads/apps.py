from django.apps import AppConfig


class LeadsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "leads"

    def ready(self) -> None:
        from leads import subscribers  # tasks import models: only once the registry is ready

        subscribers.connect()
