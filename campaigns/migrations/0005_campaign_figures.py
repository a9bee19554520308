"""Each campaign's figures (leads, MQLs, actual cost) in a table kept by database triggers
(``campaigns.triggers``; docs/architecture.md, "Campaign figures")."""

from decimal import Decimal

import django.db.models.deletion
from django.db import migrations, models

from campaigns import triggers


def install(apps, schema_editor):
    triggers.install(schema_editor.connection)


def uninstall(apps, schema_editor):
    triggers.uninstall(schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [
        ("campaigns", "0004_webinar_chinese_name"),
        ("leads", "0019_lead_company_name_sort"),
    ]

    operations = [
        migrations.CreateModel(
            name="CampaignFigures",
            fields=[
                (
                    "campaign",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        primary_key=True,
                        related_name="figures",
                        serialize=False,
                        to="campaigns.campaign",
                        verbose_name="campaign",
                    ),
                ),
                ("leads", models.IntegerField(default=0, verbose_name="leads")),
                ("mqls", models.IntegerField(default=0, verbose_name="MQLs")),
                (
                    "cost",
                    models.DecimalField(
                        decimal_places=2,
                        default=Decimal("0.00"),
                        max_digits=16,
                        verbose_name="actual cost",
                    ),
                ),
            ],
            options={
                "verbose_name": "campaign figures",
                "verbose_name_plural": "campaign figures",
            },
        ),
        migrations.RunPython(install, uninstall),
    ]
