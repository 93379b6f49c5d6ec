"""Mail to requesters and guardians that is not part of the conversation: links and reminders.

These mails carry secret links, so they are not stored as ticket messages (staff and the API see
messages); the audit trail records that a link was issued, the ``RequesterToken`` row its use.
"""

from __future__ import annotations

import logging
from typing import Any

from celery import shared_task
from django.conf import settings
from django.core.mail import EmailMessage
from django.urls import reverse
from django.utils import timezone, translation

from helpdesk.base_url import desk_base_url
from helpdesk.models import RequesterToken, Ticket, WebRequestDetails
from helpdesk.public import services as requester_services
from helpdesk.public import tokens
from notifications.mail import new_message_id, render_bilingual
from notifications.models import SentNotification, StaffMailStatus
from workflows.states import TicketState

logger = logging.getLogger(__name__)

SUBJECTS = {
    "verification": "이메일 주소 확인 / Confirm your e-mail address",
    "verification_reminder": "이메일 주소 확인을 기다리고 있습니다 / Reminder: confirm your e-mail address",
    "guardian_confirmation": "법정대리인 동의 요청 / A guardian's consent is requested",
    "status_links": "개인정보 요청 확인 링크 / Links to your privacy requests",
}
URL_NAMES = {
    tokens.VERIFY: "public:confirm_email",
    tokens.GUARDIAN: "public:confirm_guardian",
    tokens.STATUS: "public:status",
}


def link(purpose: str, token: str, language: str) -> str:
    """Absolute link in the requester's language (Korean has no prefix, English /en/)."""
    with translation.override(language):
        return desk_base_url() + reverse(URL_NAMES[purpose], kwargs={"token": token})


def _ticket_context(ticket: Ticket, language: str) -> dict[str, Any]:
    return {
        "ticket": ticket,
        "requester": ticket.requester,
        "requester_name": ticket.name_for_mail(),
        "due_at": timezone.localtime(ticket.due_at),
        "status_url": link(tokens.STATUS, tokens.status_token(ticket), language),
        "desk_email": settings.DESK_EMAIL,
        "link_days": settings.DESK_CONFIRM_LINK_MAX_AGE_DAYS,
    }


def _fresh_confirm_link(ticket: Ticket, language: str) -> str:
    """A new one-time confirmation link when the address of a waiting web request is unconfirmed."""
    details = WebRequestDetails.objects.filter(ticket=ticket).first()
    if details is None or details.email_verified_at is not None or ticket.state != TicketState.RECEIVED:
        return ""
    _row, token = tokens.issue_single_use(ticket, tokens.VERIFY, ticket.requester.email or "")
    return link(tokens.VERIFY, token, language)


def build_mail(template: str, *, token_pk: int | None = None, email: str = "") -> EmailMessage | None:
    """The mail for one send, or None when there is nothing to send (link used, no tickets)."""
    headers = {"Message-ID": f"<{new_message_id()}>", "Auto-Submitted": "auto-generated"}
    if template == "status_links":
        found = requester_services.tickets_for_links(email)
        if not found:
            return None
        language = found[0].requester.language
        context: dict[str, Any] = {
            "requester": found[0].requester,
            "requester_name": found[0].name_for_mail(),
            "items": [
                {"ticket": t, "status_url": link(tokens.STATUS, tokens.status_token(t), language),
                 "confirm_url": _fresh_confirm_link(t, language)} for t in found
            ],
            "desk_email": settings.DESK_EMAIL,
        }
        body = render_bilingual("status_links", context, language)
        return EmailMessage(subject=SUBJECTS[template], body=body, from_email=settings.DEFAULT_FROM_EMAIL,
                            to=[email], headers=headers)
    row = (RequesterToken.objects.select_related("ticket__requester").filter(pk=token_pk).first()
           if token_pk is not None else None)
    if row is None or row.used_at is not None:
        return None
    ticket = row.ticket
    language = ticket.requester.language
    context = _ticket_context(ticket, language)
    context["confirm_url"] = link(row.purpose, tokens.token_for_row(row), language)
    if template == "guardian_confirmation":
        details = ticket.web_details
        context.update(guardian_name=details.guardian_name, guardian_email=details.guardian_email)
        del context["status_url"]  # the guardian confirms; the child's status page stays the child's
    headers["X-Privacy-Desk-Ticket"] = ticket.reference
    body = render_bilingual(template, context, language)
    return EmailMessage(subject=f"[{ticket.reference}] {SUBJECTS[template]}", body=body,
                        from_email=settings.DEFAULT_FROM_EMAIL, to=[row.recipient], headers=headers)


@shared_task(bind=True, max_retries=6, default_retry_delay=60, acks_late=True)
def send_requester_mail(self: Any, template: str, *, token_pk: int | None = None, email: str = "",
                        notification_pk: int | None = None) -> str:
    """Send one link mail. SMTP trouble: retried by a worker; in-process (no broker) it is logged,
    and the requester can get a fresh link from the "lost your link?" page."""
    mail = build_mail(template, token_pk=token_pk, email=email)
    if mail is None:
        return "skipped"
    try:
        mail.send(fail_silently=False)
    except Exception as exc:
        logger.warning("requester mail %s failed: %s", template, exc)
        if self.request.called_directly or self.request.is_eager:
            if notification_pk:
                SentNotification.objects.filter(pk=notification_pk).update(delivery_status=StaffMailStatus.FAILED)
            return "failed"
        raise self.retry(exc=exc, countdown=min(3600, 60 * 2**self.request.retries)) from exc
    if notification_pk:
        SentNotification.objects.filter(pk=notification_pk).update(sent_at=timezone.now())
    return "sent"


@shared_task
def send_verification_reminders() -> int:
    """Beat task (hourly): remind requesters whose confirmation link is unused after 2 days."""
    return requester_services.send_verification_reminders()
