from django.contrib import admin

from webhooks.models import Delivery, Webhook


@admin.register(Webhook)
class WebhookAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "team", "language", "active"]
    list_filter = ["kind", "active"]
    # The secret is write-only on the pages and the API; the admin does not show it either.
    exclude = ["secret"]


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    list_display = [
        "pk",
        "webhook",
        "event",
        "status",
        "attempts",
        "last_status_code",
        "created_at",
    ]
    list_filter = ["status", "event"]
    list_select_related = ["webhook"]
    readonly_fields = [field.name for field in Delivery._meta.fields]
