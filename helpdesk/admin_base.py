"""What the desk's admin pages share: records that are kept, never edited there."""

from __future__ import annotations

from typing import Any, TypeVar

from django.contrib import admin
from django.db.models import Model
from django.http import HttpRequest

_M = TypeVar("_M", bound=Model)


class ViewOnlyAdmin(admin.ModelAdmin[_M]):
    """Listed and viewed in the admin; added, changed and deleted only by the services that own them
    (the audit trail, tasks, statistics)."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
