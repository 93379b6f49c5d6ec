"""Realistic generated mail for the intake benchmark and the concurrency/IMAP tests.

Deterministic for a seed: a Korean share (UTF-8 and EUC-KR, RFC 2047 subjects), multipart
alternative bodies, some PDF/PNG attachments, and ~30% replies whose In-Reply-To/References name an
earlier generated message (so they thread to its ticket).
"""

from __future__ import annotations

import base64
import random
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime

KST = timezone(timedelta(hours=9))
KOREAN_NAMES = ["김민준", "이서연", "박지호", "최수아", "정예준", "강하은", "조도윤", "윤지우"]
ENGLISH_NAMES = ["Alice Kim", "Brian Lee", "Chloe Park", "Daniel Choi", "Emma Jung", "Frank Yoon"]
KOREAN_REQUESTS = [
    ("개인정보 열람 요청", "안녕하세요. 귀사가 보유한 제 개인정보의 열람을 요청합니다. 처리 내역도 알려 주세요."),
    ("개인정보 삭제 요청", "회원 가입 시 제공한 제 개인정보를 모두 삭제해 주시기 바랍니다."),
    ("마케팅 수신 거부", "광고 문자와 이메일 수신을 거부합니다. 동의를 철회합니다."),
    ("회원 탈퇴 요청", "더 이상 서비스를 이용하지 않으므로 회원 탈퇴를 요청드립니다."),
    ("개인정보 정정 요청", "제 주소가 잘못 등록되어 있습니다. 정정 부탁드립니다."),
    ("개인정보 처리정지 요청", "제 개인정보의 처리정지를 요청합니다."),
]
ENGLISH_REQUESTS = [
    ("Access request", "Hello, please send me a copy of all personal data you hold about me."),
    ("Please delete my data", "I would like you to delete my personal information from your systems."),
    ("Unsubscribe", "Please unsubscribe me from all marketing e-mail."),
    ("Question about your privacy policy", "I have a question about how long you keep my data."),
]
PDF = b"%PDF-1.4\n1 0 obj<< /Type /Catalog >>endobj\ntrailer<< /Root 1 0 R >>\n%%EOF\n" + b"0" * 3000
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGP4z8AAAAMBAQDJ/pLvAAAAAElFTkSuQmCC"
)


def _b64(data: bytes) -> str:
    enc = base64.b64encode(data).decode("ascii")
    return "\n".join(enc[i : i + 76] for i in range(0, len(enc), 76))


def _ew(text: str, charset: str = "utf-8") -> str:
    codec = "cp949" if charset == "euc-kr" else charset
    return f"=?{charset}?B?{base64.b64encode(text.encode(codec)).decode('ascii')}?="


def generate(count: int = 2000, *, seed: int = 3, reply_share: float = 0.3, korean_share: float = 0.5,
             run: str = "bench") -> list[bytes]:
    """``count`` raw messages; message i's Message-ID is ``<{run}.{i}@mail.example.com>``."""
    rng = random.Random(seed)
    start = datetime.now(KST) - timedelta(hours=2)
    messages: list[bytes] = []
    senders: list[tuple[str, str, str, str]] = []  # (name, address, subject, message_id) of originals
    for i in range(count):
        message_id = f"{run}.{i}@mail.example.com"
        date = format_datetime(start + timedelta(seconds=i))
        korean = rng.random() < korean_share
        threading = ""
        if senders and rng.random() < reply_share:
            name, address, subject, parent = rng.choice(senders)
            subject = ("회신: " if korean else "Re: ") + subject
            body = ("추가로 확인 부탁드립니다. 언제쯤 처리될까요?\n\n> 이전 메일\n" if korean
                    else "Any news on my request?\n\n> earlier mail\n")
            threading = f"In-Reply-To: <{parent}>\nReferences: <{parent}>\n"
        else:
            if korean:
                name = rng.choice(KOREAN_NAMES)
                subject, body = rng.choice(KOREAN_REQUESTS)
            else:
                name = rng.choice(ENGLISH_NAMES)
                subject, body = rng.choice(ENGLISH_REQUESTS)
            address = f"user{i}@example.{'kr' if korean else 'com'}"
            senders.append((name, address, subject, message_id))
            body += "\n\n" + ("감사합니다.\n" if korean else "Thank you.\n") + name + "\n"
        charset = "euc-kr" if korean and rng.random() < 0.4 else "utf-8"
        codec = "cp949" if charset == "euc-kr" else "utf-8"
        head = (
            f"Return-Path: <{address}>\n"
            f"Received: from mx{i % 7}.example.net by mx.micube.co.kr; {date}\n"
            f"From: {name if name.isascii() else _ew(name, charset)} <{address}>\n"
            f"To: =?utf-8?B?{base64.b64encode('개인정보 보호 담당자'.encode()).decode()}?= <micube@micube.co.kr>\n"
            f"Subject: {subject if subject.isascii() else _ew(subject, charset)}\n"
            f"Date: {date}\nMessage-ID: <{message_id}>\n{threading}MIME-Version: 1.0\n"
        )
        html = "<html><body><p>" + body.replace("\n", "<br>") + "</p><script>alert(1)</script></body></html>"
        alternative = (
            'Content-Type: multipart/alternative; boundary="alt"\n\n'
            f'--alt\nContent-Type: text/plain; charset="{charset}"\nContent-Transfer-Encoding: base64\n\n'
            f"{_b64(body.encode(codec))}\n"
            f'--alt\nContent-Type: text/html; charset="{charset}"\nContent-Transfer-Encoding: base64\n\n'
            f"{_b64(html.encode(codec))}\n--alt--\n"
        )
        roll = rng.random()
        if roll < 0.2:
            attachment, filename, ctype = (PDF, "신분증 사본.pdf", "application/pdf") if roll < 0.12 else (
                PNG, "screenshot.png", "image/png")
            raw = (
                head + 'Content-Type: multipart/mixed; boundary="mix"\n\n--mix\n' + alternative
                + f"--mix\nContent-Type: {ctype}; name=\"{_ew(filename)}\"\n"
                f"Content-Disposition: attachment; filename*=UTF-8''{_pct(filename)}\n"
                f"Content-Transfer-Encoding: base64\n\n{_b64(attachment)}\n--mix--\n"
            )
        elif roll < 0.7:
            raw = head + alternative
        else:
            raw = (head + f'Content-Type: text/plain; charset="{charset}"\nContent-Transfer-Encoding: base64\n\n'
                   f"{_b64(body.encode(codec))}\n")
        messages.append(raw.encode("ascii"))
    return messages


def _pct(text: str) -> str:
    from urllib.parse import quote

    return quote(text.encode("utf-8"), safe="")
