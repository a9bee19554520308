"""Admin for leads. Stage, owner and pool change only through the lifecycle service,
so they are read-only here; the event timeline cannot be edited at all."""

from django.contrib import admin

from leads.models import Company, FollowUp, Lead, LeadEvent, LeadTouch


@admin.register(Company)
class CompanyAdmin(admin.ModelAdmin):
    list_display = ["name", "industry", "size", "region"]
    search_fields = ["name", "normalized_name"]
    list_filter = ["size"]
    readonly_fields = ["normalized_name", "created_at"]


class LeadTouchInline(admin.TabularInline):
    model = LeadTouch
    extra = 0
    raw_id_fields = ["campaign"]
    readonly_fields = ["is_first"]


class LeadEventInline(admin.TabularInline):
    model = LeadEvent
    extra = 0
    can_delete = False
    fields = ["at", "kind", "from_stage", "to_stage", "actor", "reason", "data"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Lead)
class LeadAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "company",
        "stage",
        "grade",
        "score",
        "owner",
        "in_pool",
        "source_campaign",
        "created_at",
    ]
    list_filter = ["stage", "grade", "in_pool", "source_campaign__channel"]
    search_fields = ["name", "phone", "email", "company__name"]
    list_select_related = ["company", "owner", "source_campaign"]
    raw_id_fields = ["company", "source_campaign", "created_by"]
    date_hierarchy = "created_at"
    readonly_fields = [
        "stage",
        "grade",
        "grade_source",
        "grade_reason",
        "score",
        "score_detail",
        "owner",
        "in_pool",
        "created_at",
        "updated_at",
        "mql_at",
        "sql_at",
        "opportunity_at",
        "won_at",
        "lost_at",
        "disqualified_at",
        "assigned_at",
        "pooled_at",
        "first_contact_at",
        "last_follow_up_at",
        "next_follow_up_at",
        "expected_amount",
        "won_amount",
        "signed_at",
        "disqualify_reason",
        "reject_reason",
        "lost_reason",
        "recycle_reason",
    ]
    inlines = [LeadTouchInline, LeadEventInline]


@admin.register(LeadTouch)
class LeadTouchAdmin(admin.ModelAdmin):
    list_display = ["lead", "campaign", "kind", "occurred_at", "is_first"]
    list_filter = ["kind"]
    list_select_related = ["lead", "campaign"]
    raw_id_fields = ["lead", "campaign"]


@admin.register(LeadEvent)
class LeadEventAdmin(admin.ModelAdmin):
    """Read-only: the audit timeline is append-only."""

    list_display = ["lead", "kind", "from_stage", "to_stage", "actor", "at"]
    list_filter = ["kind"]
    list_select_related = ["lead", "actor"]
    date_hierarchy = "at"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(FollowUp)
class FollowUpAdmin(admin.ModelAdmin):
    list_display = ["lead", "author", "at", "method", "outcome", "next_follow_up_at"]
    list_filter = ["method"]
    list_select_related = ["lead", "author"]
    raw_id_fields = ["lead", "author"]
    date_hierarchy = "at"
