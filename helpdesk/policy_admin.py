"""Managers edit each request type's deadline policy and the company's closure days in the admin.

Policy changes are saved through :func:`helpdesk.services.save_sla_policy`, so they are audited like
changes made through the API.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from helpdesk import services
from helpdesk.models import User
from workflows.models import ClosureDay, SlaPolicy


class SlaPolicyForm(forms.ModelForm[SlaPolicy]):
    reminder_offsets = forms.CharField(
        label=_("Reminders (days before due)"),
        help_text=_("Comma-separated whole days before the deadline, e.g. 3, 1, 0 (0 = on the due day)."),
    )

    class Meta:
        model = SlaPolicy
        fields = ("request_type", "jurisdiction", "legal_basis", "period", "unit", "pause_clock",
                  "extension_period", "extension_unit", "max_extensions", "reminder_offsets", "escalation_emails")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk and isinstance(self.instance.reminder_offsets, list):
            self.initial["reminder_offsets"] = ", ".join(str(v) for v in self.instance.reminder_offsets)

    def clean_reminder_offsets(self) -> list[int]:
        raw = str(self.cleaned_data.get("reminder_offsets") or "").strip().strip("[]")
        try:
            values = sorted({int(part) for part in raw.replace(";", ",").split(",") if part.strip()}, reverse=True)
        except ValueError as exc:
            raise forms.ValidationError(_("Use whole numbers of days separated by commas, e.g. 3, 1, 0.")) from exc
        if any(v < 0 or v > 60 for v in values):
            raise forms.ValidationError(_("Each reminder must be between 0 and 60 days before the deadline."))
        return values

    def clean_escalation_emails(self) -> str:
        lines = [line.strip() for line in str(self.cleaned_data.get("escalation_emails") or "").splitlines()]
        validator = forms.EmailField()
        for line in filter(None, lines):
            validator.clean(line)
        return "\n".join(filter(None, lines))


@admin.register(SlaPolicy)
class SlaPolicyAdmin(admin.ModelAdmin[SlaPolicy]):
    form = SlaPolicyForm
    list_display = ("request_type", "jurisdiction", "period", "unit", "extension_period", "extension_unit",
                    "max_extensions", "reminder_offsets", "pause_clock")
    list_filter = ("jurisdiction", "unit")
    fieldsets = (
        (None, {"fields": ("request_type", "jurisdiction", "legal_basis")}),
        (_("Deadline"), {"fields": ("period", "unit", "pause_clock")}),
        (_("Extension"), {"fields": ("extension_period", "extension_unit", "max_extensions")}),
        (_("Reminders and escalation"), {"fields": ("reminder_offsets", "escalation_emails")}),
    )

    def save_model(self, request: HttpRequest, obj: SlaPolicy, form: Any, change: bool) -> None:
        assert isinstance(request.user, User)
        services.save_sla_policy(actor=request.user, values=form.cleaned_data, policy=obj)


@admin.register(ClosureDay)
class ClosureDayAdmin(admin.ModelAdmin[ClosureDay]):
    list_display = ("date", "reason")
    date_hierarchy = "date"
