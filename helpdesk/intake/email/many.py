"""Parsing without raising: what a helper process can do for a whole batch (pure, DB-free, picklable).

:func:`parse_or_reason` is the one place that turns ``parse_email``'s exceptions into a verdict;
``helpdesk.intake.ingest.parse`` uses it for one mail and intake's helper process
(``helpdesk.intake.helper``) runs :func:`parse_many`. Nothing here imports Django models, so a freshly spawned
interpreter can import it without ``django.setup()``.
"""

from __future__ import annotations

import traceback
from collections.abc import Sequence
from dataclasses import dataclass

from .parser import EmailLimits, ParsedEmail, QuarantineError, parse_email

__all__ = ["ParseSettings", "Unparsed", "parse_many", "parse_or_reason"]


@dataclass(frozen=True)
class ParseSettings:
    limits: EmailLimits
    own_addresses: tuple[str, ...]
    own_domain: str
    trusted_authserv_id: str = ""  # DESK_TRUSTED_AUTHSERV_ID: whose Authentication-Results count


@dataclass(frozen=True)
class Unparsed:
    """Mail to quarantine: ``reason`` and ``detail`` as :class:`QuarantineError` gives them."""

    reason: str
    detail: str
    crash: str = ""  # the traceback when the parser itself failed (a bug, logged by the caller)


def parse_or_reason(raw: bytes, config: ParseSettings) -> ParsedEmail | Unparsed:
    try:
        return parse_email(raw, limits=config.limits, own_addresses=config.own_addresses,
                           own_message_id_domain=config.own_domain,
                           trusted_authserv_id=config.trusted_authserv_id)
    except QuarantineError as exc:
        return Unparsed(exc.reason, exc.message)
    except Exception as exc:  # a parser bug must not lose the mail or block the queue
        return Unparsed("parser_error", f"parser crashed: {type(exc).__name__}: {exc}", traceback.format_exc())


def parse_many(raws: Sequence[bytes], config: ParseSettings) -> list[ParsedEmail | Unparsed]:
    return [parse_or_reason(raw, config) for raw in raws]

