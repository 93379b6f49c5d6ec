"""The receiving MTA's Authentication-Results, read strictly (issue 25, point 6)."""

from __future__ import annotations

import pytest

from helpdesk.intake.email.authresults import sender_authentication

MTA = "mx.micube.co.kr"


def ar(results: str, authserv_id: str = MTA) -> tuple[str, str]:
    return ("Authentication-Results", f"{authserv_id};\r\n\t{results}")


FROM = ("From", "kim@example.com")
RECEIVED = ("Received", "from a.example by mx.micube.co.kr")


@pytest.mark.parametrize(("headers", "verdict"), [
    ([ar("dmarc=pass header.from=example.com"), RECEIVED, FROM], "pass"),
    ([RECEIVED, ar("dmarc=fail (p=none) header.from=example.com"), FROM], "fail"),
    # DMARC fail wins over a pass the same MTA wrote in another field (OpenDKIM + OpenDMARC).
    ([ar("dkim=pass header.d=example.com"), ar("dmarc=fail header.from=example.com"), FROM], "fail"),
    # No DMARC verdict: an aligned DKIM signature or SPF check decides; unaligned ones say nothing.
    ([ar("dkim=pass (good signature) header.d=mail.example.com"), FROM], "pass"),
    ([ar("spf=fail smtp.mailfrom=kim@example.com"), FROM], "fail"),
    ([ar("dkim=fail header.d=lists.other.example; spf=pass smtp.mailfrom=lists.other.example"), FROM], "none"),
    ([ar("spf=none smtp.mailfrom=example.com; dkim=none; dmarc=none"), FROM], "none"),
    # Another system's opinion, a field we cannot read, or ours below the sender's block: not ours.
    ([ar("dmarc=pass", authserv_id="spamfilter.example"), FROM], "missing"),
    ([("Authentication-Results", f"{MTA}; dmarc="), FROM], "missing"),
    ([FROM, ar("dmarc=pass")], "missing"),
    ([("Authentication-Results", f"{MTA.upper()} 1; dmarc=pass"), FROM], "pass"),
])
def test_verdicts(headers: list[tuple[str, str]], verdict: str) -> None:
    assert sender_authentication(headers, "kim@example.com", MTA) == verdict


def test_nothing_is_checked_without_a_trusted_authserv_id() -> None:
    assert sender_authentication([ar("dmarc=fail"), FROM], "kim@example.com", "") == ""
