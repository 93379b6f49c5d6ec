from django.contrib import admin

from notifications.models import ResponseTemplate, SentNotification


@admin.register(ResponseTemplate)
class ResponseTemplateAdmin(admin.ModelAdmin[ResponseTemplate]):
    list_display = ("name", "request_type", "is_active")
    list_filter = ("is_active",)


@admin.register(SentNotification)
class SentNotificationAdmin(admin.ModelAdmin[SentNotification]):
    list_display = ("created_at", "ticket", "kind", "stage", "recipient")
    list_filter = ("kind",)
    readonly_fields = ("ticket", "kind", "stage", "recipient")
