"""Django admin for every model. The audit trail is read-only; tickets change via services."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from helpdesk import policy_admin  # noqa: F401 - deadline policies and closure days
from helpdesk.admin_base import ViewOnlyAdmin
from helpdesk.models import Attachment, AuditEvent, Contact, Message, Quarantine, Requester, Task, Ticket, User


@admin.register(User)
class DeskUserAdmin(UserAdmin):
    fieldsets = (*UserAdmin.fieldsets, ("Desk", {"fields": ("display_name", "is_away")}))  # type: ignore[misc]
    list_display = ("username", "display_name", "email", "is_away", "is_active", "is_staff")


@admin.register(Requester)
class RequesterAdmin(admin.ModelAdmin[Requester]):
    list_display = ("email", "name", "organization", "language", "created_at")
    search_fields = ("email", "name", "organization")


class MessageInline(admin.TabularInline[Message, Ticket]):
    model = Message
    fk_name = "ticket"
    fields = ("direction", "kind", "sender", "subject", "sent_at", "delivery_status")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True


@admin.register(Ticket)
class TicketAdmin(admin.ModelAdmin[Ticket]):
    """State, deadline and assignment change only through the desk (services), so they are read-only."""

    list_display = ("reference", "subject", "request_type", "state", "assignee", "received_at", "due_at")
    list_filter = ("state", "request_type", "channel", "assignee")
    search_fields = ("reference", "subject", "requester__email", "requester__name")
    list_select_related = ("assignee", "requester")
    readonly_fields = (
        "reference", "state", "requester", "channel", "received_at", "due_at", "assignee", "version",
        "verified_at", "verification_method", "processed_at", "first_response_at", "responded_at",
        "closed_at", "paused_at", "paused_seconds", "paused_days", "extension_count", "resume_state",
        "rejection_reason", "suggested_request_type", "request_type", "jurisdiction",
    )
    exclude = ("access_key",)
    inlines = [MessageInline]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # tickets go through retention and erasure: files destroyed, a tombstone audited


@admin.register(Message)
class MessageAdmin(admin.ModelAdmin[Message]):
    list_display = ("ticket", "direction", "kind", "sender", "sent_at", "delivery_status")
    list_filter = ("direction", "kind", "delivery_status")
    list_select_related = ("ticket",)
    exclude = ("raw_message",)
    readonly_fields = ("ticket", "dedupe_key", "message_id", "original_message")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # with their ticket, through retention and erasure (the raw mail row goes too)

    @admin.display(description=_("Original message"))
    def original_message(self, message: Message) -> str:
        return _original_message_link(message.raw_message, "desk:raw_message", message.pk)


@admin.register(Attachment)
class AttachmentAdmin(admin.ModelAdmin[Attachment]):
    list_display = ("filename", "content_type", "size", "message")
    readonly_fields = ("message", "file", "sha256", "size")


@admin.register(Quarantine)
class QuarantineAdmin(admin.ModelAdmin[Quarantine]):
    list_display = ("received_at", "reason", "sender", "subject", "status")
    list_filter = ("status", "reason")
    exclude = ("raw_message",)
    readonly_fields = ("original_message", "dedupe_key", "size", "received_at", "source")

    @admin.display(description=_("Original message"))
    def original_message(self, item: Quarantine) -> str:
        return _original_message_link(item.raw_message, "desk:quarantine_raw", item.pk)


def _original_message_link(raw: Any, view: str, pk: int) -> str:
    """Raw mail has no storage URL (it is rows, served only by the desk's permission-checked,
    audited views): link to that view."""
    if not raw:
        return "-"
    return format_html('<a href="{}">{}</a>', reverse(view, args=[pk]), raw.name)


@admin.register(Contact)
class ContactAdmin(admin.ModelAdmin[Contact]):
    """People the desk sends tasks to (issue 26): internal data owners, processors, providers."""

    list_display = ("name", "organisation", "kind", "email", "languages", "is_active")
    list_filter = ("kind", "is_active")
    search_fields = ("name", "organisation", "email")

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # A contact with tasks stays (who was asked what is on record); make it inactive instead.
        return obj is None or not obj.tasks.exists()


@admin.register(Task)
class TaskAdmin(ViewOnlyAdmin[Task]):
    """Tasks are sent, closed and cancelled from the ticket page or the API (audited): read-only here."""

    list_display = ("__str__", "contact", "state", "due_at", "created_at")
    list_filter = ("state", "contact__kind")
    list_select_related = ("ticket", "contact")
    search_fields = ("ticket__reference", "contact_email")


@admin.register(AuditEvent)
class AuditEventAdmin(ViewOnlyAdmin[AuditEvent]):
    list_display = ("at", "ticket_reference", "actor_label", "action", "from_state", "to_state")
    list_filter = ("action",)
    search_fields = ("ticket_reference", "actor_label", "action")

from helpdesk.trust import admin as trust_admin  # noqa: E402, F401  retention and statistics pages (issue 8)
