"""Forms of the requester pages. Validation only; the work happens in ``helpdesk.public.services``."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy as _

from helpdesk.intake.representation_form import RepresentationMixin
from helpdesk.intake.uploads import AttachmentsMixin, attachments_help
from helpdesk.oneline import validate_one_line
from workflows.request_types import REQUEST_TYPE_HELP, RequestType

DESCRIPTION_MAX = 10_000
MESSAGE_MAX = 10_000


def request_type_choices() -> list[tuple[str, SafeString]]:
    # The label carries its one-line explanation; the template shows it under the name.
    return [
        (value, format_html("<strong>{}</strong><span class=\"choice-help\">{}</span>", label,
                            REQUEST_TYPE_HELP[value]))
        for value, label in RequestType.choices
    ]


class ContactForm(RepresentationMixin, AttachmentsMixin, forms.Form):
    request_type = forms.ChoiceField(label=_("What would you like to do?"), widget=forms.RadioSelect,
                                     choices=request_type_choices)
    name = forms.CharField(label=_("Your name"), max_length=200, validators=[validate_one_line])
    email = forms.EmailField(label=_("Your e-mail address"), max_length=254,
                             help_text=_("We will send a confirmation link to this address."))
    phone = forms.CharField(label=_("Phone (optional)"), max_length=50, required=False,
                            validators=[validate_one_line])
    organization = forms.CharField(label=_("Company or organization (optional)"), max_length=200, required=False,
                                   validators=[validate_one_line])
    description = forms.CharField(
        label=_("Your request"), max_length=DESCRIPTION_MAX, widget=forms.Textarea(attrs={"rows": 7}),
        help_text=_("Tell us what you want us to do, and anything that helps us find your information."),
    )
    field_order = ["request_type", "name", "email", "phone", "organization", "description", "attachments"]
    under_14 = forms.TypedChoiceField(
        label=_("Are you under 14 years old?"), widget=forms.RadioSelect,
        choices=[("no", _("No, I am 14 or older")), ("yes", _("Yes, I am under 14"))],
        help_text=_("Children under 14 need the consent of a legal guardian. We will ask your guardian by e-mail."),
    )
    guardian_name = forms.CharField(label=_("Guardian's name"), max_length=200, required=False,
                                    validators=[validate_one_line])
    guardian_email = forms.EmailField(label=_("Guardian's e-mail address"), max_length=254, required=False)
    consent = forms.BooleanField(
        label=_("I agree to the collection and use of my personal information as described above."),
        error_messages={"required": _("We can only take your request if you agree. Tick the box to agree.")},
    )
    # Honeypot: hidden from people (and from screen readers); bots fill every field.
    website = forms.CharField(label=_("Leave this field empty"), required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["attachments"].help_text = attachments_help()
        self.fields["email"].widget.attrs.update(autocomplete="email", inputmode="email")
        self.fields["name"].widget.attrs.update(autocomplete="name")
        self.fields["phone"].widget.attrs.update(autocomplete="tel", inputmode="tel")
        self.fields["organization"].widget.attrs.update(autocomplete="organization")
        self.fields["website"].widget.attrs.update(autocomplete="off", tabindex="-1")

    def clean_website(self) -> str:
        if self.cleaned_data.get("website"):
            raise forms.ValidationError(_("This field must stay empty."))
        return ""

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("under_14") == "yes":
            if not (data.get("guardian_name") or "").strip():
                self.add_error("guardian_name", _("Enter your legal guardian's name."))
            if not data.get("guardian_email"):
                if "guardian_email" not in self.errors:
                    self.add_error("guardian_email", _("Enter your legal guardian's e-mail address."))
            elif data.get("email") and data["guardian_email"].strip().lower() == data["email"].strip().lower():
                self.add_error("guardian_email", _("Your guardian's address must be different from yours."))
        return data

    @property
    def is_bot(self) -> bool:
        return "website" in self.errors


class StatusMessageForm(AttachmentsMixin, forms.Form):
    body = forms.CharField(
        label=_("Your message"), max_length=MESSAGE_MAX, required=False, widget=forms.Textarea(attrs={"rows": 5}),
        help_text=_("Add information, or answer our question. To send proof of identity, attach it below."),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["attachments"].help_text = attachments_help()

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not (data.get("body") or "").strip() and not data.get("attachments") and not self.errors:
            raise forms.ValidationError(_("Write a message or attach a file."))
        return data


class WithdrawForm(forms.Form):
    reason = forms.CharField(label=_("Why are you withdrawing? (optional)"), max_length=1000, required=False,
                             widget=forms.Textarea(attrs={"rows": 3}))
    confirm = forms.BooleanField(
        label=_("Yes, withdraw my request. I understand it will be closed."),
        error_messages={"required": _("Tick the box to confirm that you want to withdraw.")},
    )


class LostLinkForm(forms.Form):
    email = forms.EmailField(label=_("Your e-mail address"), max_length=254,
                             help_text=_("The address you used when you sent your request."))
    website = forms.CharField(label=_("Leave this field empty"), required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["email"].widget.attrs.update(autocomplete="email", inputmode="email")
        self.fields["website"].widget.attrs.update(autocomplete="off", tabindex="-1")
