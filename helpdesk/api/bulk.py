"""``POST /api/v1/tickets/bulk/`` (contract) and ``GET /api/v1/bulk-jobs/{id}/``: the surge tools (issue 31).

Thin: the selection is resolved here (by hand: references the caller may see; or a filter with the
ticket list's own query parameters), the job is started by :mod:`helpdesk.services.bulk_actions`.
"""

from __future__ import annotations

from typing import Any

from django.http import Http404
from django.urls import reverse
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from helpdesk import selectors as desk_selectors
from helpdesk import services
from helpdesk.api import selectors
from helpdesk.api.filters import TicketFilter
from helpdesk.api.views import READ_ERRORS, WRITE_ERRORS, DeskAPIMixin, user_of
from helpdesk.models import BulkAction, BulkJob
from helpdesk.services import bulk_actions


class BulkRequestSerializer(serializers.Serializer):
    action = serializers.ChoiceField(choices=BulkAction.choices)
    tickets = serializers.ListField(child=serializers.CharField(max_length=32), required=False,
                                    max_length=bulk_actions.MAX_TICKETS,
                                    help_text="References picked by hand (or give `filter`).")
    filter = serializers.DictField(child=serializers.CharField(allow_blank=True), required=False,
                                   help_text="Every ticket matching the ticket list's filters (state, request_type, "
                                             "channel, assignee, overdue, search), e.g. {\"state\": \"received\"}.")
    assignee = serializers.CharField(required=False, allow_null=True, max_length=150,
                                     help_text="assign: the username, or null to unassign.")
    template = serializers.IntegerField(required=False, min_value=1,
                                        help_text="reply: a response template's id; rendered per ticket in the "
                                                  "requester's language.")
    and_respond = serializers.BooleanField(required=False, default=False,
                                           help_text="reply: also mark each ticket responded.")
    reason = serializers.CharField(required=False, max_length=2000,
                                   help_text="extend: the reason the requesters are told.")
    into = serializers.CharField(required=False, max_length=32,
                                 help_text="close_duplicate: the reference of the ticket that stays.")
    confirm_other_requester = serializers.BooleanField(required=False, default=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if ("tickets" in attrs) == ("filter" in attrs):
            raise serializers.ValidationError({"tickets": _("Give either `tickets` or `filter`.")})
        return attrs


class BulkProgressSerializer(serializers.Serializer):
    pending = serializers.IntegerField()
    done = serializers.IntegerField()
    skipped = serializers.IntegerField()
    failed = serializers.IntegerField()
    total = serializers.IntegerField()


class BulkProblemSerializer(serializers.Serializer):
    ticket = serializers.CharField(source="ticket.reference")
    state = serializers.CharField()
    reason = serializers.CharField()


class BulkJobSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    url = serializers.SerializerMethodField()
    action = serializers.CharField()
    status = serializers.CharField(help_text="queued, running or done.")
    params = serializers.JSONField()
    selection = serializers.JSONField()
    created_by = serializers.CharField(source="created_by.username")
    created_at = serializers.DateTimeField()
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)
    progress = serializers.SerializerMethodField()
    problems = serializers.SerializerMethodField()

    @extend_schema_field(OpenApiTypes.STR)
    def get_url(self, job: BulkJob) -> str:
        return reverse("api:bulk-job", kwargs={"pk": job.pk})

    @extend_schema_field(BulkProgressSerializer)
    def get_progress(self, job: BulkJob) -> dict[str, int]:
        return desk_selectors.bulk_progress(job)

    @extend_schema_field(BulkProblemSerializer(many=True))
    def get_problems(self, job: BulkJob) -> list[dict[str, Any]]:
        return list(BulkProblemSerializer(desk_selectors.bulk_job_problems(job), many=True).data)


def job_response(job: BulkJob, code: int = status.HTTP_200_OK) -> Response:
    body = BulkJobSerializer(job).data
    return Response(body, status=code, headers={"Location": body["url"]})


class BulkView(DeskAPIMixin):
    @extend_schema(
        summary="One action over many tickets, as a background job",
        request=BulkRequestSerializer,
        responses={202: BulkJobSerializer, **WRITE_ERRORS},
        description=(
            "Starts a job and answers 202 with it (`url`, also in `Location`: poll it for `progress`). Actions: "
            "`assign` (`assignee`), `reply` (`template`), `extend` (`reason`; the statutory extension notice), "
            "`close_duplicate` (`into`). Each ticket is acted on exactly once, with the single action's own "
            "permission check, guards and audit event; a ticket whose state forbids it is skipped with the "
            "reason (`problems`). Auditors may not; administrators may take tickets for themselves but only "
            "managers reassign. Unknown references or references of tickets you cannot see are a 400."),
    )
    def post(self, request: Request) -> Response:
        serializer = BulkRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        user = user_of(request)
        visible = selectors.api_tickets(user)
        if "filter" in data:
            found = TicketFilter(data=data["filter"], queryset=visible, request=request)
            if not found.is_valid():
                raise services.GuardError({f"filter.{k}": " ".join(v) for k, v in found.errors.items()})
            ids = list(found.qs.values_list("pk", flat=True)[:bulk_actions.MAX_TICKETS + 1])
            selection: dict[str, Any] = {"filter": data["filter"]}
        else:
            refs = [r.strip().upper() for r in data["tickets"]]
            by_ref = dict(visible.filter(reference__in=refs).values_list("reference", "pk"))
            unknown = [r for r in refs if r not in by_ref]
            if unknown:
                raise services.GuardError({"tickets": _("No ticket you can see has these references: %(refs)s") % {
                    "refs": ", ".join(unknown[:20])}})
            ids = [by_ref[r] for r in refs]
            selection = {"tickets": len(refs)}
        params = {k: data[k] for k in ("assignee", "template", "and_respond", "reason", "into",
                                       "confirm_other_requester") if k in data}
        job = bulk_actions.start_bulk_job(actor=user, action=data["action"], ticket_ids=ids, params=params,
                                          selection=selection, language=get_language())
        job.refresh_from_db()
        return job_response(job, status.HTTP_202_ACCEPTED)


class BulkJobView(DeskAPIMixin):
    @extend_schema(summary="A bulk job's progress and, when done, its summary",
                   responses={200: BulkJobSerializer, **READ_ERRORS},
                   description="Its creator, managers and auditors may read it. `problems`: the tickets skipped "
                               "or failed, with the reason (at most 500).")
    def get(self, request: Request, pk: int) -> Response:
        job = desk_selectors.bulk_job_for(request.user, pk)
        if job is None:
            raise Http404
        return job_response(job)

