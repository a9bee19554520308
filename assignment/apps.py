from django.apps import AppConfig


class AssignmentConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "assignment"

    def ready(self) -> None:
        from assignment import subscribers  # tasks import models: only once the registry is ready

        subscribers.connect()
