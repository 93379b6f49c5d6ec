"""Figures and exports of the API: response times, ticket and figure exports, case records of a period."""

from __future__ import annotations

from typing import Any

from django.http import HttpResponse
from django.utils.translation import gettext
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from helpdesk import case_record, metrics, services
from helpdesk.api.permissions import CanReadFigures, IsManager
from helpdesk.api.serializers import ResponseTimesSerializer
from helpdesk.api.views import READ_ERRORS, DeskAPIMixin, user_of
from helpdesk.metrics import exports
from helpdesk.metrics.query import MetricsQuerySerializer
from helpdesk.models import Ticket
from workflows.roles import is_manager


class ResponseTimesView(DeskAPIMixin, APIView):
    permission_classes = [CanReadFigures]

    @extend_schema(summary="Response-time figures (managers)", parameters=[MetricsQuerySerializer],
                   responses={200: ResponseTimesSerializer, **READ_ERRORS},
                   description="Counts, time to first response and to resolution (median, p90, mean, seconds), "
                               "SLA compliance and breaches, backlog by age, weekly trend and per-administrator "
                               "load, for tickets received in the period. See docs/api.md for the definitions.")
    def get(self, request: Request) -> Response:
        query = MetricsQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        return Response(metrics.response_times(query.to_filter()))


EXPORT_PARAMS = [
    OpenApiParameter("file_format", OpenApiTypes.STR, enum=["csv", "xlsx"], description="Default csv."),
]
EXPORT_RESPONSES: dict[Any, Any] = {
    (200, "text/csv"): OpenApiResponse(OpenApiTypes.STR, description="CSV (UTF-8 with BOM, for Excel)."),
    (200, exports.XLSX): OpenApiResponse(OpenApiTypes.BINARY, description="Excel workbook."),
    **READ_ERRORS,
}


class TicketExportView(DeskAPIMixin, APIView):
    @extend_schema(
        summary="Export tickets (CSV/XLSX)",
        parameters=[MetricsQuerySerializer, *EXPORT_PARAMS,
                    OpenApiParameter("include_emails", OpenApiTypes.BOOL,
                                     description="Managers only: add requester e-mail addresses.")],
        responses=EXPORT_RESPONSES,
        description="Tickets received in the period that you may see (administrators: their own). No message "
                    "bodies and, by default, no requester addresses (data minimisation).",
    )
    def get(self, request: Request) -> HttpResponse:
        query = MetricsQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        options = exports.ExportOptions.from_params(request.query_params, manager=is_manager(request.user))
        return exports.tickets_response(user=request.user, metrics_filter=query.to_filter(), options=options)


class FiguresExportView(DeskAPIMixin, APIView):
    permission_classes = [CanReadFigures]

    @extend_schema(summary="Export the figures (CSV/XLSX, managers)", parameters=[MetricsQuerySerializer,
                                                                                   *EXPORT_PARAMS],
                   responses=EXPORT_RESPONSES)
    def get(self, request: Request) -> HttpResponse:
        query = MetricsQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        options = exports.ExportOptions.from_params(request.query_params, manager=True)
        return exports.figures_response(metrics_filter=query.to_filter(), options=options)


class RecordsExportView(DeskAPIMixin, APIView):
    permission_classes = [IsManager]

    @extend_schema(summary="Case records of a period (ZIP of PDFs, managers)", parameters=[MetricsQuerySerializer],
                   responses={(200, "application/zip"): OpenApiTypes.BINARY, **READ_ERRORS},
                   description="One case record per ticket received in the period (see `record.pdf`).")
    def get(self, request: Request) -> HttpResponse:
        query = MetricsQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        metrics_filter = query.to_filter()
        tickets = list(metrics.cohort(metrics_filter, Ticket.objects.select_related("requester"))
                       .order_by("received_at", "pk")[:RECORDS_PER_EXPORT + 1])
        if len(tickets) > RECORDS_PER_EXPORT:
            raise services.GuardError({"from": gettext("More than %(n)s tickets in the period: export a shorter one.")
                                       % {"n": RECORDS_PER_EXPORT}})
        for ticket in tickets:
            services.record_ticket_access(ticket=ticket, actor=user_of(request), action="record.exported")
        response = HttpResponse(case_record.records_zip(tickets), content_type="application/zip")
        period = f"{metrics_filter.date_from:%Y%m%d}-{metrics_filter.date_to:%Y%m%d}"
        response["Content-Disposition"] = f'attachment; filename="case-records-{period}.zip"'
        response["Cache-Control"] = "private, no-store"
        return response


RECORDS_PER_EXPORT = 500  # ~1 s a record: a longer period is several exports
