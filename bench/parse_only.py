"""Parse-only throughput of helpdesk.intake.email.parse_email on a typical ~5 KB message.

Usage: python bench/parse_only.py [seconds]
"""

from __future__ import annotations

import base64
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from helpdesk.intake.email import parse_email


def typical_message() -> bytes:
    """multipart/mixed(alternative(text/plain QP-ish base64, text/html), small PDF), ~5 KB."""
    text = (
        "안녕하세요. 제 개인정보 열람을 요청합니다. 회원 가입 시 제공한 정보와 이용 내역을 확인하고 싶습니다.\n" * 12
    ).encode()
    html = ("<p>안녕하세요. 제 개인정보 <b>열람</b>을 요청합니다.</p>" * 12).encode()
    pdf = b"%PDF-1.4\n" + b"0" * 600 + b"\n%%EOF\n"

    def b64(data: bytes) -> bytes:
        enc = base64.b64encode(data)
        return b"\n".join(enc[i : i + 76] for i in range(0, len(enc), 76))

    subject = base64.b64encode("개인정보 열람 요청드립니다".encode()).decode()
    return (
        b"Return-Path: <hong@example.com>\n"
        b"Received: from mx.example.com by mx.micube.co.kr; Mon, 05 Jan 2026 09:00:01 +0900\n"
        b"From: =?UTF-8?B?7ZmN6ri464+Z?= <hong@example.com>\n"
        b"To: micube@micube.co.kr\nCc: other@example.com\n"
        + f"Subject: =?UTF-8?B?{subject}?=\n".encode()
        + b"Date: Mon, 05 Jan 2026 09:00:00 +0900\nMessage-ID: <bench.1@example.com>\n"
        b"MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=outer\n\n"
        b"--outer\nContent-Type: multipart/alternative; boundary=alt\n\n"
        b"--alt\nContent-Type: text/plain; charset=UTF-8\nContent-Transfer-Encoding: base64\n\n"
        + b64(text)
        + b"\n--alt\nContent-Type: text/html; charset=UTF-8\nContent-Transfer-Encoding: base64\n\n"
        + b64(html)
        + b"\n--alt--\n--outer\nContent-Type: application/pdf\n"
        b'Content-Disposition: attachment; filename="id.pdf"\nContent-Transfer-Encoding: base64\n\n'
        + b64(pdf)
        + b"\n--outer--\n"
    )


def main() -> None:
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 3.0
    raw = typical_message()
    parse_email(raw)
    count = 0
    start = time.perf_counter()
    cpu_start = time.process_time()
    while time.perf_counter() - start < seconds:
        parse_email(raw)
        count += 1
    elapsed = time.perf_counter() - start
    cpu = time.process_time() - cpu_start
    print(f"message size: {len(raw)} bytes")
    print(f"{count / elapsed:.0f} msgs/s wall ({elapsed / count * 1e6:.0f} µs/msg)")
    # CPU-time rate is what one free core achieves; wall rate suffers on a busy machine.
    print(f"{count / cpu:.0f} msgs/s per CPU second ({cpu / count * 1e6:.0f} µs/msg)")


if __name__ == "__main__":
    main()
