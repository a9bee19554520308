from django.db import migrations

CHANNELS = [
    # code, English name, Chinese name, kind
    ("website", "Website", "官网", "online"),
    ("seo", "SEO", "SEO", "online"),
    ("sem", "SEM", "SEM", "online"),
    ("feed_ads", "Feed ads", "信息流", "online"),
    ("content", "Content marketing", "内容营销", "online"),
    ("knowledge", "Knowledge marketing", "知识营销", "online"),
    ("social_media", "Social media matrix", "自媒体矩阵", "online"),
    ("display_ads", "Display ads", "展示广告", "online"),
    ("trade_show", "Trade shows", "线下参展", "offline"),
    ("own_event", "Own conferences", "自办会议", "offline"),
    ("media_relations", "Media relations", "媒体关系", "offline"),
    ("pr", "Public relations", "舆情公关", "offline"),
    ("webinar", "Webinar", "Webinar", "offline"),
    ("resource_exchange", "Resource exchange", "资源置换", "offline"),
]


def seed(apps, schema_editor):
    Channel = apps.get_model("campaigns", "Channel")
    for order, (code, name, name_zh, kind) in enumerate(CHANNELS, start=1):
        Channel.objects.update_or_create(
            code=code,
            defaults={"name": name, "name_zh": name_zh, "kind": kind, "sort_order": order * 10},
        )


def unseed(apps, schema_editor):
    Channel = apps.get_model("campaigns", "Channel")
    Channel.objects.filter(code__in=[c[0] for c in CHANNELS], campaigns__isnull=True).delete()


class Migration(migrations.Migration):
    dependencies = [("campaigns", "0001_initial")]
    operations = [migrations.RunPython(seed, unseed)]
