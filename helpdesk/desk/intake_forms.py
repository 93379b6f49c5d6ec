"""Desk forms for requests received by phone, letter, fax or in person, and notices given by hand."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from helpdesk import services
from helpdesk.intake.representation_form import RepresentationMixin
from helpdesk.intake.uploads import AttachmentsMixin, attachments_help
from helpdesk.models import (
    AuthorityCheck,
    Channel,
    DeliveryStatus,
    GivenBy,
    Language,
    Participant,
    ParticipantRole,
    Representation,
)
from helpdesk.oneline import validate_one_line
from workflows.request_types import RequestType
from workflows.states import VerificationMethod

# What the desk form offers; ``staff`` (channel unknown) stays for the API and old tickets.
DESK_CHANNELS = [(c.value, c.label) for c in (Channel.PHONE, Channel.LETTER, Channel.FAX, Channel.VISIT,
                                               Channel.EMAIL)]


class LocalDateTimeInput(forms.DateTimeInput):
    """``<input type="datetime-local">``: the browser's picker, read in the desk's time zone."""

    input_type = "datetime-local"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(format="%Y-%m-%dT%H:%M", **kwargs)


def _now_minute() -> datetime:
    return timezone.localtime().replace(second=0, microsecond=0)


class StaffIntakeForm(RepresentationMixin, AttachmentsMixin, forms.Form):
    channel = forms.ChoiceField(label=_("How did the request come in?"), choices=DESK_CHANNELS,
                                widget=forms.RadioSelect)
    received_at = forms.DateTimeField(label=_("Received (date and time)"), widget=LocalDateTimeInput(),
                                      help_text=_("The legal deadline runs from this moment."))
    requester_name = forms.CharField(label=_("Requester's name"), max_length=200, validators=[validate_one_line])
    requester_email = forms.EmailField(label=_("E-mail address"), required=False,
                                       help_text=_("Optional. Without it, notices are given by phone or post "
                                                   "and the desk records how."))
    phone = forms.CharField(label=_("Phone number"), max_length=50, required=False, validators=[validate_one_line])
    postal_address = forms.CharField(label=_("Postal address"), max_length=500, required=False,
                                     widget=forms.Textarea(attrs={"rows": 2}))
    organization = forms.CharField(label=_("Organization"), max_length=200, required=False,
                                   validators=[validate_one_line])
    language = forms.ChoiceField(label=_("Language for notices"), choices=Language.choices, initial=Language.KO)
    request_type = forms.ChoiceField(label=_("Request type"), choices=[("", "—"), *RequestType.choices])
    subject = forms.CharField(label=_("Subject"), max_length=300, validators=[validate_one_line])
    body_text = forms.CharField(label=_("What was asked, in the requester's words"), max_length=100_000,
                                widget=forms.Textarea(attrs={"rows": 6}))
    acknowledge = forms.BooleanField(label=_("Acknowledge the request (mailed, or recorded to give by phone "
                                             "or post)"), required=False, initial=True)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["received_at"].initial = _now_minute
        self.fields["received_at"].widget.attrs["max"] = _now_minute().strftime("%Y-%m-%dT%H:%M")
        self.fields["attachments"].label = _("Scanned request form, letter or ID copy (optional)")
        self.fields["attachments"].help_text = attachments_help()
        self.fields["phone"].widget.attrs.update(inputmode="tel", autocomplete="off")
        self.fields["requester_email"].widget.attrs.update(inputmode="email", autocomplete="off")
        self.fields["on_behalf"].label = _("The requester acts for someone else (a representative)")

    def clean_received_at(self) -> datetime:
        try:
            return services.staff_received_at(self.cleaned_data["received_at"])
        except services.GuardError as exc:
            raise forms.ValidationError(exc.errors["received_at"]) from exc

    def clean_body_text(self) -> str:
        return str(self.cleaned_data["body_text"]).replace("\r\n", "\n").replace("\r", "\n")

    def clean_postal_address(self) -> str:
        return str(self.cleaned_data["postal_address"]).replace("\r\n", "\n").strip()

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if "requester_email" not in self.errors:
            try:
                services.check_reachable(email=data.get("requester_email") or "", phone=data.get("phone") or "",
                                         postal_address=data.get("postal_address") or "")
            except services.GuardError as exc:
                self.add_error("phone", exc.errors["requester_email"])
        return data


class NoticeGivenForm(forms.Form):
    method = forms.ChoiceField(label=_("How was it given?"), choices=[("", "—"), *GivenBy.choices])
    given_at = forms.DateTimeField(label=_("When"), widget=LocalDateTimeInput())
    note = forms.CharField(label=_("Note (optional)"), max_length=500, required=False)

    def __init__(self, data: Any = None, *, message_pk: int) -> None:
        super().__init__(data, auto_id=f"id_given{message_pk}_%s")
        self.fields["given_at"].initial = _now_minute


def attach_notice_forms(timeline: list[Any], may_act: bool, bound: NoticeGivenForm | None = None) -> None:
    """Give each notice still to be given by hand its form (``bound``: the one just submitted)."""
    if not may_act:
        return
    for entry in timeline:
        message = entry.message
        if message is not None and message.delivery_status == DeliveryStatus.TO_GIVE:
            own = bound is not None and bound.auto_id == f"id_given{message.pk}_%s"
            message.notice_form = bound if own else NoticeGivenForm(message_pk=message.pk)


class RepresentationCheckForm(forms.Form):
    authority_check = forms.ChoiceField(label=_("How was the representative's authority checked?"),
                                        choices=[("", "—"), *AuthorityCheck.choices])
    subject_check = forms.ChoiceField(label=_("How was the data subject's identity checked?"),
                                      choices=[("", "—"), *VerificationMethod.choices])
    check_note = forms.CharField(label=_("Note"), max_length=500, required=False,
                                 widget=forms.Textarea(attrs={"rows": 2}))


def representation_context(ticket: Any, may_act: bool, bound: RepresentationCheckForm | None) -> dict[str, Any]:
    """The ticket page's "Representative" card: the representation and, until checked, its form."""
    representation = Representation.objects.filter(ticket=ticket).select_related(
        "power_of_attorney", "checked_by").first()
    form = None
    if representation is not None and representation.checked_at is None and may_act:
        form = bound or RepresentationCheckForm()
    return {"representation": representation, "representation_form": form}


class ParticipantForm(forms.Form):
    email = forms.EmailField(label=_("E-mail address"))
    name = forms.CharField(label=_("Name"), max_length=200, required=False, validators=[validate_one_line])
    role = forms.ChoiceField(label=_("Role"), choices=ParticipantRole.choices, initial=ParticipantRole.OTHER)


def participants_context(ticket: Any, may_act: bool, bound: ParticipantForm | None) -> dict[str, Any]:
    """The ticket page's "Who receives the answers" card: participants, the mail's Cc addresses, the form."""
    active = list(Participant.objects.filter(ticket=ticket, removed_at__isnull=True).order_by("pk"))
    return {"participants": active,
            "offered_participants": services.offered_from_cc(ticket, active) if may_act else [],
            "participant_form": (bound or ParticipantForm(auto_id="id_participant_%s")) if may_act else None}
