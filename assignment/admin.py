from django.contrib import admin

from assignment.models import Team, TeamMembership


class TeamMembershipInline(admin.TabularInline):
    model = TeamMembership
    extra = 0
    raw_id_fields = ["user"]


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ["name", "manager"]
    search_fields = ["name"]
    raw_id_fields = ["manager"]
    inlines = [TeamMembershipInline]


@admin.register(TeamMembership)
class TeamMembershipAdmin(admin.ModelAdmin):
    list_display = [
        "team",
        "user",
        "weight",
        "daily_capacity",
        "max_open_leads",
        "available",
        "away_until",
    ]
    list_filter = ["team", "available"]
    list_select_related = ["team", "user"]
    raw_id_fields = ["user"]
