"""Parsing without raising (pure, DB-free).

:func:`parse_or_reason` is the one place that turns ``parse_email``'s exceptions into a verdict;
``helpdesk.intake.ingest.parse`` uses it for each mail.
"""

from __future__ import annotations

import traceback
from dataclasses import dataclass

from .parser import EmailLimits, ParsedEmail, QuarantineError, parse_email

__all__ = ["ParseSettings", "Unparsed", "parse_or_reason"]


@dataclass(frozen=True)
class ParseSettings:
    limits: EmailLimits
    own_addresses: tuple[str, ...]
    own_domain: str


@dataclass(frozen=True)
class Unparsed:
    """Mail to quarantine: ``reason`` and ``detail`` as :class:`QuarantineError` gives them."""

    reason: str
    detail: str
    crash: str = ""  # the traceback when the parser itself failed (a bug, logged by the caller)


def parse_or_reason(raw: bytes, config: ParseSettings) -> ParsedEmail | Unparsed:
    try:
        return parse_email(raw, limits=config.limits, own_addresses=config.own_addresses,
                           own_message_id_domain=config.own_domain)
    except QuarantineError as exc:
        return Unparsed(exc.reason, exc.message)
    except Exception as exc:  # a parser bug must not lose the mail or block the queue
        return Unparsed("parser_error", f"parser crashed: {type(exc).__name__}: {exc}", traceback.format_exc())


