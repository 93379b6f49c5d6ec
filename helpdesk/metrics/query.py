"""The figures' query string (the API, the dashboard and the exports read it the same way)."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext
from rest_framework import serializers

from helpdesk.metrics.base import MetricsFilter, default_period
from helpdesk.models import Channel, User
from workflows.request_types import RequestType


class MetricsQuerySerializer(serializers.Serializer):
    """Query string of the figures, the dashboard and the exports: ``from``, ``to`` and the filters."""

    request_type = serializers.ChoiceField(choices=RequestType.choices, required=False)
    assignee = serializers.CharField(required=False, max_length=150,
                                     help_text="Username, or `none` for unassigned tickets.")
    channel = serializers.ChoiceField(choices=Channel.choices, required=False)

    def get_fields(self) -> dict[str, Any]:
        # "from" is a Python keyword, so these two cannot be class attributes.
        return {
            "from": serializers.DateField(required=False,
                                          help_text="First day (YYYY-MM-DD, desk time zone); default 29 days ago."),
            "to": serializers.DateField(required=False, help_text="Last day, inclusive; default today."),
            **super().get_fields(),
        }

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        for name in ("from", "to"):
            value = attrs.get(name)
            if value is not None and not (2000 <= value.year <= 2100):
                raise serializers.ValidationError({name: gettext("Choose a date between 2000 and 2100.")})
        default_from, default_to = default_period()
        date_to = attrs.get("to") or default_to
        date_from = attrs.get("from") or (date_to - (default_to - default_from))
        if date_from > date_to:
            raise serializers.ValidationError({"to": gettext("The period ends before it starts.")})
        if (date_to - date_from).days > 3660:
            raise serializers.ValidationError({"from": gettext("Choose a period of at most ten years.")})
        attrs["from"], attrs["to"] = date_from, date_to
        username = attrs.get("assignee")
        if username and username != "none":
            user = User.objects.filter(username=username).first()
            if user is None:
                raise serializers.ValidationError({"assignee": gettext("No staff member has this username.")})
            attrs["assignee_user"] = user
        return attrs

    def to_filter(self) -> MetricsFilter:
        data = self.validated_data
        return MetricsFilter(
            date_from=data["from"], date_to=data["to"], request_type=data.get("request_type") or None,
            assignee=data.get("assignee_user"), unassigned=data.get("assignee") == "none",
            channel=data.get("channel") or None,
        )
