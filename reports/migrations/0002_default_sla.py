from django.db import migrations

POLICIES = {
    # grade: first response (working h), follow-up every (days), recycle after (days),
    #        tell manager after (working h past due), final action after (working h past due)
    "A": (2, 3, 14, 2, 8),
    "B": (4, 7, 30, 4, 16),
    "C": (8, 14, 45, 8, 24),
    "D": (16, 30, 60, 16, 40),
}


def seed(apps, schema_editor):
    SlaPolicy = apps.get_model("reports", "SlaPolicy")
    for grade, (first, every, recycle, escalate, final) in POLICIES.items():
        SlaPolicy.objects.get_or_create(
            grade=grade,
            defaults={
                "first_response_hours": first,
                "follow_up_every_days": every,
                "recycle_after_days": recycle,
                "escalate_after_hours": escalate,
                "final_after_hours": final,
                "final_action": "recycle",
            },
        )
    apps.get_model("reports", "BusinessCalendar").objects.get_or_create(pk=1)


class Migration(migrations.Migration):
    dependencies = [("reports", "0001_initial")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
