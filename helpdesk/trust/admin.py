"""Admin pages for retention periods (managers edit) and the anonymous statistics (read-only)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from helpdesk.admin_base import ViewOnlyAdmin
from helpdesk.models import RetentionPolicy, TicketStatistic
from helpdesk.trust import audit
from workflows.roles import is_manager


@admin.register(RetentionPolicy)
class RetentionPolicyAdmin(admin.ModelAdmin[RetentionPolicy]):
    list_display = ("category", "months", "statutory", "basis", "updated_at")
    fields = ("category", "months", "statutory", "basis")
    readonly_fields = ("category",)

    def has_module_permission(self, request: HttpRequest) -> bool:
        return is_manager(request.user)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return is_manager(request.user)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return is_manager(request.user)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # the categories are fixed by the policy; the migration creates them

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: RetentionPolicy, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        audit.record_event(ticket=None, actor=request.user, action="retention.policy_changed",  # type: ignore[arg-type]
                           data={"category": obj.category, "months": obj.months, "statutory": obj.statutory})


@admin.register(TicketStatistic)
class TicketStatisticAdmin(ViewOnlyAdmin[TicketStatistic]):
    list_display = ("month", "request_type", "channel", "received", "responded", "on_time")
    list_filter = ("request_type", "channel")

    def has_module_permission(self, request: HttpRequest) -> bool:
        return is_manager(request.user)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return is_manager(request.user)

