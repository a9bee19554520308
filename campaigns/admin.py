from django.contrib import admin

from campaigns.models import Campaign, CampaignCost, Channel


@admin.register(Channel)
class ChannelAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "name_zh", "kind", "sort_order"]
    list_filter = ["kind"]
    search_fields = ["code", "name", "name_zh"]


class CampaignCostInline(admin.TabularInline):
    model = CampaignCost
    extra = 0


@admin.register(Campaign)
class CampaignAdmin(admin.ModelAdmin):
    list_display = ["name", "channel", "owner", "status", "start_date", "end_date", "budget"]
    list_filter = ["status", "accept_utm_only", "channel__kind", "channel"]
    search_fields = ["name", "utm_campaign"]
    list_select_related = ["channel", "owner"]
    readonly_fields = ["public_key", "created_at", "updated_at"]
    raw_id_fields = ["owner"]
    inlines = [CampaignCostInline]


@admin.register(CampaignCost)
class CampaignCostAdmin(admin.ModelAdmin):
    list_display = ["campaign", "date", "amount", "note"]
    list_select_related = ["campaign"]
    date_hierarchy = "date"
    raw_id_fields = ["campaign"]
