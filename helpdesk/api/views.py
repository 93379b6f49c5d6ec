"""REST API views (``/api/v1/``). Thin: reads via selectors, writes via :mod:`helpdesk.services`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db.models import QuerySet
from django.http import HttpResponse
from django.utils.translation import gettext
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.authentication import BaseAuthentication, SessionAuthentication, TokenAuthentication
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import BaseSerializer
from rest_framework.views import APIView

from helpdesk import metrics, services
from helpdesk.api import selectors
from helpdesk.api.exceptions import api_exception_handler
from helpdesk.api.filters import TicketFilter
from helpdesk.api.pagination import DeskPagination
from helpdesk.api.permissions import CanReadFigures, CanViewTicket, IsDeskStaff, StaffReadManagerWrite
from helpdesk.api.serializers import (
    AssignmentSerializer,
    ErrorSerializer,
    MessageSerializer,
    NoteSerializer,
    QuarantineSerializer,
    ReplySerializer,
    RequesterSerializer,
    RequestTypeSerializer,
    ResponseTimesSerializer,
    SlaPolicySerializer,
    TicketCreateSerializer,
    TicketDetailSerializer,
    TicketListSerializer,
    TransitionSerializer,
)
from helpdesk.metrics import exports
from helpdesk.metrics.query import MetricsQuerySerializer
from helpdesk.models import Channel, Ticket, User
from workflows import transitions
from workflows.models import SlaPolicy
from workflows.roles import is_manager


def _err(description: str) -> OpenApiResponse:
    return OpenApiResponse(ErrorSerializer, description=description)


E400 = _err("Invalid input: `error.fields` maps each field to its problems.")
E401 = _err("No or invalid credentials (session or `Authorization: Token …`).")
E403 = _err("Signed in but not allowed (not desk staff, not a manager, or not your ticket).")
E404 = _err("No such object (or page).")
E409 = _err("Conflict: the ticket changed since `expected_version`, or the transition is not allowed "
            "from its current state.")
READ_ERRORS = {400: E400, 401: E401, 403: E403, 404: E404}
WRITE_ERRORS = {**READ_ERRORS, 409: E409}
REFERENCE = OpenApiParameter("reference", OpenApiTypes.STR, OpenApiParameter.PATH,
                             description="Ticket reference, e.g. PRIV-2026-0001.", pattern=r"^[A-Za-z0-9-]{1,32}$")


class DeskAPIMixin(APIView):
    """Token first, so an anonymous call gets 401 with ``WWW-Authenticate``; our error shape."""

    authentication_classes: Sequence[type[BaseAuthentication]] = [TokenAuthentication, SessionAuthentication]
    permission_classes: Sequence[Any] = [IsDeskStaff]

    def get_exception_handler(self) -> Any:
        return api_exception_handler


# --- Tickets -----------------------------------------------------------------------------------
@extend_schema_view(
    list=extend_schema(summary="List tickets", responses={200: TicketListSerializer(many=True), **READ_ERRORS},
                       description="Managers see every ticket; administrators their own and unassigned ones."),
    retrieve=extend_schema(summary="One ticket with its conversation", parameters=[REFERENCE],
                           responses={200: TicketDetailSerializer, **READ_ERRORS}),
)
class TicketViewSet(DeskAPIMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    lookup_field = "reference"
    lookup_value_regex = r"[A-Za-z0-9-]{1,32}"
    pagination_class = DeskPagination
    filter_backends = [DjangoFilterBackend]
    filterset_class = TicketFilter
    permission_classes = [IsDeskStaff, CanViewTicket]

    def get_queryset(self) -> QuerySet[Ticket]:
        if self.action == "list":
            return selectors.api_tickets(self.request.user)
        if self.action == "retrieve":
            return selectors.api_ticket_detail_queryset()
        return Ticket.objects.select_related("requester", "assignee")

    def filter_queryset(self, queryset: QuerySet[Any]) -> QuerySet[Any]:
        return super().filter_queryset(queryset) if self.action == "list" else queryset

    def get_serializer_class(self) -> type[BaseSerializer]:
        return TicketListSerializer if self.action == "list" else TicketDetailSerializer

    def _detail(self, ticket: Ticket, code: int = status.HTTP_200_OK) -> Response:
        fresh = selectors.api_ticket_detail_queryset().get(pk=ticket.pk)
        return Response(TicketDetailSerializer(fresh, context=self.get_serializer_context()).data, status=code)

    @extend_schema(summary="Enter a ticket (staff)", request=TicketCreateSerializer,
                   responses={201: TicketDetailSerializer, **READ_ERRORS},
                   description="For requests received by phone, letter or in person: channel `staff`.")
    def create(self, request: Request) -> Response:
        data = _valid(TicketCreateSerializer, request)
        ticket = services.create_ticket(
            message=services.InboundMessage(sender_email=data["requester_email"], sender_name=data["requester_name"],
                                            subject=data["subject"], body_text=data["body_text"]),
            channel=Channel.STAFF, request_type=data["request_type"], jurisdiction=data["jurisdiction"],
            requester_name=data["requester_name"], phone=data["phone"], organization=data["organization"],
            language=data["language"], actor=_user(request), acknowledge=data["acknowledge"],
        )
        return self._detail(ticket, status.HTTP_201_CREATED)

    @extend_schema(
        summary="Run a transition",
        parameters=[REFERENCE, OpenApiParameter("name", OpenApiTypes.STR, OpenApiParameter.PATH,
                                                enum=list(services.TRANSITIONS))],
        request=TransitionSerializer,
        responses={200: TicketDetailSerializer, **WRITE_ERRORS},
        description=(
            f"Fields each transition needs (400 `guard_failed` with field errors otherwise): {transitions.describe()}. "
            "409 `transition_not_allowed` when the transition cannot run from the current state; 409 `conflict` on "
            "a stale `expected_version`."
        ),
    )
    @action(detail=True, methods=["post"], url_path=r"transitions/(?P<name>[a-z_]{1,32})")
    def transition(self, request: Request, reference: str, name: str) -> Response:
        ticket = self.get_object()
        data = _valid(TransitionSerializer, request)
        version = data.pop("expected_version", None)
        services.transition_ticket(ticket=ticket, name=name, actor=_user(request), expected_version=version, **data)
        return self._detail(ticket)

    @extend_schema(methods=["GET"], summary="The ticket's messages (notes included)", parameters=[REFERENCE],
                   responses={200: MessageSerializer(many=True), **READ_ERRORS})
    @extend_schema(methods=["POST"], summary="Reply to the requester", parameters=[REFERENCE], request=ReplySerializer,
                   responses={201: MessageSerializer, **WRITE_ERRORS},
                   description="Mails the reply (after commit, via Celery); `and_respond` also closes the ticket.")
    @action(detail=True, methods=["get", "post"])
    def messages(self, request: Request, reference: str) -> Response:
        ticket = self.get_object()
        if request.method == "GET":
            return Response(MessageSerializer(selectors.ticket_messages(ticket), many=True).data)
        data = _valid(ReplySerializer, request)
        reply = services.send_reply(ticket=ticket, author=_user(request), body_text=data["body_text"],
                                    expected_version=data.get("expected_version"), and_respond=data["and_respond"])
        return Response(MessageSerializer(selectors.ticket_messages(ticket).get(pk=reply.pk)).data,
                        status=status.HTTP_201_CREATED)

    @extend_schema(summary="Add an internal note", parameters=[REFERENCE], request=NoteSerializer,
                   responses={201: MessageSerializer, **WRITE_ERRORS})
    @action(detail=True, methods=["post"])
    def notes(self, request: Request, reference: str) -> Response:
        ticket = self.get_object()
        data = _valid(NoteSerializer, request)
        note = services.add_note(ticket=ticket, author=_user(request), body_text=data["body_text"])
        return Response(MessageSerializer(selectors.ticket_messages(ticket).get(pk=note.pk)).data,
                        status=status.HTTP_201_CREATED)

    @extend_schema(summary="Assign, take or unassign", parameters=[REFERENCE], request=AssignmentSerializer,
                   responses={200: TicketDetailSerializer, **WRITE_ERRORS},
                   description="Administrators may take an unassigned ticket for themselves; managers assign anyone.")
    @action(detail=True, methods=["post"])
    def assignment(self, request: Request, reference: str) -> Response:
        ticket = self.get_object()
        data = _valid(AssignmentSerializer, request)
        assignee = None
        if data["assignee"] is not None:
            assignee = User.objects.filter(username=data["assignee"], is_active=True).first()
            if assignee is None:
                raise services.GuardError({"assignee": gettext("No active staff member has this username.")})
        services.assign_ticket(ticket=ticket, assignee=assignee, actor=_user(request),
                               expected_version=data.get("expected_version"))
        return self._detail(ticket)


def _valid(serializer_class: type[BaseSerializer], request: Request) -> dict[str, Any]:
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


def _user(request: Request) -> User:
    assert isinstance(request.user, User)
    return request.user


# --- Reference data ----------------------------------------------------------------------------
@extend_schema_view(
    list=extend_schema(summary="Requesters", responses={200: RequesterSerializer(many=True), **READ_ERRORS}),
    retrieve=extend_schema(summary="One requester", responses={200: RequesterSerializer, **READ_ERRORS}),
)
class RequesterViewSet(DeskAPIMixin, viewsets.ReadOnlyModelViewSet):
    serializer_class = RequesterSerializer
    pagination_class = DeskPagination
    lookup_value_regex = r"[0-9]{1,18}"

    def get_queryset(self) -> QuerySet[Any]:
        return selectors.api_requesters(self.request.user)


class RequestTypeView(DeskAPIMixin, APIView):
    @extend_schema(summary="Request types", responses={200: RequestTypeSerializer(many=True), **READ_ERRORS})
    def get(self, request: Request) -> Response:
        return Response(RequestTypeSerializer(RequestTypeSerializer.rows(), many=True).data)


@extend_schema_view(
    list=extend_schema(summary="SLA policies", responses={200: SlaPolicySerializer(many=True), **READ_ERRORS}),
    retrieve=extend_schema(summary="One SLA policy", responses={200: SlaPolicySerializer, **READ_ERRORS}),
    create=extend_schema(summary="Add an SLA policy (managers)", responses={201: SlaPolicySerializer, **READ_ERRORS}),
    update=extend_schema(summary="Change an SLA policy (managers)",
                         responses={200: SlaPolicySerializer, **READ_ERRORS}),
    partial_update=extend_schema(summary="Change an SLA policy (managers)",
                                 responses={200: SlaPolicySerializer, **READ_ERRORS}),
)
class SlaPolicyViewSet(DeskAPIMixin, mixins.CreateModelMixin, mixins.UpdateModelMixin, viewsets.ReadOnlyModelViewSet):
    """Deadlines per request type and jurisdiction. No delete: the fallback would silently apply."""

    serializer_class = SlaPolicySerializer
    permission_classes = [StaffReadManagerWrite]
    queryset = SlaPolicy.objects.order_by("jurisdiction", "request_type")
    lookup_value_regex = r"[0-9]{1,18}"

    def perform_create(self, serializer: BaseSerializer) -> None:
        serializer.instance = services.save_sla_policy(actor=_user(self.request), values=serializer.validated_data)

    def perform_update(self, serializer: BaseSerializer) -> None:
        serializer.instance = services.save_sla_policy(actor=_user(self.request), values=serializer.validated_data,
                                                       policy=serializer.instance)


@extend_schema_view(
    list=extend_schema(summary="Quarantined mail", responses={200: QuarantineSerializer(many=True), **READ_ERRORS}),
    retrieve=extend_schema(summary="One quarantined message", responses={200: QuarantineSerializer, **READ_ERRORS}),
)
class QuarantineViewSet(DeskAPIMixin, viewsets.ReadOnlyModelViewSet):
    serializer_class = QuarantineSerializer
    pagination_class = DeskPagination
    lookup_value_regex = r"[0-9]{1,18}"

    def get_queryset(self) -> QuerySet[Any]:
        return selectors.api_quarantine()


# --- Figures and exports -----------------------------------------------------------------------
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
