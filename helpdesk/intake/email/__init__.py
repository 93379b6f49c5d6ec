"""Inbound e-mail parsing for Privacy Desk (pure, DB-free)."""

from .classify import REQUEST_TYPES, find_ticket_references, strip_subject_prefixes, suggest_request_type
from .parser import (
    FORWARDED_MARKER,
    EmailLimits,
    ParsedAttachment,
    ParsedEmail,
    QuarantineError,
    parse_email,
)

__all__ = [
    "FORWARDED_MARKER",
    "REQUEST_TYPES",
    "EmailLimits",
    "ParsedAttachment",
    "ParsedEmail",
    "QuarantineError",
    "find_ticket_references",
    "parse_email",
    "strip_subject_prefixes",
    "suggest_request_type",
]
