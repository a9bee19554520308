from django.apps import AppConfig


class ScoringConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "scoring"

    def ready(self) -> None:
        from scoring import subscribers  # tasks import models: only once the registry is ready

        subscribers.connect()
