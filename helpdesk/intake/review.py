"""Reading a quarantined mail for the person who reviews it (the desk's quarantine pages)."""

from __future__ import annotations

from django.utils.translation import gettext as _

from helpdesk.intake.email.parser import parse_email
from helpdesk.models import Quarantine
from helpdesk.services import GuardError, InboundMessage, MessageReader


def message_reader(*, sender_email: str = "", sender_name: str = "") -> MessageReader:
    """A reader for ``services.convert_quarantine_to_ticket`` / ``attach_quarantine_to_ticket``;
    the reviewer's ``sender_email``/``sender_name`` win over what the mail says."""

    def read(item: Quarantine) -> InboundMessage:
        return inbound_from_quarantine(item, sender_email=sender_email, sender_name=sender_name)

    return read


def inbound_from_quarantine(item: Quarantine, *, sender_email: str = "", sender_name: str = "") -> InboundMessage:
    """Best effort: the intake parser if it copes, else the raw bytes decoded as text."""
    with item.raw_message.open("rb") as handle:
        raw = handle.read()
    try:
        parsed = parse_email(raw)
    except Exception:  # quarantined precisely because parsing failed; fall back to plain text
        parsed = None
    email_address = sender_email or (parsed.sender_email if parsed else "") or item.sender
    if not email_address or "@" not in email_address:
        raise GuardError({"sender_email": _("Give the requester's e-mail address.")})
    return InboundMessage(
        sender_email=email_address,
        sender_name=sender_name or (parsed.sender_name if parsed else ""),
        subject=(parsed.display_subject or parsed.subject) if parsed else item.subject,
        # PostgreSQL text cannot hold NUL bytes, and garbage mail often has them.
        body_text=parsed.body_text if parsed else raw[:200_000].decode("utf-8", errors="replace").replace(
            "\x00", "\ufffd"),
        body_html=parsed.body_html if parsed else "",
        message_id=(parsed.message_id or "") if parsed else "",
        in_reply_to=(parsed.in_reply_to or "") if parsed else "",
        references=tuple(parsed.references) if parsed else (),
        sent_at=item.received_at,
        dedupe_key=item.dedupe_key,  # the same bytes arriving again are then a duplicate
        raw_message=raw,
    )
