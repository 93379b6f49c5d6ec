"""Query-string filters of the ticket list (contract: state, request_type, assignee, overdue, search)."""

from __future__ import annotations

from typing import Any

import django_filters
from django.db.models import Q, QuerySet
from django.utils import timezone

from helpdesk import selectors as desk_selectors
from helpdesk.models import Channel, Ticket
from workflows.request_types import RequestType
from workflows.states import OPEN_STATES, TicketState

ORDERINGS = {
    "-received_at": ("-received_at", "-id"),
    "received_at": ("received_at", "id"),
    "due_at": ("due_at", "id"),
    "-due_at": ("-due_at", "-id"),
}


class TicketFilter(django_filters.FilterSet):
    state = django_filters.ChoiceFilter(choices=TicketState.choices, help_text="Exact state.")
    request_type = django_filters.ChoiceFilter(choices=RequestType.choices)
    channel = django_filters.ChoiceFilter(choices=Channel.choices)
    assignee = django_filters.CharFilter(
        method="filter_assignee", max_length=150,
        help_text="Username of the assignee; `none` for unassigned tickets, `me` for your own.",
    )
    overdue = django_filters.BooleanFilter(
        method="filter_overdue", help_text="true: open and past the due date; false: everything else."
    )
    search = django_filters.CharFilter(
        method="filter_search", max_length=200,
        help_text="Reference, requester address or name, subject and message text.",
    )
    ordering = django_filters.ChoiceFilter(
        method="filter_ordering", choices=[(k, k) for k in ORDERINGS],
        help_text="Sort order; default `-received_at` (newest first).",
    )

    class Meta:
        model = Ticket
        fields: list[str] = []

    def filter_assignee(self, queryset: QuerySet[Ticket], name: str, value: str) -> QuerySet[Ticket]:
        if value == "none":
            return queryset.filter(assignee__isnull=True)
        if value == "me":
            return queryset.filter(assignee_id=getattr(self.request, "user", None) and self.request.user.pk)
        return queryset.filter(assignee__username=value)

    def filter_overdue(self, queryset: QuerySet[Ticket], name: str, value: bool | None) -> QuerySet[Ticket]:
        overdue = Q(state__in=OPEN_STATES, due_at__lt=timezone.now())
        if value is None:
            return queryset
        return queryset.filter(overdue) if value else queryset.exclude(overdue)

    def filter_search(self, queryset: QuerySet[Ticket], name: str, value: str) -> QuerySet[Ticket]:
        return queryset.filter(desk_selectors.search_filter(value))

    def filter_ordering(self, queryset: QuerySet[Ticket], name: str, value: str) -> QuerySet[Ticket]:
        return queryset.order_by(*ORDERINGS.get(value, ORDERINGS["-received_at"]))

    @property
    def qs(self) -> Any:
        qs = super().qs
        if not self.form.cleaned_data.get("ordering"):
            qs = qs.order_by(*ORDERINGS["-received_at"])
        return qs
