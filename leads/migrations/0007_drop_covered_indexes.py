"""Drop indexes that another index already covers, to make lead inserts cheaper.

Phone and email are looked up through the partial unique indexes of the duplicate rule;
each foreign key dropped here leads a composite index (``(owner, stage)``, ``(lead, at)``
…), which serves the same lookups. The indexes are dropped by name: letting ``AlterField``
do it would also drop the partial unique indexes on those columns.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


INDEXES = {
    # name: (table, column) for the reverse migration
    "leads_lead_phone_894df808": ("leads_lead", "phone"),
    "leads_lead_email_93d5b817": ("leads_lead", "email"),
    "leads_lead_company_id_a66f0010": ("leads_lead", "company_id"),
    "leads_lead_owner_id_1f4568d0": ("leads_lead", "owner_id"),
    "leads_lead_source_campaign_id_81aedb34": ("leads_lead", "source_campaign_id"),
    "leads_leadevent_actor_id_05bf3969": ("leads_leadevent", "actor_id"),
    "leads_leadevent_lead_id_426caf75": ("leads_leadevent", "lead_id"),
    "leads_leadtouch_campaign_id_017b65de": ("leads_leadtouch", "campaign_id"),
    "leads_leadtouch_lead_id_fd1cc46b": ("leads_leadtouch", "lead_id"),
}
PATTERN_OPS = ("leads_lead_phone_894df808_like", "leads_lead_email_93d5b817_like")  # PostgreSQL


def drop(apps, schema_editor):
    names = list(INDEXES)
    if schema_editor.connection.vendor == "postgresql":
        names += PATTERN_OPS
    for name in names:
        schema_editor.execute(f'DROP INDEX IF EXISTS "{name}"')


def create(apps, schema_editor):
    for name, (table, column) in INDEXES.items():
        schema_editor.execute(f'CREATE INDEX IF NOT EXISTS "{name}" ON "{table}" ("{column}")')


class Migration(migrations.Migration):
    dependencies = [
        ("campaigns", "0002_seed_channels"),
        ("leads", "0006_lead_responded_at_lead_response_due_at"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunPython(drop, create)],
            state_operations=[
                migrations.AlterField(
                    model_name="lead",
                    name="company",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="leads",
                        to="leads.company",
                        verbose_name="company",
                    ),
                ),
                migrations.AlterField(
                    model_name="lead",
                    name="email",
                    field=models.EmailField(blank=True, max_length=254, verbose_name="email"),
                ),
                migrations.AlterField(
                    model_name="lead",
                    name="owner",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="owned_leads",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="owner",
                    ),
                ),
                migrations.AlterField(
                    model_name="lead",
                    name="phone",
                    field=models.CharField(blank=True, max_length=20, verbose_name="phone"),
                ),
                migrations.AlterField(
                    model_name="lead",
                    name="source_campaign",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="sourced_leads",
                        to="campaigns.campaign",
                        verbose_name="source campaign",
                    ),
                ),
                migrations.AlterField(
                    model_name="leadevent",
                    name="actor",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="lead_events",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="actor",
                    ),
                ),
                migrations.AlterField(
                    model_name="leadevent",
                    name="lead",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="events",
                        to="leads.lead",
                    ),
                ),
                migrations.AlterField(
                    model_name="leadtouch",
                    name="campaign",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="touches",
                        to="campaigns.campaign",
                        verbose_name="campaign",
                    ),
                ),
                migrations.AlterField(
                    model_name="leadtouch",
                    name="lead",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="touches",
                        to="leads.lead",
                    ),
                ),
            ],
        ),
    ]
