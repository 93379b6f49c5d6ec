"""The queue's bulk action bar (issue 31): which tickets (ticked, or the whole filter's result) and what to do."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from helpdesk.models import BulkAction
from notifications.models import ResponseTemplate


class BulkActionForm(forms.Form):
    prefix = "bulk"  # its fields beside the queue's filter form on one page (ids stay unique)
    action = forms.ChoiceField(label=_("Action"), choices=BulkAction.choices)
    select_all = forms.BooleanField(label=_("All matching this filter"), required=False)
    queue = forms.CharField(required=False, max_length=32, widget=forms.HiddenInput)
    assignee = forms.ChoiceField(label=_("Assign to"), required=False)
    template = forms.ModelChoiceField(label=_("Reply template"), queryset=ResponseTemplate.objects.none(),
                                      required=False, empty_label=_("— choose a template —"))
    reason = forms.CharField(label=_("Reason for the extension (the requesters are told it)"), required=False,
                             max_length=2000)
    into = forms.CharField(label=_("Duplicate of (the ticket that stays)"), required=False, max_length=32,
                           widget=forms.TextInput(attrs={"placeholder": "PRIV-YYYY-NNNN"}))
    confirm_other_requester = forms.BooleanField(
        label=_("Merge even when the requesters differ"), required=False)

    def __init__(self, *args: Any, staff: Any = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        assignee = self.fields["assignee"]
        assert isinstance(assignee, forms.ChoiceField)
        assignee.choices = [("", _("— nobody —")), *((u.username, str(u)) for u in staff)]
        template = self.fields["template"]
        assert isinstance(template, forms.ModelChoiceField)
        template.queryset = ResponseTemplate.objects.filter(is_active=True).order_by("name")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        # The ticked rows' references (checkboxes named "tickets"; any text, looked up among visible tickets).
        refs = self.data.getlist("tickets") if hasattr(self.data, "getlist") else []
        data["tickets"] = list(dict.fromkeys(r.strip().upper()[:32] for r in refs if r.strip()))
        if not data.get("select_all") and not data.get("tickets"):
            self.add_error(None, _("Tick some tickets, or choose all matching this filter."))
        return data

    def params(self) -> dict[str, Any]:
        """The job's parameters for the chosen action (the service checks them)."""
        data = self.cleaned_data
        action = data["action"]
        if action == BulkAction.ASSIGN:
            return {"assignee": data["assignee"] or None}
        if action == BulkAction.REPLY:
            return {"template": data["template"].pk if data["template"] else None}
        if action == BulkAction.EXTEND:
            return {"reason": data["reason"]}
        return {"into": data["into"], "confirm_other_requester": data["confirm_other_requester"]}
