"""Desk forms. Each ticket form carries the ticket's ``version`` for optimistic locking."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.utils.translation import gettext_lazy as _

from helpdesk.models import Channel, User
from workflows.request_types import RequestType
from workflows.states import RejectionReason, TicketState, VerificationMethod

TEXTAREA = {"rows": 4}


class DeskLoginForm(AuthenticationForm):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["username"].widget.attrs.update({"autocomplete": "username", "autofocus": True})
        self.fields["password"].widget.attrs.update({"autocomplete": "current-password"})


class VersionedForm(forms.Form):
    """``version`` is the ticket version the user saw; a mismatch means someone else changed it."""

    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)


# --- Transitions: each asks for what its guard needs -------------------------------------------
class VerifyForm(VersionedForm):
    verification_method = forms.ChoiceField(label=_("How was identity verified?"),
                                            choices=[("", "—"), *VerificationMethod.choices])
    note = forms.CharField(label=_("Verification note"), required=False,
                           widget=forms.Textarea(attrs={"rows": 2}),
                           help_text=_("Required when the method is “Other”."))


class RequestInfoForm(VersionedForm):
    question = forms.CharField(label=_("What must the requester send? (mailed to them)"),
                               widget=forms.Textarea(attrs=TEXTAREA))


class ProcessForm(VersionedForm):
    note = forms.CharField(label=_("What was done to carry out the request?"),
                           widget=forms.Textarea(attrs={"rows": 3}))


class RejectForm(VersionedForm):
    reason = forms.ChoiceField(label=_("Legal reason"), choices=[("", "—"), *RejectionReason.choices])
    explanation = forms.CharField(label=_("Explanation to the requester (mailed to them)"),
                                  widget=forms.Textarea(attrs=TEXTAREA))


class OptionalReasonForm(VersionedForm):
    reason = forms.CharField(label=_("Reason"), required=False, widget=forms.Textarea(attrs={"rows": 2}))


TRANSITION_FORMS: dict[str, type[VersionedForm]] = {
    "verify": VerifyForm,
    "request_info": RequestInfoForm,
    "resume": VersionedForm,
    "process": ProcessForm,
    "respond": VersionedForm,
    "reject": RejectForm,
    "withdraw": OptionalReasonForm,
    "reopen": OptionalReasonForm,
}
TRANSITION_LABELS: dict[str, Any] = {
    "verify": _("Verify identity"),
    "request_info": _("Ask the requester"),
    "resume": _("Resume"),
    "process": _("Mark processed"),
    "respond": _("Mark responded"),
    "reject": _("Reject"),
    "withdraw": _("Withdraw"),
    "reopen": _("Reopen"),
}
# Display order on the ticket page: the spine first, the exits last.
TRANSITION_ORDER = ("verify", "process", "respond", "request_info", "resume", "reopen", "reject", "withdraw")


# --- Replies, notes, type, assignment -----------------------------------------------------------
class _BodyForm(VersionedForm):
    def clean_body_text(self) -> str:
        # Browsers submit textareas with CRLF line ends; store plain \n like intake does.
        return str(self.cleaned_data["body_text"]).replace("\r\n", "\n").replace("\r", "\n")


class ReplyForm(_BodyForm):
    body_text = forms.CharField(label=_("Reply to the requester"), widget=forms.Textarea(attrs={"rows": 8}))


class NoteForm(_BodyForm):
    body_text = forms.CharField(label=_("Internal note (never mailed)"), widget=forms.Textarea(attrs={"rows": 3}))


class ReclassifyForm(VersionedForm):
    request_type = forms.ChoiceField(label=_("Request type"), choices=RequestType.choices)


class AssignForm(VersionedForm):
    assignee = forms.ModelChoiceField(label=_("Assign to"), queryset=User.objects.none(), required=False,
                                      empty_label=_("— nobody —"))

    def __init__(self, *args: Any, staff: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if staff is not None:
            field = self.fields["assignee"]
            assert isinstance(field, forms.ModelChoiceField)
            field.queryset = staff


class ExtendForm(VersionedForm):
    reason = forms.CharField(label=_("Why is more time needed? (told to the requester)"),
                             widget=forms.Textarea(attrs={"rows": 2}))


# --- Queue filters -----------------------------------------------------------------------------
class QueueFilterForm(forms.Form):
    search = forms.CharField(label=_("Search"), required=False, max_length=200)
    request_type = forms.ChoiceField(label=_("Request type"), required=False,
                                     choices=[("", _("Any type")), *RequestType.choices])
    state = forms.ChoiceField(label=_("State"), required=False, choices=[("", _("Any state")), *TicketState.choices])
    assignee = forms.ChoiceField(label=_("Assignee"), required=False)
    channel = forms.ChoiceField(label=_("Channel"), required=False, choices=[("", _("Any channel")), *Channel.choices])
    sort = forms.ChoiceField(label=_("Sort"), required=False, choices=[
        ("due", _("Due date, soonest first")), ("-due", _("Due date, latest first")),
        ("-received", _("Newest first")), ("received", _("Oldest first")),
    ])

    def __init__(self, *args: Any, staff: Any = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["assignee"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [("", _("Anyone")), ("none", _("Nobody")), *((str(u.pk), str(u)) for u in staff)]


# --- Quarantine review -------------------------------------------------------------------------
class QuarantineConvertForm(forms.Form):
    sender_email = forms.EmailField(label=_("Requester's e-mail"), required=False)
    sender_name = forms.CharField(label=_("Requester's name"), required=False, max_length=200)
    request_type = forms.ChoiceField(label=_("Request type"), choices=RequestType.choices)


class QuarantineAttachForm(forms.Form):
    reference = forms.CharField(label=_("Ticket reference"), max_length=32,
                                widget=forms.TextInput(attrs={"placeholder": "PRIV-2026-0001"}))


class QuarantineDiscardForm(forms.Form):
    reason = forms.CharField(label=_("Why discard it?"), required=False, max_length=500)
