"""Serializers of issue 26's writes: a request entered by staff (any channel, on someone's behalf) and
the representation it may carry. Thin: the rules are the services' (checked here too, so every field
error comes back at once)."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers

from helpdesk.intake.uploads import validate_power_of_attorney
from helpdesk.models import (
    STAFF_CHANNEL_CHOICES,
    Attachment,
    AuthorityCheck,
    Channel,
    Language,
    Participant,
    Relation,
    Representation,
)
from helpdesk.oneline import validate_one_line
from helpdesk.services.errors import GuardError
from helpdesk.services.representation import OnBehalfOf, check_on_behalf_of
from helpdesk.services.tickets import check_reachable, staff_received_at
from workflows.request_types import Jurisdiction, RequestType
from workflows.states import VerificationMethod


class TicketCreateSerializer(serializers.Serializer):
    """A request received by phone, letter, fax, in person (or a mail forwarded by hand), entered by staff."""

    channel = serializers.ChoiceField(
        choices=STAFF_CHANNEL_CHOICES, required=False, default=Channel.STAFF,
        help_text="How the request came in (Decree Art. 41(2)); `staff` when not said.")
    received_at = serializers.DateTimeField(
        required=False, allow_null=True, default=None,
        help_text="When it came in (ISO 8601 with offset); the legal deadline runs from it. Not in the future, "
                  "not more than a year ago; default now.")
    requester_email = serializers.EmailField(max_length=254, required=False, allow_blank=True, default="",
                                             help_text="Optional when `phone` or `postal_address` is given; "
                                                       "without it, notices are given by phone or post.")
    requester_name = serializers.CharField(max_length=200, required=False, allow_blank=True, default="",
                                           validators=[validate_one_line])
    phone = serializers.CharField(max_length=50, required=False, allow_blank=True, default="",
                                  validators=[validate_one_line])
    postal_address = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")
    organization = serializers.CharField(max_length=200, required=False, allow_blank=True, default="",
                                         validators=[validate_one_line])
    language = serializers.ChoiceField(choices=Language.choices, required=False, default=Language.KO)
    subject = serializers.CharField(max_length=300, validators=[validate_one_line])
    body_text = serializers.CharField(max_length=100_000, help_text="What the requester asked, in their words.")
    request_type = serializers.ChoiceField(choices=RequestType.choices)
    jurisdiction = serializers.ChoiceField(choices=Jurisdiction.choices, required=False, default=Jurisdiction.KR)
    acknowledge = serializers.BooleanField(required=False, default=True,
                                           help_text="Acknowledge the request: mailed, or (no e-mail address) "
                                                     "recorded as a notice to give by phone or post.")
    attachments = serializers.ListField(
        child=serializers.FileField(), required=False, default=list, max_length=50,
        help_text="multipart/form-data: the scanned request form, letter or ID copy (bounded in number, size "
                  "and type like the Contact Us form's files).")

    # On someone's behalf (Act Art. 38(1)): set `relation` and `subject_name`; the requester is the representative.
    relation = serializers.ChoiceField(choices=Relation.choices, required=False, allow_blank=True, default="",
                                       help_text="Set when the requester acts for the data subject.")
    relation_detail = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    subject_name = serializers.CharField(max_length=200, required=False, allow_blank=True, default="",
                                         validators=[validate_one_line])
    subject_email = serializers.EmailField(required=False, allow_blank=True, default="",
                                           help_text="The data subject is mailed that a request was made in their "
                                                     "name (not for complaints).")
    subject_phone = serializers.CharField(max_length=50, required=False, allow_blank=True, default="")
    subject_birth_date = serializers.DateField(required=False, allow_null=True, default=None)
    power_of_attorney = serializers.FileField(required=False, allow_null=True, default=None,
                                              help_text="multipart/form-data: PDF, JPEG, PNG, HEIC or WebP; "
                                                        "required for a delegate.")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        # The services' rules, checked here too so every field error comes back at once.
        errors: dict[str, str] = {}
        attrs["on_behalf_of"] = None
        if attrs["relation"] or attrs["subject_name"]:
            power = None
            if attrs["power_of_attorney"] is not None:
                try:
                    power = validate_power_of_attorney(attrs["power_of_attorney"])
                except DjangoValidationError as exc:
                    errors["power_of_attorney"] = " ".join(exc.messages)
            attrs["on_behalf_of"] = OnBehalfOf(
                relation=attrs["relation"], relation_detail=attrs["relation_detail"],
                subject_name=attrs["subject_name"], subject_email=attrs["subject_email"],
                subject_phone=attrs["subject_phone"], subject_birth_date=attrs["subject_birth_date"],
                power_of_attorney=power)
            if "power_of_attorney" not in errors:
                try:
                    check_on_behalf_of(attrs["on_behalf_of"])
                except GuardError as exc:
                    errors.update(exc.errors)
        try:
            check_reachable(email=attrs["requester_email"], phone=attrs["phone"],
                            postal_address=attrs["postal_address"])
        except GuardError as exc:
            errors.update(exc.errors)
        if attrs.get("received_at") is not None:
            try:
                attrs["received_at"] = staff_received_at(attrs["received_at"])
            except GuardError as exc:
                errors.update(exc.errors)
        if errors:
            raise serializers.ValidationError(errors)
        return attrs


class PowerOfAttorneySerializer(serializers.ModelSerializer):
    class Meta:
        model = Attachment
        fields = ["id", "filename", "size", "content_type"]


class RepresentationSerializer(serializers.ModelSerializer):
    power_of_attorney = PowerOfAttorneySerializer(read_only=True, allow_null=True)
    checked_by = serializers.SlugRelatedField(  # type: ignore[var-annotated]
        slug_field="username", read_only=True, allow_null=True)
    subject_told = serializers.SerializerMethodField()

    class Meta:
        model = Representation
        fields = ["relation", "relation_detail", "subject_name", "subject_email", "subject_phone",
                  "subject_birth_date", "power_of_attorney", "subject_told", "authority_check", "subject_check",
                  "check_note", "checked_at", "checked_by"]
        read_only_fields = fields

    def get_subject_told(self, obj: Representation) -> bool:
        return obj.subject_notice_id is not None


class RepresentationCheckSerializer(serializers.Serializer):
    authority_check = serializers.ChoiceField(choices=AuthorityCheck.choices)
    subject_check = serializers.ChoiceField(choices=VerificationMethod.choices)
    check_note = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class ParticipantSerializer(serializers.ModelSerializer):
    """Someone besides the requester who receives the replies (in Cc)."""

    class Meta:
        model = Participant
        fields = ["id", "email", "name", "role", "added_at"]
        read_only_fields = ["id", "added_at"]
        extra_kwargs = {"role": {"required": False}, "name": {"required": False}}


REFERENCE_PATTERN = r"^[A-Za-z0-9-]{1,32}$"


class MergeSerializer(serializers.Serializer[Any]):
    """Merge this ticket (the duplicate) into ``into``, the ticket that stays (issue 26)."""

    into = serializers.RegexField(REFERENCE_PATTERN,
                                  help_text="Reference of the ticket that stays, e.g. PRIV-2026-0001.")
    confirm_other_requester = serializers.BooleanField(
        default=False, help_text="Required (true) when the two tickets have different requesters.")
    expected_version = serializers.IntegerField(required=False, min_value=1,
                                                help_text="This ticket's `version` as you read it (optimistic lock).")


class LinkSerializer(serializers.Serializer[Any]):
    """Link a related ticket (shown on both; symmetric)."""

    other = serializers.RegexField(REFERENCE_PATTERN, help_text="Reference of the related ticket.")
