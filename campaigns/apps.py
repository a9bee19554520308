from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CampaignsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "campaigns"
    verbose_name = _("Campaigns")

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        post_migrate.connect(_ensure_figure_triggers, sender=self)


def _ensure_figure_triggers(sender, using="default", plan=None, **kwargs) -> None:
    """After ``migrate``: the figure triggers are all there (a migration that remakes a
    SQLite table drops its triggers); missing ones are put back and the figures rebuilt
    (``campaigns.triggers``)."""
    from django.db import connections

    from campaigns import triggers

    connection = connections[using]
    if "campaigns_campaignfigures" in connection.introspection.table_names():
        triggers.ensure(connection)
