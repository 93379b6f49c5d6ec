"""Serializers: the API's shapes. Thin: writes go through helpdesk.services in the views."""

from __future__ import annotations

from typing import Any

from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from helpdesk.api.intake_serializers import ParticipantSerializer, RepresentationSerializer
from helpdesk.models import (
    Attachment,
    Direction,
    Message,
    Quarantine,
    Representation,
    Requester,
    Ticket,
    User,
)
from workflows import transitions
from workflows.models import SlaPolicy
from workflows.request_types import EMAIL_PROOF_SUFFICES, REQUEST_TYPE_HELP, RequestType
from workflows.roles import can_act_on_ticket
from workflows.states import OPEN_STATES

MAX_INT = 2**31 - 1


# --- Errors (documentation only: the exception handler builds them) ---------------------------
class ErrorDetailSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="Machine-readable: invalid, guard_failed, conflict, "
                                           "transition_not_allowed, permission_denied, not_authenticated, "
                                           "authentication_failed, not_found, method_not_allowed, throttled…")
    message = serializers.CharField(help_text="Human-readable, safe to show.")
    fields = serializers.DictField(  # type: ignore[assignment]  # a field named "fields", as the error body has
        child=serializers.JSONField(), help_text="Field name → problem(s); may be empty.")


class ErrorSerializer(serializers.Serializer):
    error = ErrorDetailSerializer()


# --- Small nested shapes ----------------------------------------------------------------------
class PersonSerializer(serializers.Serializer):
    username = serializers.CharField()
    name = serializers.CharField()


class RequesterBriefSerializer(serializers.ModelSerializer):
    class Meta:
        model = Requester
        fields = ["email", "name"]


class AttachmentSerializer(serializers.ModelSerializer):
    class Meta:
        model = Attachment
        fields = ["id", "filename", "size", "content_type", "is_inline"]


class MessageSerializer(serializers.ModelSerializer):
    direction = serializers.ChoiceField(choices=Direction.choices)
    attachments = AttachmentSerializer(many=True, read_only=True)
    author = serializers.SerializerMethodField()

    class Meta:
        model = Message
        fields = ["id", "direction", "kind", "sender", "sender_name", "author", "subject", "sent_at", "body_text",
                  "delivery_status", "attachments"]

    @extend_schema_field(PersonSerializer(allow_null=True))
    def get_author(self, obj: Message) -> dict[str, str] | None:
        return _person(obj.author)


def _person(user: User | None) -> dict[str, str] | None:
    return None if user is None else {"username": user.username, "name": str(user)}


# --- Tickets ----------------------------------------------------------------------------------
class TicketListSerializer(serializers.ModelSerializer):
    requester = RequesterBriefSerializer(read_only=True)
    assignee = serializers.SerializerMethodField()
    overdue = serializers.SerializerMethodField()

    class Meta:
        model = Ticket
        fields = ["reference", "subject", "request_type", "state", "channel", "jurisdiction", "requester",
                  "assignee", "received_at", "due_at", "first_response_at", "responded_at", "closed_at",
                  "overdue", "version"]
        read_only_fields = fields

    @extend_schema_field(PersonSerializer(allow_null=True))
    def get_assignee(self, obj: Ticket) -> dict[str, str] | None:
        return _person(obj.assignee)

    def get_overdue(self, obj: Ticket) -> bool:
        return obj.state in OPEN_STATES and obj.due_at < timezone.now()


class TicketDetailSerializer(TicketListSerializer):
    messages = MessageSerializer(many=True, read_only=True)
    # Blank until set: plain strings in the schema (an enum would not admit "").
    suggested_request_type = serializers.CharField(read_only=True, help_text="A RequestType value, or empty.")
    verification_method = serializers.CharField(read_only=True, help_text="A VerificationMethod value, or empty.")
    rejection_reason = serializers.CharField(read_only=True, help_text="A RejectionReason value, or empty.")
    transitions = serializers.SerializerMethodField(help_text="Transitions you can run from the current state.")
    representation = serializers.SerializerMethodField(help_text="Set when a representative made the request.")
    participants = serializers.SerializerMethodField(help_text="Who else receives the replies (in Cc).")
    entered_by = serializers.SerializerMethodField(help_text="The staff member who typed in a phone, letter, fax "
                                                             "or visit request; null for mail and the web form.")
    merged_into: serializers.SlugRelatedField[Ticket] = serializers.SlugRelatedField(
        slug_field="reference", read_only=True, allow_null=True,
        help_text="Set when state is `merged`: the ticket that stays.")
    merged_tickets: serializers.SlugRelatedField[Ticket] = serializers.SlugRelatedField(
        slug_field="reference", many=True, read_only=True, help_text="Duplicates merged into this ticket.")
    related: serializers.SlugRelatedField[Ticket] = serializers.SlugRelatedField(
        slug_field="reference", many=True, read_only=True, help_text="Related tickets (linked both ways).")

    class Meta(TicketListSerializer.Meta):
        fields = [*TicketListSerializer.Meta.fields, "entered_by", "representation", "participants",
                  "merged_into", "merged_tickets", "related",
                  "suggested_request_type", "paused_at", "paused_seconds", "extension_count", "legal_hold",
                  "verified_at", "verification_method", "processed_at", "rejection_reason", "transitions", "messages"]
        read_only_fields = fields

    @extend_schema_field(RepresentationSerializer(allow_null=True))
    def get_representation(self, obj: Ticket) -> dict[str, Any] | None:
        representation = Representation.objects.filter(ticket=obj).select_related(
            "power_of_attorney", "checked_by").first()
        return None if representation is None else dict(RepresentationSerializer(representation).data)

    @extend_schema_field(ParticipantSerializer(many=True))
    def get_participants(self, obj: Ticket) -> list[dict[str, Any]]:
        active = obj.participants.filter(removed_at__isnull=True).order_by("pk")
        return [dict(row) for row in ParticipantSerializer(active, many=True).data]

    @extend_schema_field(PersonSerializer(allow_null=True))
    def get_entered_by(self, obj: Ticket) -> dict[str, str] | None:
        return _person(obj.entered_by)

    def get_transitions(self, obj: Ticket) -> list[str]:
        request = self.context.get("request")
        user = getattr(request, "user", None)
        if user is None or not can_act_on_ticket(user, obj):
            return []
        available = getattr(obj, "get_available_state_transitions", None)  # added by django-fsm at runtime
        return sorted(t.name for t in available() if t.name in transitions.GENERIC_NAMES) if available else []


class VersionSerializer(serializers.Serializer):
    expected_version = serializers.IntegerField(
        required=False, min_value=1, max_value=MAX_INT,
        help_text="The ticket's `version` you last saw: 409 if someone changed it since (optimistic lock).",
    )


def _transition_data_fields() -> dict[str, serializers.Field]:
    """One optional field per data field of the transition registry (a choice where every use is one)."""
    uses: dict[str, list[Any]] = {}
    for name in transitions.NAMES:
        for item in transitions.REGISTRY[name].fields:
            uses.setdefault(item.name, []).append((name, item))
    fields: dict[str, serializers.Field] = {}
    for field_name, items in uses.items():
        help_text = "; ".join(f"{name}: {item.label}" for name, item in items)
        if all(item.choices is not None for _name, item in items):
            fields[field_name] = serializers.ChoiceField(choices=items[0][1].choices, required=False,
                                                         help_text=help_text)
        else:
            choices = [v for _name, item in items if item.choices for v, _label in item.choices]
            if choices:
                help_text += f" (one of {', '.join(choices)} where a choice)"
            fields[field_name] = serializers.CharField(max_length=max(i.max_length for _n, i in items),
                                                       required=False, allow_blank=True, help_text=help_text)
    return fields


# Data a transition may need (built from workflows.transitions); which fields each one requires is
# in the endpoint's description.
TransitionSerializer = type("TransitionSerializer", (VersionSerializer,), _transition_data_fields())


class FeeQuoteSerializer(VersionSerializer):
    fee = serializers.IntegerField(min_value=0, max_value=1_000_000, required=False, default=0,
                                   help_text="Fee in won (Enforcement Decree Art. 47(1): at most the actual cost).")
    postage = serializers.IntegerField(min_value=0, max_value=1_000_000, required=False, default=0,
                                       help_text="Postage in won, only when a copy is to be mailed (Act 38(3)).")
    company_cause = serializers.BooleanField(
        required=False, default=False, help_text="The company caused the request: nothing may be charged (47(2)).")
    basis = serializers.CharField(max_length=500, help_text="What the amount pays for, or why nothing is charged.")
    quoted_at = serializers.DateTimeField(read_only=True)


class ReplySerializer(VersionSerializer):
    body_text = serializers.CharField(max_length=100_000, allow_blank=True)
    attachments = serializers.ListField(
        child=serializers.FileField(), required=False, default=list, max_length=50,
        help_text="multipart/form-data: files mailed with the reply (bounded in number, size and type like the "
                  "Contact Us form's files; names sanitised).")
    and_respond = serializers.BooleanField(required=False, default=False,
                                           help_text="Also mark the ticket responded (needs state `processed`).")


class NoteSerializer(serializers.Serializer):
    body_text = serializers.CharField(max_length=100_000, allow_blank=True)


class AssignmentSerializer(VersionSerializer):
    assignee = serializers.CharField(max_length=150, allow_null=True,
                                     help_text="Username of desk staff, or null to unassign (managers).")


# --- Reference data ---------------------------------------------------------------------------
class RequesterSerializer(serializers.ModelSerializer):
    ticket_count = serializers.IntegerField(read_only=True)

    class Meta:
        model = Requester
        fields = ["id", "email", "name", "phone", "postal_address", "organization", "language", "created_at",
                  "ticket_count"]
        read_only_fields = fields


class RequestTypeSerializer(serializers.Serializer):
    value = serializers.CharField()
    label = serializers.CharField()  # type: ignore[assignment]
    help = serializers.CharField()
    email_proof_suffices = serializers.BooleanField()

    @staticmethod
    def rows() -> list[dict[str, Any]]:
        return [{"value": value, "label": str(label), "help": str(REQUEST_TYPE_HELP.get(value, "")),
                 "email_proof_suffices": value in EMAIL_PROOF_SUFFICES} for value, label in RequestType.choices]


class SlaPolicySerializer(serializers.ModelSerializer):
    reminder_offsets = serializers.ListField(child=serializers.IntegerField(min_value=0, max_value=365),
                                             max_length=10, required=False)

    class Meta:
        model = SlaPolicy
        fields = "__all__"
        extra_kwargs = {"period": {"min_value": 1, "max_value": 365},
                        "extension_period": {"min_value": 0, "max_value": 365},
                        "max_extensions": {"min_value": 0, "max_value": 10}}


class QuarantineSerializer(serializers.ModelSerializer):
    ticket = serializers.SlugRelatedField(  # type: ignore[var-annotated]
        slug_field="reference", read_only=True, allow_null=True)
    resolved_by = serializers.SlugRelatedField(  # type: ignore[var-annotated]
        slug_field="username", read_only=True, allow_null=True)

    class Meta:
        model = Quarantine
        fields = ["id", "reason", "detail", "source", "size", "sender", "subject", "received_at", "status", "ticket",
                  "resolved_by", "resolved_at"]
        read_only_fields = fields


# --- Metrics (documentation of helpdesk.metrics.response_times) --------------------------------
class DurationsSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    median_seconds = serializers.FloatField(allow_null=True)
    p90_seconds = serializers.FloatField(allow_null=True)
    mean_seconds = serializers.FloatField(allow_null=True)


class CountsSerializer(serializers.Serializer):
    received = serializers.IntegerField()
    responded = serializers.IntegerField()
    open = serializers.IntegerField()
    overdue = serializers.IntegerField()
    withdrawn = serializers.IntegerField()


class SlaFiguresSerializer(serializers.Serializer):
    on_time = serializers.IntegerField()
    breached = serializers.IntegerField()
    compliance_rate = serializers.FloatField(allow_null=True)


class PeriodSerializer(serializers.Serializer):
    # "from" is a Python keyword, hence the explicit source-less declaration below.
    to = serializers.DateField()
    time_zone = serializers.CharField()

    def get_fields(self) -> dict[str, Any]:
        fields = super().get_fields()
        fields["from"] = serializers.DateField()
        return fields


class FiltersEchoSerializer(serializers.Serializer):
    request_type = serializers.CharField(allow_null=True)
    channel = serializers.CharField(allow_null=True)
    assignee = serializers.CharField(allow_null=True)


class DistributionSerializer(serializers.Serializer):
    edges_days = serializers.ListField(child=serializers.IntegerField())
    first_response = serializers.ListField(child=serializers.IntegerField())
    resolution = serializers.ListField(child=serializers.IntegerField())


class BacklogSerializer(serializers.Serializer):
    total = serializers.IntegerField()
    overdue = serializers.IntegerField()
    edges_days = serializers.ListField(child=serializers.IntegerField())
    by_age = serializers.ListField(child=serializers.IntegerField())


class TypeFiguresSerializer(serializers.Serializer):
    request_type = serializers.CharField()
    label = serializers.CharField()  # type: ignore[assignment]
    received = serializers.IntegerField()
    responded = serializers.IntegerField()
    open = serializers.IntegerField()
    overdue = serializers.IntegerField()
    withdrawn = serializers.IntegerField()
    on_time = serializers.IntegerField()
    breached = serializers.IntegerField()
    compliance_rate = serializers.FloatField(allow_null=True)
    first_response = DurationsSerializer()
    resolution = DurationsSerializer()


class WeekSerializer(serializers.Serializer):
    week_start = serializers.DateField()
    received = serializers.IntegerField()
    by_request_type = serializers.DictField(child=serializers.IntegerField())
    on_time = serializers.IntegerField()
    breached = serializers.IntegerField()
    compliance_rate = serializers.FloatField(allow_null=True)


class LoadSerializer(serializers.Serializer):
    username = serializers.CharField(allow_null=True)
    name = serializers.CharField(allow_null=True)
    open = serializers.IntegerField()
    overdue = serializers.IntegerField()
    received = serializers.IntegerField()
    responded = serializers.IntegerField()
    on_time = serializers.IntegerField()
    breached = serializers.IntegerField()
    compliance_rate = serializers.FloatField(allow_null=True)
    first_response_mean_seconds = serializers.FloatField(allow_null=True)


class ResponseTimesSerializer(serializers.Serializer):
    period = PeriodSerializer()
    generated_at = serializers.DateTimeField()
    filters = FiltersEchoSerializer()
    counts = CountsSerializer()
    first_response = DurationsSerializer()
    resolution = DurationsSerializer()
    sla = SlaFiguresSerializer()
    distribution = DistributionSerializer()
    backlog = BacklogSerializer()
    by_request_type = TypeFiguresSerializer(many=True)
    weekly = WeekSerializer(many=True)
    by_assignee = LoadSerializer(many=True)
