"""The surge tools on the desk (issue 31): start a bulk action from a queue, follow its progress.

Thin: the selection is resolved with the queue's own read (:func:`helpdesk.selectors.queue_tickets`,
so "all matching this filter" is exactly what the list shows, whatever page), the job is started by
:mod:`helpdesk.services.bulk_actions` and runs in the background.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from helpdesk import selectors, services
from helpdesk.desk import forms as desk_forms
from helpdesk.desk.bulk_forms import BulkActionForm
from helpdesk.desk.views.common import add_field_errors, signed_in_user, staff_required
from helpdesk.models import BulkItemState, BulkJobStatus
from helpdesk.services import bulk_actions
from workflows.roles import is_desk_staff

FILTER_FIELDS = ("search", "request_type", "state", "assignee", "channel", "sort")


def _selected_ids(request: HttpRequest, form: BulkActionForm) -> tuple[list[int], dict[str, Any]]:
    user = signed_in_user(request)
    if form.cleaned_data["select_all"]:
        slug = form.cleaned_data["queue"] or selectors.default_queue(user)
        if slug not in selectors.QUEUE_SLUGS:
            raise Http404
        raw = {name: request.POST.get(f"filter_{name}", "") for name in FILTER_FIELDS}
        filter_form = desk_forms.QueueFilterForm(raw, staff=list(selectors.desk_staff()))
        filters = selectors.QueueFilters()
        if filter_form.is_valid():
            filters = selectors.QueueFilters(**{k: v or "" for k, v in filter_form.cleaned_data.items()})
        tickets = selectors.queue_tickets(user, slug, filters)
        ids = list(tickets.values_list("pk", flat=True)[:bulk_actions.MAX_TICKETS + 1])
        return ids, {"queue": slug, "filter": {k: v for k, v in raw.items() if v and k != "sort"}}
    refs = form.cleaned_data["tickets"]
    found = dict(selectors.visible_tickets(user).filter(reference__in=refs).values_list("reference", "pk"))
    return [found[r] for r in refs if r in found], {"tickets": len(refs)}


@require_POST
@staff_required
def bulk_start(request: HttpRequest) -> HttpResponse:
    user = signed_in_user(request)
    if not is_desk_staff(user):
        raise PermissionDenied
    form = BulkActionForm(request.POST, staff=list(selectors.desk_staff()))
    if form.is_valid():
        ids, selection = _selected_ids(request, form)
        try:
            job = bulk_actions.start_bulk_job(actor=user, action=form.cleaned_data["action"], ticket_ids=ids,
                                              params=form.params(), selection=selection, language=get_language())
        except services.PermissionDeniedError as exc:
            raise PermissionDenied(str(exc)) from exc
        except services.ServiceError as exc:
            add_field_errors(form, exc.errors if isinstance(exc, services.GuardError) else {"__all__": str(exc)})
        else:
            messages.success(request, _("The bulk action runs in the background; its progress is below."))
            return redirect("desk:bulk_job", pk=job.pk)
    return render(request, "desk/bulk_invalid.html", {"form": form, "nav": "queues"}, status=400)


@require_GET
@staff_required
def bulk_job(request: HttpRequest, pk: int) -> HttpResponse:
    job = selectors.bulk_job_for(signed_in_user(request), pk)
    if job is None:
        raise Http404
    progress = selectors.bulk_progress(job)
    finished = job.status == BulkJobStatus.DONE
    handled = progress["total"] - progress[BulkItemState.PENDING]
    return render(request, "desk/bulk_job.html", {
        "job": job, "progress": progress, "finished": finished, "handled": handled,
        "percent": int(100 * handled / progress["total"]) if progress["total"] else 100,
        "problems": selectors.bulk_job_problems(job), "nav": "queues",
    })
