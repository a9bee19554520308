"""The seeded Webinar channel gets its Chinese name (网络研讨会), unless someone renamed it."""

from django.db import migrations


def name_it(apps, schema_editor):
    Channel = apps.get_model("campaigns", "Channel")
    Channel.objects.filter(code="webinar", name_zh__in=["", "Webinar"]).update(name_zh="网络研讨会")


def unname_it(apps, schema_editor):
    Channel = apps.get_model("campaigns", "Channel")
    Channel.objects.filter(code="webinar", name_zh="网络研讨会").update(name_zh="Webinar")


class Migration(migrations.Migration):
    dependencies = [("campaigns", "0003_campaign_accept_utm_only")]
    operations = [migrations.RunPython(name_it, unname_it)]
