"""The "I am requesting for someone else" part of a form: the desk's intake form and Contact Us."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from helpdesk import services
from helpdesk.intake.uploads import validate_power_of_attorney
from helpdesk.models import Relation
from helpdesk.oneline import validate_one_line

REPRESENTATION_FIELDS = ("on_behalf", "relation", "relation_detail", "subject_name", "subject_email",
                         "subject_phone", "subject_birth_date", "power_of_attorney")


class RepresentationMixin(forms.Form):
    on_behalf = forms.BooleanField(label=_("I am requesting for someone else (as their representative)"),
                                   required=False)
    relation = forms.ChoiceField(label=_("Your relation to them"), choices=Relation.choices, required=False,
                                 widget=forms.RadioSelect)
    relation_detail = forms.CharField(label=_("Relation, in words (e.g. mother, lawyer)"), max_length=200,
                                      required=False, validators=[validate_one_line])
    subject_name = forms.CharField(label=_("Their name"), max_length=200, required=False,
                                   validators=[validate_one_line])
    subject_email = forms.EmailField(label=_("Their e-mail address (they are told of the request)"),
                                     required=False)
    subject_phone = forms.CharField(label=_("Their phone number"), max_length=50, required=False,
                                    validators=[validate_one_line])
    subject_birth_date = forms.DateField(label=_("Their date of birth"), required=False,
                                         widget=forms.DateInput(attrs={"type": "date"}))
    power_of_attorney = forms.FileField(
        label=_("Power of attorney (PDF or photo)"), required=False,
        help_text=_("Signed by the person you act for; a legal representative may send proof of the relation "
                    "instead."))

    def clean_power_of_attorney(self) -> Any:
        upload = self.cleaned_data.get("power_of_attorney")
        self.checked_power_of_attorney = validate_power_of_attorney(upload) if upload else None
        return upload

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        self.representation = None
        if data.get("on_behalf") and "power_of_attorney" not in self.errors:
            representation = services.OnBehalfOf(
                relation=data.get("relation") or "", relation_detail=data.get("relation_detail") or "",
                subject_name=data.get("subject_name") or "", subject_email=data.get("subject_email") or "",
                subject_phone=data.get("subject_phone") or "", subject_birth_date=data.get("subject_birth_date"),
                power_of_attorney=getattr(self, "checked_power_of_attorney", None))
            try:
                services.check_on_behalf_of(representation)
            except services.GuardError as exc:
                for field, message in exc.errors.items():
                    self.add_error(field if field in self.fields else None, message)
            else:
                self.representation = representation
        return data

    def on_behalf_of(self) -> services.OnBehalfOf | None:
        """The representation, once the form is valid (None: the requester acts for themselves)."""
        return self.representation
