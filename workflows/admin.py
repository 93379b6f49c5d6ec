from django.contrib import admin

from workflows.models import ClosureDay, SlaPolicy


@admin.register(SlaPolicy)
class SlaPolicyAdmin(admin.ModelAdmin[SlaPolicy]):
    list_display = ("request_type", "jurisdiction", "period", "unit", "extension_period", "max_extensions",
                    "reminder_offsets")
    list_filter = ("jurisdiction", "unit")
    list_editable = ("period", "unit")


@admin.register(ClosureDay)
class ClosureDayAdmin(admin.ModelAdmin[ClosureDay]):
    list_display = ("date", "reason")
