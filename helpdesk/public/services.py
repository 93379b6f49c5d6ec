"""The requester's side of the desk: Contact Us, confirmation links, the status page.

Everything that touches a ticket goes through :mod:`helpdesk.services` (``create_ticket`` with
``channel="web"``, ``add_inbound_message``, ``transition_ticket(..., as_requester=True)``), so a web
submission gets the same ticket, audit trail, acknowledgement and assignment as an e-mail.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from helpdesk import oneline, services, tasking
from helpdesk.intake.email.decoding import strip_controls
from helpdesk.models import Channel, RequesterToken, Ticket, WebRequestDetails
from helpdesk.public import tokens
from helpdesk.trust import audit
from notifications.models import SentNotification, StaffMailStatus
from workflows.request_types import EMAIL_PROOF_SUFFICES, RequestType
from workflows.states import TicketState, VerificationMethod

logger = logging.getLogger(__name__)

# Bumped whenever the consent wording on the form changes; stored with each consent.
CONSENT_TEXT_VERSION = "2026-1"
VERIFICATION_REMINDER = "verification_reminder"


@dataclass(frozen=True)
class ContactRequest:
    """What the Contact Us form collected, already validated."""

    request_type: str
    name: str
    email: str
    description: str
    language: str
    phone: str = ""
    organization: str = ""
    is_minor: bool = False
    guardian_name: str = ""
    guardian_email: str = ""
    on_behalf_of: services.OnBehalfOf | None = None  # "I am requesting for someone else"


def _subject(request: ContactRequest) -> str:
    """The ticket's subject from the description's first line, without control, zero-width or bidi
    characters: a subject is printed into mail headers, exports and lists (issue 25.8)."""
    lines = (oneline.fold(strip_controls(line)) for line in request.description.splitlines())
    first_line = next((line for line in lines if line), "")
    label = RequestType(request.request_type).label
    return f"[Contact Us] {label}: {first_line[:120]}" if first_line else f"[Contact Us] {label}"


def _requester_label(ticket: Ticket) -> str:
    return f"requester <{ticket.requester.email}>"


@transaction.atomic
def submit_request(*, request: ContactRequest, attachments: Sequence[services.NewAttachment] = ()) -> Ticket:
    """File a Contact Us submission as a ticket and mail the confirmation link(s) after commit."""
    guardian_email = services.normalize_email(request.guardian_email) if request.is_minor else ""
    # The consent goes into the new ticket's audit chain with "created" and "assigned": one INSERT.
    consent = dict(actor_name=f"requester <{services.normalize_email(request.email)}>",
                   action="requester.consent_given",
                   data={"consent_text_version": CONSENT_TEXT_VERSION, "under_14": request.is_minor,
                         "guardian_email": guardian_email})

    def details(ticket: Ticket) -> None:
        WebRequestDetails.objects.create(
            ticket=ticket, consent_at=timezone.now(), consent_text_version=CONSENT_TEXT_VERSION,
            is_minor=request.is_minor, guardian_name=request.guardian_name if request.is_minor else "",
            guardian_email=guardian_email,
        )

    ticket = services.create_ticket(
        message=services.InboundMessage(
            sender_email=request.email,
            sender_name=request.name,
            subject=_subject(request),
            body_text=request.description,
            attachments=tuple(attachments),
        ),
        channel=Channel.WEB,
        request_type=request.request_type,
        requester_name=request.name,
        phone=request.phone,
        organization=request.organization,
        language=request.language,
        on_behalf_of=request.on_behalf_of,
        more_events=(consent,),
        with_ticket=details,
    )
    _send_link(ticket, tokens.VERIFY, ticket.requester.email or "", "verification")
    if request.is_minor:
        _send_link(ticket, tokens.GUARDIAN, guardian_email, "guardian_confirmation")
    return ticket


def _send_link(ticket: Ticket, purpose: str, recipient: str, template: str) -> RequesterToken:
    row, _token = tokens.issue_single_use(ticket, purpose, recipient)
    transaction.on_commit(lambda: enqueue_mail(template, token_pk=row.pk))
    return row


def enqueue_mail(template: str, *, token_pk: int | None = None, email: str = "",
                 notification_pk: int | None = None) -> None:
    # Broker down: the reminder sweep and "lost your link?" cover it.
    tasking.enqueue("helpdesk.public.tasks.send_requester_mail", template, token_pk=token_pk, email=email,
            notification_pk=notification_pk)


# --- Confirmation links ---------------------------------------------------------------------
@dataclass(frozen=True)
class ConfirmationResult:
    ticket: Ticket
    verified: bool  # the ticket moved to "verified"
    waiting_for_guardian: bool
    needs_more_proof: bool  # the request type needs more than e-mail control (e.g. access)


@transaction.atomic
def confirm_email(*, token: str) -> ConfirmationResult:
    """The requester opened the one-time link: the address is theirs. Raises ``tokens.InvalidLink``."""
    checked = tokens.consume(token, tokens.VERIFY)
    ticket = checked.ticket
    details = _details(ticket)
    if details.email_verified_at is None:
        details.email_verified_at = timezone.now()
        details.save(update_fields=["email_verified_at"])
    audit.record_event(ticket=ticket, actor=None, actor_name=_requester_label(ticket),
                       action="requester.email_confirmed", data={"method": VerificationMethod.EMAIL_LINK})
    return _after_confirmation(ticket, details)


@transaction.atomic
def confirm_guardian(*, token: str) -> ConfirmationResult:
    """The legal guardian of an under-14 requester confirmed by their one-time link."""
    checked = tokens.consume(token, tokens.GUARDIAN)
    ticket = checked.ticket
    details = _details(ticket)
    if details.guardian_confirmed_at is None:
        details.guardian_confirmed_at = timezone.now()
        details.save(update_fields=["guardian_confirmed_at"])
    audit.record_event(ticket=ticket, actor=None, actor_name=f"guardian <{details.guardian_email}>",
                       action="requester.guardian_confirmed",
                       data={"guardian_name": details.guardian_name, "guardian_email": details.guardian_email})
    return _after_confirmation(ticket, details)


def _details(ticket: Ticket) -> WebRequestDetails:
    details, _created = WebRequestDetails.objects.get_or_create(
        ticket=ticket, defaults={"consent_at": ticket.received_at, "consent_text_version": ""}
    )
    return details


def _after_confirmation(ticket: Ticket, details: WebRequestDetails) -> ConfirmationResult:
    """Verify the ticket when e-mail control is enough proof and nothing else is outstanding."""
    # A representative's e-mail proves only their own address: the desk checks the authority.
    needs_more = ticket.request_type not in EMAIL_PROOF_SUFFICES or ticket.awaiting_representation_check()
    ready = details.email_verified_at is not None and not details.awaiting_guardian
    verified = False
    if ready and not needs_more and ticket.state == TicketState.RECEIVED:
        method = VerificationMethod.GUARDIAN_CONSENT if details.is_minor else VerificationMethod.EMAIL_LINK
        note = (f"E-mail link confirmed; guardian {details.guardian_name} <{details.guardian_email}> confirmed."
                if details.is_minor else "")
        services.transition_ticket(ticket=ticket, name="verify", actor=None, as_requester=True,
                                   verification_method=method, note=note)
        verified = True
    ticket.refresh_from_db()
    return ConfirmationResult(ticket=ticket, verified=verified, waiting_for_guardian=details.awaiting_guardian,
                              needs_more_proof=needs_more and ticket.state == TicketState.RECEIVED)


# --- Status page -------------------------------------------------------------------------------
def add_requester_message(*, ticket: Ticket, body_text: str,
                          attachments: Sequence[services.NewAttachment] = ()) -> None:
    """A message or proof of identity from the status page; resumes a paused clock like an e-mail."""
    services.add_inbound_message(
        ticket=ticket,
        message=services.InboundMessage(
            sender_email=ticket.requester.email or "",
            sender_name=ticket.requester.name,
            subject=f"Re: {ticket.subject}",
            body_text=body_text,
            attachments=tuple(attachments),
        ),
    )


def withdraw_request(*, ticket: Ticket, reason: str = "") -> Ticket:
    return services.transition_ticket(
        ticket=ticket, name="withdraw", actor=None, as_requester=True,
        reason=reason.strip()[:1000] or "Withdrawn by the requester on the status page.",
    )


# --- Lost links --------------------------------------------------------------------------------
def resend_status_links(*, email: str) -> None:
    """Mail the status links of this address's recent requests. Silent when there are none.

    The caller answers the same way in both cases, so the page never reveals whether a ticket
    exists; the mail goes only to the address on file. The request does the same work for any
    address — no lookup, one task — and the task looks the address up (it sends nothing when it
    has no requests), so not even the time of the answer tells (issue 25.14: 14.6 vs 8.6 ms).
    """
    address = services.normalize_email(email)
    transaction.on_commit(lambda: enqueue_mail("status_links", email=address))


def tickets_for_links(email: str, now: datetime | None = None) -> list[Ticket]:
    """Open requests and those closed within the status links' lifetime, newest first."""
    now = now or timezone.now()
    since = now - timedelta(days=settings.DESK_STATUS_LINK_MAX_AGE_DAYS)
    return list(
        Ticket.objects.filter(requester__email=email, received_at__gte=since)
        .select_related("requester").order_by("-received_at")[:20]
    )


# --- Reminders ---------------------------------------------------------------------------------
def send_verification_reminders(*, now: datetime | None = None) -> int:
    """Remind requesters who have not opened their confirmation link after 2 days; once per ticket.

    The once-only claim is a ``SentNotification(kind="verification_reminder")`` row, unique per
    ticket, so two sweeps racing send one reminder.
    """
    now = now or timezone.now()
    cutoff = now - timedelta(hours=settings.DESK_VERIFICATION_REMINDER_HOURS)
    candidates = (
        WebRequestDetails.objects.filter(
            email_verified_at__isnull=True,
            ticket__state__in=[TicketState.RECEIVED, TicketState.AWAITING_REQUESTER],
            ticket__received_at__lte=cutoff,
            ticket__received_at__gte=now - timedelta(days=settings.DESK_CONFIRM_LINK_MAX_AGE_DAYS),
        )
        .exclude(ticket__sent_notifications__kind=VERIFICATION_REMINDER)
        .select_related("ticket__requester")
    )
    sent = 0
    for details in candidates[:500]:
        ticket = details.ticket
        try:
            with transaction.atomic():
                # Not "pending": that status belongs to the deadline sweep's retry loop.
                notification = SentNotification.objects.create(
                    ticket=ticket, kind=VERIFICATION_REMINDER, stage="", recipient=ticket.requester.email or "",
                    delivery_status=StaffMailStatus.SENT,
                )
                row, _token = tokens.issue_single_use(ticket, tokens.VERIFY, ticket.requester.email or "")
                transaction.on_commit(partial(enqueue_mail, "verification_reminder", token_pk=row.pk,
                                              notification_pk=notification.pk))
        except IntegrityError:  # another sweep claimed it first
            continue
        sent += 1
    return sent
