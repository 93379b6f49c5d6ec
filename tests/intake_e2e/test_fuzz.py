"""Issue 12: property-based fuzzing of mail intake (hypothesis).

Random bytes, and real mails from ``tests/fixtures/email`` mutated (bytes flipped, cut, inserted,
headers added or replaced, Message-IDs renewed, messages repeated), go through ``manage.py
ingest_email`` in batches. Whatever arrives:

* no exception escapes and the exit status is 0 (``SystemExit`` would carry 64 or 75);
* every message gets exactly one JSON line, in order, with one of the five outcomes;
* nothing is lost: new tickets, quarantine rows and stored inbound messages grow by exactly what the
  lines say, and every ticket a line names exists;
* what is stored is safe: one-line values (subjects, names) carry no line break or control
  character, and stored HTML loads nothing remote;
* pathological repetition (one fragment thousands of times in a header, a parameter or a body,
  issue 25.1) is filed like any other mail.

Examples: ``PD_FUZZ_EXAMPLES`` (default 60, the bounded CI run); e.g. ``PD_FUZZ_EXAMPLES=2000`` for
a long run on demand. In CI (``CI=true``) the examples are derandomized, so a run is reproducible.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import uuid
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from helpdesk.models import Direction, Message, Quarantine, Ticket
from tests.intake_e2e.conftest import CORPUS, DeskDatabase, manage
from tests.support import pathological

pytestmark = [pytest.mark.django_db, pytest.mark.slow]  # minutes: every example is a real ingest_email run

OUTCOMES = {"new_ticket", "follow_up", "duplicate", "ignored_auto", "quarantined"}
SEEDS = [path.read_bytes() for path in sorted(CORPUS.glob("*.eml"))]
EXAMPLES = int(os.environ.get("PD_FUZZ_EXAMPLES", "60"))
FUZZ_SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,  # timing belongs to bench/, never to a test
    database=None,  # no .hypothesis/ folder in the work tree; failures print their reproduction blob
    print_blob=True,
    derandomize=os.environ.get("CI", "").lower() == "true",
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)
HEADER_NAMES = ["Subject", "From", "To", "Message-ID", "In-Reply-To", "References", "Content-Type",
                "Content-Transfer-Encoding", "Content-Disposition", "Auto-Submitted", "Precedence", "Date",
                "Reply-To", "MIME-Version", "X-Autoreply", "List-Id", "Return-Path"]
# A line break or control character in a stored one-line value (issue 12.3), and a remote image
# source left in stored HTML (issue 12.2).
ONE_LINE_BREAKERS = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
REMOTE_SOURCE = re.compile(r"""\b(?:src|srcset|background|poster)\s*=\s*["']?\s*(?:[a-z]+:)?//|url\(""", re.I)
HOSTILE_LINE = st.sampled_from(["Evil\r\nBcc: x@y.z", "a\x85b\x9bc\u2028d\u2029e", "=?utf-8?q?x=C2=9By=E2=80=A8z?=",
                                "=?utf-8?b?" + "7ZWcDQrqta0=" + "?=", "tab\there", "\x1b[31mred\x7f"])
HEADER_VALUES = st.one_of(
    st.text(max_size=80),
    st.sampled_from(["=?utf-8?b?7ZWc6rWt7Ja0?=", "=?euc-kr?q?=C7=D1=B1=B9?=", "=?utf-8?q?Evil=0D=0ABcc:_x@y.z?=",
                     "multipart/mixed; boundary=", 'multipart/alternative; boundary="x"', "text/html; charset=bogus",
                     "base64", "quoted-printable", "auto-replied", "bulk", "<>", "<a@b>", "[PRIV-2026-0001] 회신",
                     '=WEBSERVICE("http://evil.example/")', "\u2028", "\x00\x1b[31m", "a\x85b\x9bc",
                     "=?utf-8?q?x=C2=9By=E2=80=A8z?="]),
)
_MESSAGE_ID = re.compile(rb"^Message-ID:[^\n]*\n", re.I | re.M)


@st.composite
def header_line(draw: st.DrawFn) -> bytes:
    name = draw(st.sampled_from(HEADER_NAMES))
    value = draw(HEADER_VALUES).encode("utf-8", "surrogatepass")
    return name.encode() + b": " + value + draw(st.sampled_from([b"\r\n", b"\n"]))


@st.composite
def mutated_mail(draw: st.DrawFn) -> bytes:
    raw = bytearray(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(0, 4))):
        where = draw(st.integers(0, max(len(raw) - 1, 0)))
        operation = draw(st.sampled_from(["flip", "cut", "insert", "delete", "header", "new_id", "drop_id",
                                          "subject"]))
        if operation == "flip" and raw:
            raw[where] = draw(st.integers(0, 255))
        elif operation == "cut":
            del raw[where:]
        elif operation == "insert":
            raw[where:where] = draw(st.binary(max_size=64))
        elif operation == "delete":
            del raw[where:where + draw(st.integers(1, 200))]
        elif operation == "header":
            raw[0:0] = draw(header_line())
        elif operation == "new_id":
            fresh = f"Message-ID: <fuzz-{draw(st.uuids()).hex}@example.com>\r\n".encode()
            found = _MESSAGE_ID.search(raw)
            raw = raw[:found.start()] + fresh + raw[found.end():] if found else bytearray(fresh) + raw
        elif operation == "subject":  # a hostile one-line value where it is read first
            value = draw(st.one_of(HOSTILE_LINE, st.text(max_size=40))).encode("utf-8", "surrogatepass")
            raw[0:0] = draw(st.sampled_from([b"Subject: ", b"From: ", b"From: x@example.com\r\nSubject: "])) + value \
                + (b" <fuzz@example.com>" if draw(st.booleans()) else b"") + b"\r\n"
        elif operation == "drop_id":
            raw = bytearray(_MESSAGE_ID.sub(b"", bytes(raw)))
    return bytes(raw)


@st.composite
def made_up_mail(draw: st.DrawFn) -> bytes:
    headers = b"".join(draw(st.lists(header_line(), max_size=8)))
    sender = draw(st.sampled_from([b"From: a@example.com\r\n", b"From: =?utf-8?b?6rmA?= <kim@example.com>\r\n", b""]))
    body = draw(st.one_of(st.binary(max_size=300), st.text(max_size=300).map(lambda t: t.encode("utf-8", "replace"))))
    return sender + headers + b"\r\n" + body


# Pathological repetition (issue 25.1): one fragment repeated thousands of times where a stage once
# rescanned it per occurrence (References, subject, header parameters, From, HTML and plain bodies).
# The whole pipeline must still give one outcome each; tests/intake/test_linear_work.py counts the work.
_REPEAT_PLACES = {
    "references": lambda chunk: pathological.mail(headers=b"References: " + chunk + b"\r\n"),
    "subject": lambda chunk: pathological.mail(subject=chunk),
    "parameter": lambda chunk: pathological.mail(content_type=b'text/plain; name="' + chunk + b'"'),
    "from": lambda chunk: pathological.mail(sender=b"a@example.com " + chunk),
    "html": lambda chunk: pathological.mail(content_type=b"text/html; charset=utf-8", body=chunk),
    "plain": lambda chunk: pathological.mail(body=chunk),
}


@st.composite
def pathological_mail(draw: st.DrawFn) -> bytes:
    fragment = draw(st.one_of(st.sampled_from(pathological.FRAGMENTS), st.binary(min_size=1, max_size=12)))
    chunk = fragment * draw(st.integers(1_000, 20_000 // len(fragment) + 1_000))
    mail = _REPEAT_PLACES[draw(st.sampled_from(sorted(_REPEAT_PLACES)))](chunk.replace(b"\r\n", b" "))
    return mail.replace(b"<probe@example.com>", f"<fuzz-{draw(st.uuids()).hex}@example.com>".encode())


MAIL = st.one_of(mutated_mail(), made_up_mail(), st.binary(max_size=500), st.sampled_from(SEEDS), pathological_mail())
BATCH = st.lists(MAIL, min_size=1, max_size=6).flatmap(
    # Sometimes a message arrives twice in the same batch (MTA retries): duplicates must hold too.
    lambda mails: st.sampled_from([mails, [*mails, mails[0]]]))


def _counts() -> dict[str, int]:
    return {"tickets": Ticket.objects.count(), "quarantine": Quarantine.objects.count(),
            "inbound": Message.objects.filter(direction=Direction.INBOUND).count()}


def check_lines(lines: list[dict[str, Any]], sources: list[str]) -> Counter[str]:
    assert [line["source"] for line in lines] == sources, "one line per message, in order"
    for line in lines:
        assert set(line) == {"source", "outcome", "ticket", "reason"}
        assert line["outcome"] in OUTCOMES
        if line["outcome"] == "quarantined":
            assert line["ticket"] is None and line["reason"]
        if line["outcome"] in ("new_ticket", "follow_up"):
            assert str(line["ticket"]).startswith("PRIV-")
    return Counter(line["outcome"] for line in lines)


def quarantine_keys(lines: list[dict[str, Any]], mails: list[bytes]) -> set[str]:
    """Quarantine keeps the raw bytes once per content (sha256): the same bytes twice are one row.
    Automatic mail that continued no ticket is kept there too, as "ignored" (issue 29: never dropped)."""
    return {"sha256:" + hashlib.sha256(raw).hexdigest()
            for line, raw in zip(lines, mails, strict=True)
            if line["outcome"] == "quarantined" or (line["outcome"] == "ignored_auto" and not line["ticket"])}


def expected_inbound(lines: list[dict[str, Any]]) -> int:
    """Stored inbound messages: a new ticket's first mail, a follow-up, an automatic mail kept on its ticket."""
    return sum(1 for line in lines if line["outcome"] in ("new_ticket", "follow_up")
               or (line["outcome"] == "ignored_auto" and line["ticket"]))


@pytest.fixture
def run_ingest(tmp_path: Path, capsys: Any, django_capture_on_commit_callbacks: Any,
               ) -> Callable[[list[bytes]], list[dict[str, Any]]]:
    counter = iter(range(10**9))

    def run(mails: list[bytes]) -> list[dict[str, Any]]:
        paths = []
        for raw in mails:
            path = tmp_path / f"m{next(counter)}.eml"
            path.write_bytes(raw)
            paths.append(str(path))
        capsys.readouterr()
        try:
            with django_capture_on_commit_callbacks(execute=True):
                call_command("ingest_email", *paths)
        except SystemExit as exc:  # 64 or 75: the contract says neither may happen for readable files
            pytest.fail(f"ingest_email exited {exc.code}: {capsys.readouterr().err[-2000:]}")
        lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.strip()]
        check_lines(lines, paths)
        return lines

    return run


@FUZZ_SETTINGS
@given(batch=BATCH)
def test_every_message_ends_as_exactly_one_outcome(
        run_ingest: Callable[[list[bytes]], list[dict[str, Any]]], batch: list[bytes]) -> None:
    before = _counts()
    known = set(Quarantine.objects.values_list("dedupe_key", flat=True))
    last_message = Message.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    lines = run_ingest(batch)
    outcomes = Counter(line["outcome"] for line in lines)
    after = _counts()
    assert after["tickets"] - before["tickets"] == outcomes["new_ticket"]
    kept = quarantine_keys(lines, batch)
    assert Quarantine.objects.filter(dedupe_key__in=kept).count() == len(kept)  # every quarantined mail is kept
    assert after["quarantine"] - before["quarantine"] == len(kept - known)
    assert after["inbound"] - before["inbound"] == expected_inbound(lines)
    named = {line["ticket"] for line in lines if line["ticket"]}
    assert Ticket.objects.filter(reference__in=named).count() == len(named)
    for message in Message.objects.filter(pk__gt=last_message, direction=Direction.INBOUND).select_related(
            "ticket__requester"):
        for value in (message.subject, message.sender_name, message.ticket.subject, message.ticket.requester.name):
            assert not ONE_LINE_BREAKERS.search(value), value
        assert not REMOTE_SOURCE.search(message.body_html), message.body_html


@settings(FUZZ_SETTINGS, max_examples=max(3, EXAMPLES // 20))
@given(batch=BATCH)
def test_the_real_command_keeps_its_exit_status_contract(desk_database: DeskDatabase, tmp_path: Path,
                                                         batch: list[bytes]) -> None:
    """The same through a real ``manage.py ingest_email`` process (its own database copy)."""
    folder = tmp_path / f"batch-{uuid.uuid4().hex}"
    folder.mkdir()
    paths = []
    for i, raw in enumerate(batch):
        (folder / f"{i}.eml").write_bytes(raw)
        paths.append(str(folder / f"{i}.eml"))
    tickets = desk_database.scalar("SELECT COUNT(*) FROM helpdesk_ticket")
    known = {row[0] for row in desk_database.query("SELECT dedupe_key FROM helpdesk_quarantine")}
    result = manage("ingest_email", *paths, env=desk_database.env())
    assert result.returncode == 0, result.stderr.decode(errors="replace")[-2000:]
    assert b"Traceback" not in result.stderr
    lines = [json.loads(line) for line in result.stdout.decode().splitlines() if line.strip()]
    outcomes = check_lines(lines, paths)
    assert desk_database.scalar("SELECT COUNT(*) FROM helpdesk_ticket") - tickets == outcomes["new_ticket"]
    stored = {row[0] for row in desk_database.query("SELECT dedupe_key FROM helpdesk_quarantine")}
    kept = quarantine_keys(lines, batch)
    assert kept <= stored and len(stored - known) == len(kept - known)
