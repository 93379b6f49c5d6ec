"""Signed links for requesters, who have no account.

A link is ``django.core.signing`` output over ``{"r": reference, "p": purpose, "k": key, "n": nonce}``:
``k`` is a digest of the ticket's secret ``access_key`` (rotating the key revokes every link),
``p`` the purpose (a status link cannot confirm an e-mail address), ``n`` the nonce of a
single-use :class:`~helpdesk.models.RequesterToken` row (empty for the reusable status link). The
salt binds the signature to this module. Every failure is the same :class:`InvalidLink`, so a
caller cannot tell a forged link from an expired one or from a ticket that does not exist.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.utils import timezone

from helpdesk.models import RequesterToken, Ticket

SALT = "helpdesk.public.requester-link"
STATUS = "status"
VERIFY = RequesterToken.Purpose.VERIFY.value
GUARDIAN = RequesterToken.Purpose.GUARDIAN.value
PURPOSES = (STATUS, VERIFY, GUARDIAN)


class InvalidLink(Exception):
    """Wrong, forged, expired, reused or revoked: deliberately one error for all."""


class AlreadyUsedLink(InvalidLink):
    """A genuine, unexpired single-use link that was already used: the confirmation happened."""

    def __init__(self, ticket: Ticket) -> None:
        super().__init__()
        self.ticket = ticket


@dataclass(frozen=True)
class CheckedLink:
    ticket: Ticket
    purpose: str
    token: RequesterToken | None  # the single-use row, for verify / guardian links


def max_age(purpose: str) -> timedelta:
    if purpose == STATUS:
        return timedelta(days=settings.DESK_STATUS_LINK_MAX_AGE_DAYS)
    return timedelta(days=settings.DESK_CONFIRM_LINK_MAX_AGE_DAYS)


def key_digest(ticket: Ticket) -> str:
    """Digest of the ticket's access key: the payload is readable, the key itself must not be."""
    return hashlib.sha256(f"{SALT}:{ticket.access_key}".encode()).hexdigest()[:24]


def make_link_token(ticket: Ticket, purpose: str, nonce: str = "") -> str:
    if purpose not in PURPOSES:
        raise ValueError(purpose)
    payload = {"r": ticket.reference, "p": purpose, "k": key_digest(ticket), "n": nonce}
    return signing.dumps(payload, salt=SALT, compress=False)


def status_token(ticket: Ticket) -> str:
    return make_link_token(ticket, STATUS)


def issue_single_use(ticket: Ticket, purpose: str, recipient: str) -> tuple[RequesterToken, str]:
    """Create the single-use row and return it with the signed token for the link."""
    now = timezone.now()
    row = RequesterToken.objects.create(
        ticket=ticket, purpose=purpose, nonce=secrets.token_urlsafe(24), recipient=recipient,
        created_at=now, expires_at=now + max_age(purpose),
    )
    return row, make_link_token(ticket, purpose, row.nonce)


def token_for_row(row: RequesterToken) -> str:
    """The link for an existing single-use row (the mail task builds it at send time)."""
    return make_link_token(row.ticket, row.purpose, row.nonce)


def _load(token: str, purpose: str) -> dict[str, Any]:
    if not token or len(token) > 500:
        raise InvalidLink
    try:
        payload = signing.loads(token, salt=SALT, max_age=max_age(purpose))
    except signing.BadSignature as exc:  # includes SignatureExpired
        raise InvalidLink from exc
    if not isinstance(payload, dict) or payload.get("p") != purpose:
        raise InvalidLink
    return payload


def check_link(token: str, purpose: str, *, lock: bool = False) -> CheckedLink:
    """The ticket (and single-use row) a link opens, or :class:`InvalidLink`.

    With ``lock=True`` (inside a transaction) the ticket and row are locked, so two clicks on one
    single-use link cannot both succeed.
    """
    payload = _load(token, purpose)
    tickets = Ticket.objects.select_related("requester")
    if lock:
        tickets = tickets.select_for_update(of=("self",))
    ticket = tickets.filter(reference=str(payload.get("r", ""))).first()
    if ticket is None or not hmac.compare_digest(str(payload.get("k", "")), key_digest(ticket)):
        raise InvalidLink
    row = None
    if purpose != STATUS:
        rows = RequesterToken.objects.filter(ticket=ticket, purpose=purpose, nonce=str(payload.get("n", "")))
        if lock:
            rows = rows.select_for_update()
        row = rows.first()
        if row is not None and row.used_at is not None:
            raise AlreadyUsedLink(ticket)
        if row is None or row.expires_at <= timezone.now():
            raise InvalidLink
    return CheckedLink(ticket=ticket, purpose=purpose, token=row)


@transaction.atomic
def consume(token: str, purpose: str) -> CheckedLink:
    """Check a single-use link and mark it used, atomically."""
    checked = check_link(token, purpose, lock=True)
    assert checked.token is not None
    checked.token.used_at = timezone.now()
    checked.token.save(update_fields=["used_at"])
    return checked
