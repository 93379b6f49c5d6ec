"""Serializers: the API's shapes. Thin: writes go through helpdesk.services in the views."""

from __future__ import annotations

from typing import Any

from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from helpdesk.models import Attachment, Direction, Language, Message, Quarantine, Requester, Ticket, User
from helpdesk.oneline import validate_one_line
from workflows import transitions
from workflows.models import SlaPolicy
from workflows.request_types import EMAIL_PROOF_SUFFICES, REQUEST_TYPE_HELP, Jurisdiction, RequestType
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

    class Meta(TicketListSerializer.Meta):
        fields = [*TicketListSerializer.Meta.fields, "suggested_request_type", "paused_at", "paused_seconds",
                  "extension_count", "legal_hold", "verified_at", "verification_method", "processed_at",
                  "rejection_reason", "transitions", "messages"]
        read_only_fields = fields

    def get_transitions(self, obj: Ticket) -> list[str]:
        request = self.context.get("request")
        user = getattr(request, "user", None)
        if user is None or not can_act_on_ticket(user, obj):
            return []
        available = getattr(obj, "get_available_state_transitions", None)  # added by django-fsm at runtime
        return sorted(t.name for t in available()) if available else []


class TicketCreateSerializer(serializers.Serializer):
    """A request received by phone, letter or in person, entered by staff (channel ``staff``)."""

    requester_email = serializers.EmailField(max_length=254)
    requester_name = serializers.CharField(max_length=200, required=False, allow_blank=True, default="",
                                           validators=[validate_one_line])
    phone = serializers.CharField(max_length=50, required=False, allow_blank=True, default="",
                                  validators=[validate_one_line])
    organization = serializers.CharField(max_length=200, required=False, allow_blank=True, default="",
                                         validators=[validate_one_line])
    language = serializers.ChoiceField(choices=Language.choices, required=False, default=Language.KO)
    subject = serializers.CharField(max_length=300, validators=[validate_one_line])
    body_text = serializers.CharField(max_length=100_000, help_text="What the requester asked, in their words.")
    request_type = serializers.ChoiceField(choices=RequestType.choices)
    jurisdiction = serializers.ChoiceField(choices=Jurisdiction.choices, required=False, default=Jurisdiction.KR)
    acknowledge = serializers.BooleanField(required=False, default=True,
                                           help_text="Mail the requester the usual acknowledgement.")


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


class ReplySerializer(VersionSerializer):
    body_text = serializers.CharField(max_length=100_000, allow_blank=True)
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
        fields = ["id", "email", "name", "phone", "organization", "language", "created_at", "ticket_count"]
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
