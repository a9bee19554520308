"""Honest clocks (DESIGN §7): each follow-up keeps when it was written (``recorded_at``);
a closed lead has no next follow-up."""

import django.utils.timezone
from django.db import migrations, models
from django.db.models import F


def fill_recorded_at(apps, schema_editor):
    FollowUp = apps.get_model("leads", "FollowUp")
    # Rows written before the field existed: written when created.
    FollowUp.objects.filter(recorded_at__isnull=True).update(recorded_at=F("created_at"))
    FollowUp.objects.filter(recorded_at__isnull=True).update(recorded_at=F("at"))


def clear_next_on_closed(apps, schema_editor):
    Lead = apps.get_model("leads", "Lead")
    Lead.objects.filter(
        stage__in=["won", "lost", "disqualified"], next_follow_up_at__isnull=False
    ).update(next_follow_up_at=None)


class Migration(migrations.Migration):
    dependencies = [
        ("leads", "0010_capture_consent_idempotency_key"),
    ]

    operations = [
        migrations.AddField(
            model_name="followup",
            name="recorded_at",
            field=models.DateTimeField(null=True, verbose_name="recorded at"),
        ),
        migrations.RunPython(fill_recorded_at, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="followup",
            name="recorded_at",
            field=models.DateTimeField(
                default=django.utils.timezone.now, verbose_name="recorded at"
            ),
        ),
        migrations.RunPython(clear_next_on_closed, migrations.RunPython.noop),
    ]
