"""The ticket page's "Tasks" card (issue 26, point 6): send a task to a contact, close or cancel one."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from helpdesk import services
from helpdesk.fulfilment.config import ConfigError, SourceConfig, configured_sources
from helpdesk.models import Contact, Task, Ticket
from workflows.calendar import local_date


class DateInput(forms.DateInput):
    input_type = "date"


def contact_choices() -> list[tuple[str, str]]:
    """Active contacts, labelled with their kind and the data sources that name them."""
    named, _error = services.source_contacts()
    sources: dict[int, list[str]] = {}
    for row in named:
        if row.contact is not None:
            sources.setdefault(row.contact.pk, []).append(row.source)
    choices = [("", "—")]
    for contact in Contact.objects.filter(is_active=True).order_by("organisation", "name"):
        label = f"{contact} · {contact.get_kind_display()}"
        if contact.pk in sources:
            label += " · " + ", ".join(sources[contact.pk])
        choices.append((str(contact.pk), label))
    return choices


def fulfilment_sources() -> tuple[SourceConfig, ...]:
    try:
        return configured_sources()
    except ConfigError:  # the card shows the file's error
        return ()


class TaskForm(forms.Form):
    contact = forms.ChoiceField(label=_("Send to"))
    instructions = forms.CharField(label=_("What to do"), widget=forms.Textarea(attrs={"rows": 4}), max_length=5000)
    due_date = forms.DateField(label=_("Answer due by"), widget=DateInput())
    source = forms.ChoiceField(label=_("About the data source"), required=False)

    def __init__(self, *args: Any, ticket: Ticket | None = None, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", "id_task_%s")
        super().__init__(*args, **kwargs)
        field = self.fields["contact"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = contact_choices()
        source = self.fields["source"]
        assert isinstance(source, forms.ChoiceField)
        source.choices = [("", "—"), *((s.name, s.name) for s in fulfilment_sources())]
        if ticket is not None and not self.is_bound:
            self.fields["due_date"].help_text = _("At the latest the legal deadline, %(deadline)s.") % {
                "deadline": local_date(ticket.due_at).isoformat()}
            self.fields["due_date"].widget.attrs["max"] = local_date(ticket.due_at).isoformat()

    def clean_contact(self) -> Contact:
        contact = Contact.objects.filter(pk=self.cleaned_data["contact"], is_active=True).first()
        if contact is None:
            raise forms.ValidationError(_("Choose an active contact."))
        return contact


class CloseTaskForm(forms.Form):
    note = forms.CharField(label=_("Note"), max_length=500, required=False)


def tasks_context(ticket: Ticket, may_act: bool, bound: TaskForm | None) -> dict[str, Any]:
    """The tasks of the ticket, the form to send one, and data sources naming unknown contacts."""
    tasks = list(Task.objects.filter(ticket=ticket).select_related("contact", "answer").order_by("number"))
    named, error = services.source_contacts() if may_act else ([], "")
    unknown = [row for row in named if row.contact is None]
    return {"tasks": tasks,
            "task_form": (bound or TaskForm(ticket=ticket)) if may_act and ticket.is_open else None,
            "task_source_problems": unknown, "task_sources_error": error}
