"""The default BANT-based rule set (docs/architecture.md §4): A = decision maker, budget, buying within a
month; B = clear need within three months; C = possible need, longer timeline; D = no real
need or an unusable contact."""

from django.db import migrations

RULES = [
    # name, dimension, field, operator, value, points
    ("Decision maker", "fit", "decision_role", "eq", "decision_maker", 30),
    ("Influencer", "fit", "decision_role", "eq", "influencer", 15),
    ("Budget stated", "fit", "budget", "is_set", True, 5),
    ("Budget ≥ 100k", "fit", "budget", "gte", 100000, 15),
    ("Budget ≥ 500k", "fit", "budget", "gte", 500000, 10),
    ("Buying within 1 month", "fit", "timeline", "eq", "1m", 25),
    ("Buying within 3 months", "fit", "timeline", "eq", "3m", 15),
    ("Buying within 6 months", "fit", "timeline", "eq", "6m", 5),
    ("Need described", "fit", "need", "is_set", True, 5),
    ("Product interest named", "fit", "product_interest", "is_set", True, 5),
    ("Company 200+ employees", "fit", "company_size", "in", ["200-999", "1000-4999", "5000+"], 10),
    ("Target industry", "fit", "industry", "in",
     ["制造业", "Manufacturing", "汽车", "Automotive", "能源", "Energy", "医疗", "Healthcare"], 5),
    ("Senior title (总/Director/VP/CEO)", "fit", "title", "contains", "总", 5),
    ("Title: Director", "fit", "title", "contains", "director", 5),
    ("No phone", "fit", "phone", "is_set", False, -10),
    ("Several touches", "engagement", "touch_count", "gte", 2, 5),
    ("Many touches", "engagement", "touch_count", "gte", 4, 5),
    ("Attended a webinar", "engagement", "touch_kinds", "in", ["webinar"], 5),
    ("Checked in at an event", "engagement", "touch_kinds", "in", ["event_checkin"], 5),
]


def seed(apps, schema_editor):
    ScoringRule = apps.get_model("scoring", "ScoringRule")
    GradeThresholds = apps.get_model("scoring", "GradeThresholds")
    for name, dimension, field, operator, value, points in RULES:
        ScoringRule.objects.update_or_create(
            name=name,
            defaults={"dimension": dimension, "field": field, "operator": operator,
                      "value": value, "points": points, "active": True},
        )
    GradeThresholds.objects.get_or_create(pk=1, defaults={"a": 75, "b": 50, "c": 25})


def unseed(apps, schema_editor):
    apps.get_model("scoring", "ScoringRule").objects.filter(name__in=[r[0] for r in RULES]).delete()


class Migration(migrations.Migration):
    dependencies = [("scoring", "0001_initial")]
    operations = [migrations.RunPython(seed, unseed)]
