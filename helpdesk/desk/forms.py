"""Desk forms. Each ticket form carries the ticket's ``version`` for optimistic locking."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.utils.translation import gettext_lazy as _

from helpdesk.intake.uploads import AttachmentsMixin, attachments_help
from helpdesk.models import Channel, User
from helpdesk.services.directory import DIRECTORY_REFUSED, DIRECTORY_UNREACHABLE, sign_in_outcome
from workflows import transitions
from workflows.request_types import RequestType
from workflows.states import TicketState


class DeskLoginForm(AuthenticationForm):
    # Our own words: Django's Korean for its message reads "이름와/과 비밀번호" (issue 28).
    error_messages = {
        **AuthenticationForm.error_messages,
        "invalid_login": _("The username or password is not correct. Both are case-sensitive."),
        DIRECTORY_REFUSED: _("Your company account is not in a group that may use the Privacy Desk. "
                             "Ask a manager to add you."),
        DIRECTORY_UNREACHABLE: _("The company directory did not answer, so company accounts cannot sign in "
                                 "right now. Try again in a few minutes; Privacy Desk passwords still work."),
    }

    def get_invalid_login_error(self) -> forms.ValidationError:
        """LDAP sign-in (helpdesk/directory_ldap.py) says why a directory account was not let in."""
        outcome = sign_in_outcome(self.request)
        if outcome in (DIRECTORY_REFUSED, DIRECTORY_UNREACHABLE):
            return forms.ValidationError(self.error_messages[outcome], code=outcome)
        return super().get_invalid_login_error()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["username"].widget.attrs.update({"autocomplete": "username", "autofocus": True})
        self.fields["password"].widget.attrs.update({"autocomplete": "current-password"})


class VersionedForm(forms.Form):
    """``version`` is the ticket version the user saw; a mismatch means someone else changed it.

    The ticket page holds many of these forms at once: each names its element ids after itself
    (``id_prefix``), so no two fields on a page share an id — a label always reaches its own field
    (issue 28: the internal note's label once put the cursor in the reply to the requester). Field
    *names* stay as they are; transition forms get unique ids from their ``prefix`` instead.
    """

    id_prefix = ""
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        if self.id_prefix:
            kwargs.setdefault("auto_id", f"id_{self.id_prefix}_%s")
        super().__init__(*args, **kwargs)


# --- Transitions: each form asks for the data its registry entry declares ----------------------
def transition_form(spec: transitions.TransitionSpec) -> type[VersionedForm]:
    """The desk form for one transition, built from :mod:`workflows.transitions`."""
    fields: dict[str, forms.Field] = {}
    for item in spec.fields:
        required = item.required_message is not None
        if item.choices is not None:
            fields[item.name] = forms.ChoiceField(label=item.label, required=required, help_text=item.help_text,
                                                  choices=[("", "—"), *item.choices])
        else:
            fields[item.name] = forms.CharField(label=item.label, required=required, help_text=item.help_text,
                                                max_length=item.max_length,
                                                widget=forms.Textarea(attrs={"rows": item.rows}))
    return type(f"{spec.name.title().replace('_', '')}Form", (VersionedForm,), fields)


TRANSITION_FORMS: dict[str, type[VersionedForm]] = {
    name: transition_form(spec) for name, spec in transitions.REGISTRY.items()
}


# --- Replies, notes, type, assignment -----------------------------------------------------------
class _BodyForm(VersionedForm):
    def clean_body_text(self) -> str:
        # Browsers submit textareas with CRLF line ends; store plain \n like intake does.
        return str(self.cleaned_data["body_text"]).replace("\r\n", "\n").replace("\r", "\n")


class ReplyForm(AttachmentsMixin, _BodyForm):
    id_prefix = "reply"
    body_text = forms.CharField(label=_("Reply to the requester"), widget=forms.Textarea(attrs={"rows": 8}))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["attachments"].label = _("Attach files (a notice as PDF, proof of a correction)")
        self.fields["attachments"].help_text = attachments_help()


class NoteForm(_BodyForm):
    id_prefix = "note"
    body_text = forms.CharField(label=_("Internal note (never mailed)"), widget=forms.Textarea(attrs={"rows": 3}))


class ReclassifyForm(VersionedForm):
    id_prefix = "reclassify"
    request_type = forms.ChoiceField(label=_("Request type"), choices=RequestType.choices)


class AssignForm(VersionedForm):
    id_prefix = "assign"
    assignee = forms.ModelChoiceField(label=_("Assign to"), queryset=User.objects.none(), required=False,
                                      empty_label=_("— nobody —"))

    def __init__(self, *args: Any, staff: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if staff is not None:
            field = self.fields["assignee"]
            assert isinstance(field, forms.ModelChoiceField)
            field.queryset = staff
            if not self.is_bound:
                # Shown, not submitted: the options from one plain query. Left to itself the field
                # counts the queryset and then reads it again through a server-side cursor. A
                # submitted form still checks the choice against the queryset.
                field.choices = [("", field.empty_label),
                                 *((user.pk, field.label_from_instance(user)) for user in staff)]


class ExtendForm(VersionedForm):
    id_prefix = "extend"
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
        ("due", _("Days left, fewest first")), ("-due", _("Days left, most first")),
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


class FeeForm(VersionedForm):
    """Fee and postage (Enforcement Decree Art. 47), mailed to the requester before they are incurred."""

    id_prefix = "fee"
    fee = forms.IntegerField(label=_("Fee (won)"), min_value=0, max_value=1_000_000, initial=0)
    postage = forms.IntegerField(label=_("Postage (won), only for a copy sent by post"), min_value=0,
                                 max_value=1_000_000, initial=0)
    company_cause = forms.BooleanField(label=_("The company caused this request: charge nothing"), required=False)
    basis = forms.CharField(label=_("What it pays for, or why nothing is charged (told to the requester)"),
                            max_length=500)
