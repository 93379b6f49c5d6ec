"""People, tickets, messages and files; the requester's web details and single-use links."""

from __future__ import annotations

import secrets
from typing import Any

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from helpdesk.models.stored_files import raw_mail_storage
from workflows.request_types import Jurisdiction, RequestType
from workflows.state_machine import TicketWorkflowMixin
from workflows.states import OPEN_STATES


class User(AbstractUser):
    """Desk staff. Requesters never get accounts; they use signed links."""

    display_name = models.CharField(_("display name"), max_length=100, blank=True)
    is_away = models.BooleanField(
        _("away"), default=False, help_text=_("Away administrators get no new tickets automatically.")
    )
    last_assigned_at = models.DateTimeField(null=True, blank=True, editable=False)

    def __str__(self) -> str:
        return self.display_name or self.get_full_name() or self.username

    @property
    def name(self) -> str:
        return str(self)


class Channel(models.TextChoices):
    EMAIL = "email", _("E-mail")
    WEB = "web", _("Web form")
    STAFF = "staff", _("Entered by staff")
    # Decree Art. 41(2): requests by phone, in writing (letter, fax) and in person, entered by staff.
    PHONE = "phone", _("Phone")
    LETTER = "letter", _("Letter")
    FAX = "fax", _("Fax")
    VISIT = "visit", _("Visit in person")


# Channels a staff member types in (the desk's "new request" form and POST /api/v1/tickets/).
STAFF_CHANNELS = (Channel.PHONE, Channel.LETTER, Channel.FAX, Channel.VISIT, Channel.EMAIL, Channel.STAFF)
STAFF_CHANNEL_CHOICES = [(channel.value, channel.label) for channel in STAFF_CHANNELS]


class Language(models.TextChoices):
    KO = "ko", _("Korean")
    EN = "en", _("English")


class Requester(models.Model):
    # Stored lower-cased by the services; null for someone reachable only by phone or post.
    email = models.EmailField(_("e-mail"), unique=True, null=True, blank=True)
    name = models.CharField(_("name"), max_length=200, blank=True)
    phone = models.CharField(_("phone"), max_length=50, blank=True)
    # db_default: rows written by plain SQL (another ingester, a trigger) need not name it.
    postal_address = models.TextField(_("postal address"), max_length=500, blank=True, default="", db_default="")
    organization = models.CharField(_("organization"), max_length=200, blank=True)
    language = models.CharField(_("language"), max_length=2, choices=Language.choices, default=Language.KO)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("requester")
        verbose_name_plural = _("requesters")

    def __str__(self) -> str:
        contact = self.email or self.phone or (self.postal_address.splitlines() or [""])[0]
        return f"{self.name} <{contact}>" if self.name and contact else (self.name or contact or f"#{self.pk}")

    @property
    def mailable(self) -> bool:
        """Notices go by mail; without an address the desk gives them by phone or post and records it."""
        return bool(self.email)


class TicketCounter(models.Model):
    """Last reference number handed out per year; locked row, so references never collide."""

    year = models.PositiveSmallIntegerField(primary_key=True)
    last_number = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.year}: {self.last_number}"


def new_access_key() -> str:
    return secrets.token_urlsafe(24)


class TicketQuerySet(models.QuerySet["Ticket"]):
    def open(self) -> TicketQuerySet:
        return self.filter(state__in=OPEN_STATES)


class Ticket(TicketWorkflowMixin):
    reference = models.CharField(_("reference"), max_length=32, unique=True, editable=False)
    request_type = models.CharField(
        _("request type"), max_length=32, choices=RequestType.choices, default=RequestType.OTHER
    )
    suggested_request_type = models.CharField(max_length=32, choices=RequestType.choices, blank=True)
    jurisdiction = models.CharField(max_length=8, choices=Jurisdiction.choices, default=Jurisdiction.KR)
    subject = models.CharField(_("subject"), max_length=300)
    requester = models.ForeignKey(Requester, on_delete=models.PROTECT, related_name="tickets")
    assignee = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="assigned_tickets"
    )
    channel = models.CharField(_("channel"), max_length=8, choices=Channel.choices)
    # The staff member who typed in a request received by phone, letter, fax or visit.
    entered_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
                                   verbose_name=_("entered by"))
    received_at = models.DateTimeField(_("received"))
    due_at = models.DateTimeField(_("due"))
    # Seconds the legal clock stood still (awaiting the requester); paused_at is set while paused.
    paused_at = models.DateTimeField(null=True, blank=True)
    paused_seconds = models.PositiveIntegerField(default=0)
    paused_days = models.PositiveSmallIntegerField(default=0)  # whole days added to the deadline
    extension_count = models.PositiveSmallIntegerField(default=0)
    legal_hold = models.BooleanField(_("legal hold"), default=False)
    # Random per-ticket secret mixed into requester links, so rotating it revokes old links.
    access_key = models.CharField(max_length=64, default=new_access_key, editable=False)
    # Issue 26: the ticket that stays, once this duplicate was merged into it; tickets linked as related.
    merged_into = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="merged_tickets", verbose_name=_("merged into"))
    related = models.ManyToManyField("self", blank=True, verbose_name=_("related tickets"))  # symmetric
    # Optimistic lock: bumped on every write through the services.
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = TicketQuerySet.as_manager()

    class Meta:
        verbose_name = _("ticket")
        verbose_name_plural = _("tickets")
        ordering = ["due_at"]
        indexes = [
            # Queues: by assignee and state, ordered by due date.
            models.Index(fields=["assignee", "state", "due_at"], name="ticket_assignee_state_due"),
            models.Index(fields=["state", "due_at"], name="ticket_state_due"),
            # Open tickets only, for the SLA sweep and "due soon / overdue" queues.
            models.Index(
                fields=["due_at"], name="ticket_open_due", condition=Q(state__in=list(OPEN_STATES))
            ),
            # Managers' figures (helpdesk.metrics) and the API's newest-first list: covering, so a
            # year of tickets is read from the index alone (INCLUDE is PostgreSQL-only; elsewhere
            # a plain (received_at, id) index).
            models.Index(
                fields=["received_at", "id"], name="ticket_received_cover",
                include=["request_type", "channel", "assignee", "state", "due_at", "responded_at",
                         "first_response_at", "active_seconds", "paused_seconds"],
            ),
            # Open tickets now, for the figures' backlog and per-administrator load, and the open part
            # of a period's figures (helpdesk.metrics.summary counts open tickets live): index-only.
            # Keyed by receipt, so a period's open tickets are one range (the backlog reads them all).
            models.Index(
                fields=["received_at"], name="ticket_open_cover",
                include=["assignee", "due_at", "request_type", "channel", "state", "first_response_at",
                         "responded_at", "active_seconds", "paused_seconds"],
                condition=Q(state__in=list(OPEN_STATES)),
            ),
            models.Index(fields=["request_type", "received_at"], name="ticket_type_received"),
            models.Index(fields=["closed_at"], name="ticket_closed"),
        ]

    def __str__(self) -> str:
        return f"{self.reference} {self.subject}"

    def has_outbound_reply(self) -> bool:
        replies = self.messages.filter(direction=Direction.OUTBOUND, kind=MessageKind.REPLY)
        if self.processed_at is not None:
            replies = replies.filter(created_at__gte=self.processed_at)
        return replies.exists()

    def awaiting_guardian(self) -> bool:
        """An under-14 requester's legal guardian has not confirmed yet (web form only)."""
        return WebRequestDetails.objects.filter(
            ticket=self, is_minor=True, guardian_confirmed_at__isnull=True).exists()

    def awaiting_representation_check(self) -> bool:
        """Made by a representative whose authority and subject's identity are not checked yet."""
        return Ticket.objects.filter(pk=self.pk, representation__isnull=False,
                                     representation__checked_at__isnull=True).exists()

    # --- What outbound mail may repeat of the requester's own words (issue 25) -----------------
    def address_confirmed(self) -> bool:
        """Whether the requester's address is known to be theirs.

        Anyone can type any address into Contact Us: until its one-time link is opened (or staff
        verified the requester), mail to it must not repeat the form's free text (name, subject),
        or the desk relays a stranger's words — a phishing text — from our own domain.
        """
        if self.channel != Channel.WEB or self.verified_at is not None:
            return True
        return WebRequestDetails.objects.filter(ticket=self, email_verified_at__isnull=False).exists()

    def name_for_mail(self) -> str:
        """The requester's name for a greeting, or "" (the templates say "requester")."""
        return self.requester.name if self.address_confirmed() else ""

    def subject_for_mail(self) -> str:
        """The ticket's subject for an outbound subject line, or the request type's label."""
        return self.subject if self.address_confirmed() else str(RequestType(self.request_type).label)

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_STATES


class Direction(models.TextChoices):
    INBOUND = "inbound", _("Inbound")
    OUTBOUND = "outbound", _("Outbound")
    NOTE = "note", _("Internal note")


class MessageKind(models.TextChoices):
    MAIL = "mail", _("Mail or form message")
    REPLY = "reply", _("Reply by staff")
    ACKNOWLEDGEMENT = "acknowledgement", _("Acknowledgement")
    NOTICE = "notice", _("Automatic notice")
    NOTE = "note", _("Internal note")
    AUTO = "auto", _("Automatic mail received (not answered)")


class DeliveryStatus(models.TextChoices):
    NOT_APPLICABLE = "", _("—")
    PENDING = "pending", _("Pending")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")
    # The requester has no e-mail address: the desk gives it by phone or post and records how.
    TO_GIVE = "to_give", _("To give by phone or post")
    GIVEN = "given", _("Given by phone or post")
    # A delivery report said the address does not take mail: never retried (issue 29).
    BOUNCED = "bounced", _("Bounced")


def private_upload_to(instance: Any, filename: str) -> str:
    """Random stored names: the original name is kept in the database only.

    256 directories: enough to keep directories small at millions of files, few enough that a
    new file seldom needs a new directory (creating one per file was most of intake's file cost).
    """
    return f"attachments/{secrets.token_hex(1)}/{secrets.token_hex(16)}"


def raw_mail_upload_to(instance: Any, filename: str) -> str:
    return f"raw/{secrets.token_hex(1)}/{secrets.token_hex(16)}.eml"


class Message(models.Model):
    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="messages")
    direction = models.CharField(max_length=8, choices=Direction.choices)
    kind = models.CharField(max_length=16, choices=MessageKind.choices, default=MessageKind.MAIL)
    sender = models.CharField(_("sender"), max_length=320)
    sender_name = models.CharField(max_length=200, blank=True)
    author = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    recipients = models.JSONField(default=list, blank=True)
    subject = models.CharField(max_length=500, blank=True)
    body_text = models.TextField(blank=True)
    body_html = models.TextField(blank=True)  # always sanitized before it is stored
    message_id = models.CharField(max_length=998, blank=True, db_index=True)
    in_reply_to = models.CharField(max_length=998, blank=True)
    references = models.TextField(blank=True)
    # "mid:<Message-ID>" or "digest:<sha256>"; unique so a message delivered twice is stored once.
    dedupe_key = models.CharField(max_length=255, null=True, blank=True, unique=True)
    # The duplicate this message came from when it was merged into this ticket (issue 26).
    merged_from = models.ForeignKey(Ticket, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    raw_message = models.FileField(upload_to=raw_mail_upload_to, storage=raw_mail_storage, blank=True)
    sent_at = models.DateTimeField(_("sent"))
    delivery_status = models.CharField(
        max_length=8, choices=DeliveryStatus.choices, default=DeliveryStatus.NOT_APPLICABLE, blank=True
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["sent_at", "id"]
        indexes = [models.Index(fields=["ticket", "sent_at"], name="message_ticket_sent")]

    def __str__(self) -> str:
        return f"{self.direction} {self.sender} {self.sent_at:%Y-%m-%d %H:%M}"

    @property
    def is_public(self) -> bool:
        """Shown to the requester: everything but internal notes and ignored automatic mail."""
        return self.direction != Direction.NOTE and self.kind != MessageKind.AUTO


class Attachment(models.Model):
    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="attachments")
    file = models.FileField(upload_to=private_upload_to, max_length=200)
    filename = models.CharField(max_length=255)
    size = models.PositiveBigIntegerField()
    content_type = models.CharField(max_length=100)
    sha256 = models.CharField(max_length=64)
    content_id = models.CharField(max_length=255, blank=True)
    is_inline = models.BooleanField(default=False)

    def __str__(self) -> str:
        return self.filename


class WebRequestDetails(models.Model):
    """Consent, under-14 guardian and e-mail confirmation for a ticket filed through Contact Us."""

    ticket = models.OneToOneField(Ticket, on_delete=models.CASCADE, related_name="web_details")
    consent_at = models.DateTimeField(_("consent given"))
    consent_text_version = models.CharField(max_length=32)  # which wording the requester agreed to
    is_minor = models.BooleanField(_("under 14"), default=False)
    guardian_name = models.CharField(_("guardian's name"), max_length=200, blank=True)
    guardian_email = models.EmailField(_("guardian's e-mail"), blank=True)
    guardian_confirmed_at = models.DateTimeField(_("guardian confirmed"), null=True, blank=True)
    email_verified_at = models.DateTimeField(_("e-mail confirmed"), null=True, blank=True)

    class Meta:
        verbose_name = _("web request details")
        verbose_name_plural = _("web request details")

    def __str__(self) -> str:
        return f"web details of ticket {self.ticket_id}"

    @property
    def awaiting_guardian(self) -> bool:
        return self.is_minor and self.guardian_confirmed_at is None


class RequesterToken(models.Model):
    """Single-use state of a signed requester link (e-mail or guardian confirmation).

    The link itself is signed (django.core.signing) and carries this row's nonce; the row says
    whether it was used, so a link works once even though its signature stays valid.
    """

    class Purpose(models.TextChoices):
        VERIFY = "verify", _("Confirm e-mail address")
        GUARDIAN = "guardian", _("Guardian confirmation")

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="requester_tokens")
    purpose = models.CharField(max_length=16, choices=Purpose.choices)
    nonce = models.CharField(max_length=43, unique=True)
    recipient = models.EmailField()
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["purpose", "created_at"], name="reqtoken_purpose_created")]

    def __str__(self) -> str:
        return f"{self.purpose} link for ticket {self.ticket_id}"
