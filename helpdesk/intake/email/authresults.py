"""Did the receiving MTA authenticate the sender? Its ``Authentication-Results`` (RFC 8601), read strictly.

Anybody can write ``From: requester@example.com``; only the MTA that received the mail can tell
whether the sending domain vouched for it (DMARC, DKIM, SPF). The MTA records its verdict in an
``Authentication-Results`` header field naming its *authserv-id* (``DESK_TRUSTED_AUTHSERV_ID``).
Only such fields count, and only the topmost ones — those above the first field a sender could
have written — because RFC 8601 (section 5) has the MTA delete incoming fields that claim its
authserv-id, and a sender may still put one lower down. Fields of other authserv-ids are another
system's opinion and are ignored. Parsing is authres's (the RFC's grammar, comments, quoting).

Verdicts: ``pass`` (DMARC passed, or without a DMARC verdict a DKIM signature or SPF check of the
From domain passed), ``fail`` (DMARC failed, or DKIM/SPF of the From domain failed and nothing
aligned passed), ``none`` (nothing authenticated, nothing failed: a domain that publishes no
policy), ``missing`` (no field of our MTA: the mail did not come through it), or ``""`` when no
authserv-id is configured (development: nothing is checked).
"""

from __future__ import annotations

from collections.abc import Iterable

import authres

__all__ = ["FAILED", "sender_authentication"]

# Verdicts that must not let a mail into an existing conversation.
FAILED = frozenset({"fail", "missing"})

_HEADER = "authentication-results"
# Trace fields an MTA and the local delivery agent add on top of the message as it arrived.
_TRACE = frozenset({_HEADER, "received", "return-path", "delivered-to", "x-original-to", "received-spf",
                    "arc-seal", "arc-message-signature", "arc-authentication-results", "x-spam-status",
                    "x-spam-score", "x-spam-flag", "x-spam-level", "x-rspamd-queue-id", "x-rspamd-server",
                    "x-rspamd-action", "x-virus-scanned"})


def sender_authentication(headers: Iterable[tuple[str, str]], from_address: str, authserv_id: str) -> str:
    """The verdict of the trusted MTA on ``from_address``'s domain (see the module docstring)."""
    trusted = authserv_id.strip().lower()
    if not trusted:
        return ""
    results: list[tuple[str, str, dict[str, str]]] = []
    seen = False
    for name, value in headers:
        field_name = name.strip().lower()
        if field_name not in _TRACE:
            break  # the sender's own header block starts here
        if field_name != _HEADER:
            continue
        parsed = _parse(value)
        if parsed is None or parsed.authserv_id.strip().lower() != trusted:
            continue
        seen = True
        results += [(r.method.lower(), str(r.result).lower(),
                     {f"{p.type}.{p.name}".lower(): str(p.value).lower() for p in r.properties})
                    for r in parsed.results]
    if not seen:
        return "missing"
    return _verdict(results, from_address.rsplit("@", 1)[-1].strip().lower())


def _parse(value: str) -> authres.AuthenticationResultsHeader | None:
    text = " ".join(str(value).split())
    try:
        return authres.AuthenticationResultsHeader.parse(f"Authentication-Results: {text}")
    except (authres.AuthResError, ValueError, IndexError, AttributeError):
        return None  # a field we cannot read vouches for nothing


def _aligned(domain: str, from_domain: str) -> bool:
    """Relaxed alignment (RFC 7489): the same domain, or one a subdomain of the other."""
    domain = domain.rsplit("@", 1)[-1].strip(".")
    if not domain or not from_domain:
        return False
    return domain == from_domain or from_domain.endswith("." + domain) or domain.endswith("." + from_domain)


def _verdict(results: list[tuple[str, str, dict[str, str]]], from_domain: str) -> str:
    dmarc = {result for method, result, _props in results if method == "dmarc"}
    if "fail" in dmarc:
        return "fail"
    if "pass" in dmarc:
        return "pass"
    # DKIM and SPF count only for the From domain (a mailing list's own signature says nothing).
    identity = {"dkim": ("header.d", "header.i"), "spf": ("smtp.mailfrom", "smtp.helo")}
    aligned = {result for method, result, props in results if method in identity
               and _aligned(next((props[k] for k in identity[method] if props.get(k)), ""), from_domain)}
    if "pass" in aligned:
        return "pass"
    return "fail" if "fail" in aligned else "none"
