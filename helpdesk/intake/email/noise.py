"""Detect automatic / bulk / looping mail (RFC 3834 and common practice).

A helpdesk that answers auto-replies ends up in mail loops, so mail that *says* it is
machine-generated (RFC 3834 headers, a DSN's structure, list headers, our own mail) gets an
``auto_reason`` and is not turned into a ticket. Wording alone never decides that: "부재중 전화
기록 열람 요청" is a real request. A subject that reads like an auto-reply only gets a
``review_reason`` (:func:`review_reason`): the mail is filed and flagged for a person.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping

__all__ = ["AUTO_REASONS", "REVIEW_REASONS", "detect_auto_reason", "review_reason"]

# Checked in this order; the first hit is reported.  Loop-with-ourselves first (most
# definitive), then explicit RFC 3834 / vendor headers, then bounce/report shapes, then
# bulk/list markers. Subject wording is not among them (see REVIEW_REASONS).
AUTO_REASONS: tuple[str, ...] = (
    "own_message",
    "own_address",
    "auto_submitted",
    "autoreply_header",
    "mailer_daemon",
    "null_return_path",
    "delivery_report",
    "precedence",
    "mailing_list",
)
# Signals too weak to drop mail on: the mail is filed and a person is asked to look at it.
REVIEW_REASONS: tuple[str, ...] = ("autoreply_subject",)

_BULK_PRECEDENCE = frozenset({"bulk", "junk", "list", "auto_reply", "auto-reply"})
_DAEMON_LOCALPARTS = frozenset({"mailer-daemon", "postmaster", "mailerdaemon", "mail-daemon"})
_FALSY = frozenset({"no", "false", "0", "off"})
_AUTO_SUBJECT = re.compile(
    r"out\s+of\s+(?:the\s+)?office|out-of-office|\bautomatic\s+reply|\bauto[\s-]?reply|\bautoreply"
    r"|\bauto[\s-]?response|자동\s*(?:응답|회신|답장|답변)|부재\s*중|\bundeliverable\s*:"
    r"|delivery\s+status\s+notification",
    re.IGNORECASE,
)


_TOKEN = re.compile(r"[A-Za-z0-9_.-]*")


def _first_token(value: str) -> str:
    """Keyword before parameters/comments: 'No (human)' → 'no', 'auto-notified; x=y' → 'auto-notified'."""
    match = _TOKEN.match(value.strip())
    return match.group(0).lower() if match else ""


def detect_auto_reason(
    headers: Mapping[str, str],
    *,
    sender_email: str,
    content_type: str,
    message_id: str | None,
    own_addresses: Collection[str],
    own_message_id_domain: str,
) -> str | None:
    """Return the reason this mail is automatic/bulk/looping, or None for human mail.

    ``headers`` maps lower-cased header names to (first) decoded values.
    """
    domain = own_message_id_domain.strip().lower().lstrip("@")
    if message_id and domain and "@" in message_id:
        mid_domain = message_id.rsplit("@", 1)[1].lower()
        if mid_domain == domain or mid_domain.endswith("." + domain):
            return "own_message"
    if sender_email and sender_email in own_addresses:
        return "own_address"
    auto_submitted = headers.get("auto-submitted")
    if auto_submitted is not None and _first_token(auto_submitted) not in ("no", ""):
        return "auto_submitted"
    for name in ("x-autoreply", "x-autorespond"):
        value = headers.get(name)
        if value is not None and _first_token(value) not in _FALSY:
            return "autoreply_header"
    local_part = sender_email.rsplit("@", 1)[0]
    if local_part in _DAEMON_LOCALPARTS:
        return "mailer_daemon"
    return_path = headers.get("return-path")
    if return_path is not None and re.fullmatch(r"\s*<\s*>\s*", return_path):
        return "null_return_path"
    if content_type == "multipart/report":
        return "delivery_report"
    precedence = headers.get("precedence")
    if precedence is not None and _first_token(precedence) in _BULK_PRECEDENCE:
        return "precedence"
    if "list-id" in headers or "list-unsubscribe" in headers:
        return "mailing_list"
    return None


def review_reason(subject: str) -> str | None:
    """Why a person should check whether this (otherwise human-looking) mail is automatic."""
    return "autoreply_subject" if _AUTO_SUBJECT.search(subject) else None
