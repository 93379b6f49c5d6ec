"""The API's tasks to departments, processors and providers (issue 26, point 6).

``POST /api/v1/tickets/{reference}/tasks/`` sends one; ``…/tasks/{id}/close/`` and ``…/tasks/{id}/cancel/``
end it; the ticket's detail lists ``tasks`` with their state. The actions are a mixin of
``views.TicketViewSet`` (same authentication, permissions and error shape).
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from helpdesk import services
from helpdesk.models import Contact, ContactKind, Task, TaskState, User


class TaskSerializer(serializers.ModelSerializer):
    """A task mailed to a contact about this ticket, and where it stands."""

    token = serializers.CharField(read_only=True, help_text="What the mail's subject carries, e.g. PRIV-2026-0001-T1.")
    contact = serializers.SerializerMethodField()
    contact_kind = serializers.ChoiceField(source="contact.kind", choices=ContactKind.choices, read_only=True)
    state = serializers.ChoiceField(choices=TaskState.choices, read_only=True)
    answered_at = serializers.DateTimeField(source="answer.sent_at", read_only=True, allow_null=True)

    class Meta:
        model = Task
        fields = ["id", "number", "token", "contact", "contact_kind", "contact_email", "source", "instructions",
                  "due_at", "state", "created_at", "answered_at", "closed_at", "close_note"]
        read_only_fields = fields

    def get_contact(self, obj: Task) -> str:
        return str(obj.contact)


class TaskCreateSerializer(serializers.Serializer):
    contact = serializers.PrimaryKeyRelatedField(queryset=Contact.objects.filter(is_active=True),
                                                 help_text="The id of an active contact (kept in the admin).")
    instructions = serializers.CharField(max_length=5000, help_text="What the contact should do.")
    due_date = serializers.DateField(help_text="When the answer is due (desk time zone); at the latest the "
                                               "ticket's legal deadline, or 400 with a `due_date` field error.")
    data_source = serializers.CharField(max_length=63, required=False, allow_blank=True, default="",
                                        help_text="The data source it is about (optional).")
    expected_version = serializers.IntegerField(required=False, allow_null=True, min_value=1)


class TaskCloseSerializer(serializers.Serializer):
    note = serializers.CharField(max_length=500, required=False, allow_blank=True, default="",
                                 help_text="How it was answered; required to cancel (why).")


_REFERENCE = OpenApiParameter("reference", OpenApiTypes.STR, OpenApiParameter.PATH, pattern=r"^[A-Za-z0-9-]{1,32}$",
                              description="Ticket reference, e.g. PRIV-2026-0001.")
_TASK = OpenApiParameter("task", OpenApiTypes.INT, OpenApiParameter.PATH, description="The task's id.")
_ERRORS = {code: OpenApiResponse(description=text) for code, text in (
    (400, "Invalid input (`error.fields`), e.g. a due date after the ticket's deadline."),
    (401, "No or invalid credentials."), (403, "Not your ticket."), (404, "No such ticket."),
    (409, "Conflict: the ticket changed since `expected_version`."))}


def _user(request: Request) -> User:
    assert isinstance(request.user, User)
    return request.user


def _valid(serializer_class: type[serializers.Serializer], request: Request) -> dict[str, Any]:
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


class TaskActions:
    """``TicketViewSet``'s task operations."""

    get_object: Any

    @extend_schema(summary="Send a task to a department, processor or provider", parameters=[_REFERENCE],
                   request=TaskCreateSerializer, responses={201: TaskSerializer, **_ERRORS},
                   description="Mails the contact what to do and by when (Korean and English), with the task's "
                               "token in the subject; their reply threads onto the ticket as the answer and closes "
                               "the task. `process` is refused (400, field `tasks`) while a task is open.")
    @action(detail=True, methods=["post"])
    def tasks(self, request: Request, reference: str) -> Response:
        ticket = self.get_object()
        data = _valid(TaskCreateSerializer, request)
        task = services.send_task(ticket=ticket, actor=_user(request), contact=data["contact"],
                                  instructions=data["instructions"], due_date=data["due_date"],
                                  source=data["data_source"], expected_version=data.get("expected_version"))
        return Response(TaskSerializer(task).data, status=status.HTTP_201_CREATED)

    def _end(self, request: Request, task: str, cancel: bool) -> Response:
        ticket = self.get_object()
        data = _valid(TaskCloseSerializer, request)
        closed = services.close_task(ticket=ticket, actor=_user(request), task_id=int(task), note=data["note"],
                                     cancel=cancel)
        return Response(TaskSerializer(closed).data)

    @extend_schema(summary="Close a task (answered another way)", parameters=[_REFERENCE, _TASK],
                   request=TaskCloseSerializer, responses={200: TaskSerializer, **_ERRORS})
    @action(detail=True, methods=["post"], url_path=r"tasks/(?P<task>[0-9]{1,18})/close")
    def close_task(self, request: Request, reference: str, task: str) -> Response:
        return self._end(request, task, cancel=False)

    @extend_schema(summary="Cancel a task (not needed any more; say why)", parameters=[_REFERENCE, _TASK],
                   request=TaskCloseSerializer, responses={200: TaskSerializer, **_ERRORS})
    @action(detail=True, methods=["post"], url_path=r"tasks/(?P<task>[0-9]{1,18})/cancel")
    def cancel_task(self, request: Request, reference: str, task: str) -> Response:
        return self._end(request, task, cancel=True)
