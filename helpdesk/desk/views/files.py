"""Downloads: permission-checked, logged in the ticket's audit chain, never a public URL."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, HttpRequest
from django.shortcuts import get_object_or_404
from django.views.decorators.http import require_GET

from helpdesk import services
from helpdesk.desk.views.common import signed_in_user, staff_required
from helpdesk.models import Attachment, Message
from workflows.roles import can_view_ticket


def private_file(file_field: Any, filename: str, content_type: str) -> FileResponse:
    try:
        handle = file_field.open("rb")
    except (OSError, ValueError) as exc:
        raise Http404 from exc
    response = FileResponse(handle, as_attachment=True, filename=filename, content_type=content_type)
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response


@require_GET
@staff_required
def attachment_download(request: HttpRequest, pk: int) -> FileResponse:
    attachment = get_object_or_404(Attachment.objects.select_related("message__ticket"), pk=pk)
    ticket = attachment.message.ticket
    if not can_view_ticket(request.user, ticket):
        raise PermissionDenied
    services.record_ticket_access(ticket=ticket, actor=signed_in_user(request), action="attachment.downloaded",
                                  data={"attachment": attachment.pk, "filename": attachment.filename})
    # Always as an opaque download: the browser must never render requester-supplied content.
    return private_file(attachment.file, attachment.filename, "application/octet-stream")


@require_GET
@staff_required
def raw_message_download(request: HttpRequest, pk: int) -> FileResponse:
    message = get_object_or_404(Message.objects.select_related("ticket"), pk=pk)
    if not can_view_ticket(request.user, message.ticket) or not message.raw_message:
        raise PermissionDenied if message.raw_message else Http404
    services.record_ticket_access(ticket=message.ticket, actor=signed_in_user(request),
                                  action="message.raw_downloaded", data={"message": message.pk})
    return private_file(message.raw_message, f"{message.ticket.reference}-{message.pk}.eml", "message/rfc822")
