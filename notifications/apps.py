from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "notifications"

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_in

        from notifications import subscribers  # tasks import models: only once ready
        from notifications.middleware import use_language_at_login

        subscribers.connect()
        user_logged_in.connect(use_language_at_login, dispatch_uid="notifications-language")
