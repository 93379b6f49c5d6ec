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

from helpdesk import case_record, services
from helpdesk.api import selectors
from helpdesk.api.exceptions import api_exception_handler
from helpdesk.api.filters import TicketFilter
from helpdesk.api.intake_serializers import (
    LinkSerializer,
    MergeSerializer,
    ParticipantSerializer,
    RepresentationCheckSerializer,
    TicketCreateSerializer,
)
from helpdesk.api.pagination import DeskPagination
from helpdesk.api.permissions import CanViewTicket, IsDeskStaff, StaffReadManagerWrite
from helpdesk.api.serializers import (
    AssignmentSerializer,
    ErrorSerializer,
    FeeQuoteSerializer,
    MessageSerializer,
    NoteSerializer,
    QuarantineSerializer,
    ReplySerializer,
    RequesterSerializer,
    RequestTypeSerializer,
    SlaPolicySerializer,
    TicketDetailSerializer,
    TicketListSerializer,
    TransitionSerializer,
)
from helpdesk.intake.uploads import validate_uploads
from helpdesk.models import Ticket, User
from workflows import transitions
from workflows.models import SlaPolicy


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

    @extend_schema(summary="Enter a request received by phone, letter, fax or visit (staff)",
                   request={"application/json": TicketCreateSerializer, "multipart/form-data": TicketCreateSerializer},
                   responses={201: TicketDetailSerializer, **READ_ERRORS},
                   description="The legal deadline runs from `received_at` by the legal calendar. Without "
                               "`requester_email` (a `phone` or `postal_address` instead) notices are not mailed: "
                               "they wait as `to_give` until the desk records how they were given.")
    def create(self, request: Request) -> Response:
        data = _valid(TicketCreateSerializer, request)
        files, errors = validate_uploads(list(data["attachments"]))
        if errors:
            raise services.GuardError({"attachments": " ".join(errors)})
        ticket = services.create_ticket(
            message=services.InboundMessage(sender_email=data["requester_email"], sender_name=data["requester_name"],
                                            subject=data["subject"], body_text=data["body_text"], attachments=files),
            channel=data["channel"], request_type=data["request_type"], jurisdiction=data["jurisdiction"],
            requester_name=data["requester_name"], phone=data["phone"], organization=data["organization"],
            language=data["language"], actor=user_of(request), acknowledge=data["acknowledge"],
            received_at=data["received_at"], postal_address=data["postal_address"],
            on_behalf_of=data["on_behalf_of"],
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
        services.transition_ticket(ticket=ticket, name=name, actor=user_of(request), expected_version=version, **data)
        return self._detail(ticket)

    @extend_schema(methods=["GET"], summary="The ticket's messages (notes included)", parameters=[REFERENCE],
                   responses={200: MessageSerializer(many=True), **READ_ERRORS})
    @extend_schema(methods=["POST"], summary="Reply to the requester", parameters=[REFERENCE],
                   request={"application/json": ReplySerializer, "multipart/form-data": ReplySerializer},
                   responses={201: MessageSerializer, **WRITE_ERRORS},
                   description="Mails the reply (after commit, via Celery); `and_respond` also closes the ticket.")
    @action(detail=True, methods=["get", "post"])
    def messages(self, request: Request, reference: str) -> Response:
        ticket = self.get_object()
        if request.method == "GET":
            return Response(MessageSerializer(selectors.ticket_messages(ticket), many=True).data)
        data = _valid(ReplySerializer, request)
        files, errors = validate_uploads(list(data["attachments"]))
        if errors:
            raise services.GuardError({"attachments": " ".join(errors)})
        reply = services.send_reply(ticket=ticket, author=user_of(request), body_text=data["body_text"],
                                    expected_version=data.get("expected_version"), and_respond=data["and_respond"],
                                    attachments=files)
        return Response(MessageSerializer(selectors.ticket_messages(ticket).get(pk=reply.pk)).data,
                        status=status.HTTP_201_CREATED)

    @extend_schema(summary="Record how a representative's authority and the subject's identity were checked",
                   parameters=[REFERENCE], request=RepresentationCheckSerializer,
                   responses={200: TicketDetailSerializer, **WRITE_ERRORS},
                   description="`verify` is refused (400 `guard_failed`, field `representation`) until this is done.")
    @action(detail=True, methods=["post"], url_path="representation-check")
    def representation_check(self, request: Request, reference: str) -> Response:
        ticket = self.get_object()
        data = _valid(RepresentationCheckSerializer, request)
        services.check_representation(ticket=ticket, actor=user_of(request), authority_check=data["authority_check"],
                                      subject_check=data["subject_check"], note=data["check_note"])
        return self._detail(ticket)

    @extend_schema(summary="Add someone who receives the replies (Cc)", parameters=[REFERENCE],
                   request=ParticipantSerializer, responses={201: ParticipantSerializer, **WRITE_ERRORS})
    @action(detail=True, methods=["post"])
    def participants(self, request: Request, reference: str) -> Response:
        ticket = self.get_object()
        data = _valid(ParticipantSerializer, request)
        added = services.add_participant(ticket=ticket, actor=user_of(request), email=data["email"],
                                         name=data.get("name", ""), role=data.get("role") or "other")
        return Response(ParticipantSerializer(added).data, status=status.HTTP_201_CREATED)

    @extend_schema(summary="Stop sending the replies to a participant", parameters=[
        REFERENCE, OpenApiParameter("participant", OpenApiTypes.INT, OpenApiParameter.PATH)],
        request=None, responses={204: None, **WRITE_ERRORS})
    @action(detail=True, methods=["delete"], url_path=r"participants/(?P<participant>[0-9]{1,18})")
    def remove_participant(self, request: Request, reference: str, participant: str) -> Response:
        ticket = self.get_object()
        services.remove_participant(ticket=ticket, actor=user_of(request), participant_id=int(participant))
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(summary="Merge this ticket (a duplicate) into the ticket that stays", parameters=[REFERENCE],
                   request=MergeSerializer, responses={200: TicketDetailSerializer, **WRITE_ERRORS},
                   description="Messages, files and participants move to `into`; this ticket ends `merged` with "
                               "`merged_into` set; `into` keeps the earlier deadline. Answers the ticket that stays. "
                               "400 `guard_failed` with field errors: `into` (itself, unknown, merged or closed), "
                               "`confirm_other_requester` (different requesters, not confirmed).")
    @action(detail=True, methods=["post"])
    def merge(self, request: Request, reference: str) -> Response:
        ticket = self.get_object()
        data = _valid(MergeSerializer, request)
        into = selectors.ticket_by_reference(request.user, data["into"])
        if into is None:
            raise services.GuardError({"into": gettext("No ticket with this reference.")})
        stays = services.merge_ticket(duplicate=ticket, into=into, actor=user_of(request),
                                      confirm_other_requester=data["confirm_other_requester"],
                                      expected_version=data.get("expected_version"))
        return self._detail(stays)

    @extend_schema(summary="Link a related ticket (both ways)", parameters=[REFERENCE], request=LinkSerializer,
                   responses={200: TicketDetailSerializer, **WRITE_ERRORS})
    @action(detail=True, methods=["post"])
    def related(self, request: Request, reference: str) -> Response:
        ticket = self.get_object()
        other = selectors.ticket_by_reference(request.user, _valid(LinkSerializer, request)["other"])
        if other is None:
            raise services.GuardError({"other": gettext("No ticket with this reference.")})
        services.link_tickets(ticket=ticket, other=other, actor=user_of(request))
        return self._detail(ticket)

    @extend_schema(summary="Remove the link to a related ticket", request=None, parameters=[
        REFERENCE, OpenApiParameter("other", OpenApiTypes.STR, OpenApiParameter.PATH, pattern=r"^[A-Za-z0-9-]{1,32}$")],
        responses={200: TicketDetailSerializer, **WRITE_ERRORS})
    @action(detail=True, methods=["delete"], url_path=r"related/(?P<other>[A-Za-z0-9-]{1,32})")
    def unrelate(self, request: Request, reference: str, other: str) -> Response:
        ticket = self.get_object()
        linked = ticket.related.filter(reference=other).first()
        if linked is None:
            raise services.GuardError({"other": gettext("These tickets are not linked.")})
        services.unlink_tickets(ticket=ticket, other=linked, actor=user_of(request))
        return self._detail(ticket)

    @extend_schema(summary="Add an internal note", parameters=[REFERENCE], request=NoteSerializer,
                   responses={201: MessageSerializer, **WRITE_ERRORS})
    @action(detail=True, methods=["post"])
    def notes(self, request: Request, reference: str) -> Response:
        ticket = self.get_object()
        data = _valid(NoteSerializer, request)
        note = services.add_note(ticket=ticket, author=user_of(request), body_text=data["body_text"])
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
        services.assign_ticket(ticket=ticket, assignee=assignee, actor=user_of(request),
                               expected_version=data.get("expected_version"))
        return self._detail(ticket)


    @extend_schema(summary="Quote the fee and postage (mailed to the requester first)", parameters=[REFERENCE],
                   request=FeeQuoteSerializer, responses={201: FeeQuoteSerializer, **WRITE_ERRORS},
                   description="PIPA Art. 38(3), Enforcement Decree Art. 47: the requester is mailed the amounts "
                               "before anything is incurred; with `company_cause` nothing may be charged.")
    @action(detail=True, methods=["post"])
    def fee(self, request: Request, reference: str) -> Response:
        ticket = self.get_object()
        data = _valid(FeeQuoteSerializer, request)
        quote = services.quote_fee(ticket=ticket, actor=user_of(request), fee=data["fee"], postage=data["postage"],
                                   company_cause=data["company_cause"], basis=data["basis"],
                                   expected_version=data.get("expected_version"))
        return Response(FeeQuoteSerializer(quote).data, status=status.HTTP_201_CREATED)


    @extend_schema(summary="The ticket's case record (PDF, for the regulator)", parameters=[REFERENCE],
                   responses={(200, "application/pdf"): OpenApiTypes.BINARY, **READ_ERRORS},
                   description="Request, identity check, notices and mail, transitions, fulfilment, fees, the audit "
                               "chain verified now, the deadline and whether it was met. The export is audited.")
    def record(self, request: Request, reference: str) -> HttpResponse:
        ticket = self.get_object()
        return case_record.record_response(ticket, user_of(request))


def _valid(serializer_class: type[BaseSerializer], request: Request) -> dict[str, Any]:
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


def user_of(request: Request) -> User:
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
        serializer.instance = services.save_sla_policy(actor=user_of(self.request), values=serializer.validated_data)

    def perform_update(self, serializer: BaseSerializer) -> None:
        serializer.instance = services.save_sla_policy(actor=user_of(self.request), values=serializer.validated_data,
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
