from django.contrib import admin

from targets.models import Target


@admin.register(Target)
class TargetAdmin(admin.ModelAdmin):
    list_display = ("period", "metric", "user", "team", "channel", "campaign", "value")
    list_filter = ("period", "metric")
    raw_id_fields = ("user", "team", "channel", "campaign", "created_by")
