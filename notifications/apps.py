from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class NotificationsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "notifications"
    verbose_name = _("Notifications")

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_in

        from notifications import subscribers  # tasks import models: only once ready
        from notifications.middleware import use_language_at_login

        subscribers.connect()
        user_logged_in.connect(use_language_at_login, dispatch_uid="notifications-language")
