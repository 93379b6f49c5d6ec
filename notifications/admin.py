from typing import Any

from django.contrib import admin

from notifications.models import ResponseTemplate, SentNotification, WebhookDelivery, WebhookEndpoint


@admin.register(ResponseTemplate)
class ResponseTemplateAdmin(admin.ModelAdmin[ResponseTemplate]):
    list_display = ("name", "request_type", "is_active")
    list_filter = ("is_active",)


@admin.register(SentNotification)
class SentNotificationAdmin(admin.ModelAdmin[SentNotification]):
    list_display = ("created_at", "ticket", "kind", "stage", "recipient")
    list_filter = ("kind",)
    readonly_fields = ("ticket", "kind", "stage", "recipient")


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin[WebhookEndpoint]):
    list_display = ("name", "url", "is_active", "created_at")
    list_filter = ("is_active",)


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin[WebhookDelivery]):
    """What was sent where, and what failed: read-only."""

    list_display = ("created_at", "endpoint", "event", "status", "attempts", "last_error")
    list_filter = ("status", "endpoint")
    readonly_fields = ("endpoint", "event", "body", "status", "attempts", "next_attempt_at", "last_error",
                       "delivered_at")

    def has_add_permission(self, request: Any) -> bool:
        return False

    def has_change_permission(self, request: Any, obj: Any = None) -> bool:
        return False
