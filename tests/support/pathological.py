"""Mails built from one fragment repeated n times, in every place intake reads (issue 25.1).

Shared by the work-counting test (``tests/intake/test_linear_work.py``), the fuzz test's pathological strategy
and ``bench/intake_linearity.py``. Each family names what once made a stage super-linear or what
could: a repeat that a list scan, a lazy regex or a parser rescans for every occurrence.
"""

from __future__ import annotations

from collections.abc import Callable


def mail(*, headers: bytes = b"", subject: bytes = b"hello", sender: bytes = b"a@example.com",
         content_type: bytes = b"text/plain; charset=utf-8", body: bytes = b"hello") -> bytes:
    return (b"From: " + sender + b"\r\nTo: privacy@example.com\r\nSubject: " + subject
            + b"\r\nMessage-ID: <probe@example.com>\r\nDate: Mon, 7 Dec 2026 10:00:00 +0900\r\n" + headers
            + b"Content-Type: " + content_type + b"\r\n\r\n" + body)


def _html(fragment: bytes) -> Callable[[int], bytes]:
    return lambda n: mail(content_type=b"text/html; charset=utf-8", body=fragment * n)


FAMILIES: dict[str, Callable[[int], bytes]] = {
    "references": lambda n: mail(headers=b"References: " + b" ".join(b"<%d@x>" % i for i in range(n)) + b"\r\n"),
    "references_repeated": lambda n: mail(headers=b"References: " + b"<same@x> " * n + b"\r\n"),
    "subject_ticket_refs": lambda n: mail(subject=b" ".join(b"PRIV-2026-%05d" % i for i in range(n))),
    "subject_reply_prefixes": lambda n: mail(subject=b"Re: " * n + b"x"),
    "subject_encoded_words": lambda n: mail(subject=b"=?utf-8?q?a?= " * n),
    "param_semicolons": lambda n: mail(content_type=b'text/plain; name="' + b";" * n + b'"'),
    "param_many": lambda n: mail(content_type=b"text/plain" + b"; a=b" * n),
    "from_addresses": lambda n: mail(sender=b", ".join(b"a%d@example.com" % i for i in range(n))),
    "from_long_domain": lambda n: mail(sender=b"a@" + b"a." * n + b"!"),
    "message_id_angles": lambda n: mail(headers=b"In-Reply-To: " + b"<" * n + b"\r\n"),
    "date_junk": lambda n: mail(headers=b"X-Date: 1\r\n").replace(b"Date: Mon", b"Date: " + b"1 " * n + b"Mon"),
    "many_headers": lambda n: mail(headers=b"X-A: b\r\n" * n),
    "boundaries": lambda n: mail(content_type=b'multipart/mixed; boundary="b"', body=b"--b\r\n\r\n" * n),
    "plain_blank_lines": lambda n: mail(body=b"\n" * n),
    "plain_quoted_spaces": lambda n: mail(body=b" " * n + b"> x\n"),
    "html_background": _html(b"background="),
    "html_background_quoted": _html(b'background="'),
    "html_css_url_spaces": lambda n: mail(content_type=b"text/html", body=b"<p style='a:url(" + b" " * n + b"x'>"),
    "html_comment_open": _html(b"<!--"),
    "html_tag_open": _html(b"<a"),
    "html_tag_attribute": _html(b"<a "),
    "html_quote_attribute": _html(b"<a b='"),
    "html_declaration_open": _html(b"<!"),
    "html_script_open": lambda n: mail(content_type=b"text/html", body=b"<script>" + b"</scrip" * n),
    "html_ampersand": _html(b"& "),
    "html_unknown_entity": _html(b"&zz;"),
    "html_char_ref_open": _html(b"&#"),
    # Past the nesting cap (1,500 unclosed): below it html5ever is quadratic, but bounded by the cap.
    "html_unclosed_div": lambda n: mail(content_type=b"text/html", body=b"<div>" * (1600 + 8 * n)),
    "html_table_formatting": _html(b"<table><b>"),
}
# Fragments the fuzz test repeats in random places.
FRAGMENTS = [b"background=", b'background="', b"url( ", b"<!--", b"<a", b"<a ", b"<a b='", b"&", b"&#", b"&zz;",
             b"<div>", b"<table><b>", b";", b'";', b"<1@x> ", b"PRIV-2026-0001 ", b"Re: ", b"=?utf-8?q?a?= ", b"\n",
             b"(", b"<", b"a.", b" "]
