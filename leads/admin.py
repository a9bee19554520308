"""Admin for leads. Stage, owner and pool change only through the lifecycle service,
so they are read-only here; the event timeline cannot be edited at all."""

from django import forms
from django.contrib import admin
from django.db import models

from leads.forms import lead_form_field
from leads.lifecycle.fields import (
    COMPANY_FIELDS,
    FIELDS_BY_NAME,
    LEAD_OWN_FIELDS,
    LIFECYCLE_FIELDS,
    clean_lead_fields,
)
from leads.models import Company, FollowUp, Lead, LeadEvent, LeadTouch
from pipeline.errors import ServiceError
from scoring.services import lead_score


@admin.register(Company)
class CompanyAdmin(admin.ModelAdmin):
    #: The company's write fields, under their model names (``company_size`` → ``size``).
    list_display = [FIELDS_BY_NAME[name].attribute for name in COMPANY_FIELDS]
    search_fields = ["name", "normalized_name"]
    list_filter = ["size"]
    readonly_fields = ["normalized_name", "created_at"]


class HttpsUrlFields:
    """URL fields assume https, Django 6's default, stated now (no deprecation warning)."""

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        if isinstance(db_field, models.URLField):
            kwargs.setdefault("assume_scheme", "https")
        return super().formfield_for_dbfield(db_field, request, **kwargs)


class LeadTouchInline(HttpsUrlFields, admin.TabularInline):
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


class LeadAdminForm(forms.ModelForm):
    """Cleans the lead's own write fields by the spec's rule, as every other write does
    (a phone is stored as +86…, an email lowercased, a blank timeline as "unknown")."""

    def clean(self):
        cleaned = super().clean()
        given = {name: cleaned[name] for name in LEAD_OWN_FIELDS if name in cleaned}
        try:
            cleaned.update(clean_lead_fields(given, partial=True))
        except ServiceError as error:
            self.add_error(error.field if error.field in self.fields else None, error.message)
        return cleaned


@admin.register(Lead)
class LeadAdmin(HttpsUrlFields, admin.ModelAdmin):
    form = LeadAdminForm
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
    # Consent is what the person gave through the capture: nobody edits it afterwards.
    # The score's version and time are written by scoring only.
    readonly_fields = (
        *LIFECYCLE_FIELDS,
        "score_version",
        "scored_at",
        "consent_at",
        "consent_version",
    )
    inlines = [LeadTouchInline, LeadEventInline]

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if obj.is_open:
            # A lead added here, or whose facts changed here, is scored in this transaction
            # (the admin's change view is atomic), like every other write (DESIGN §5).
            lead_score(lead=obj.pk)

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        formfield = super().formfield_for_dbfield(db_field, request, **kwargs)
        if db_field.name in LEAD_OWN_FIELDS and formfield is not None:
            # The spec's limits and choices, in the admin's label and widget.
            return lead_form_field(db_field.name, label=formfield.label, widget=formfield.widget)
        return formfield


@admin.register(LeadTouch)
class LeadTouchAdmin(HttpsUrlFields, admin.ModelAdmin):
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
