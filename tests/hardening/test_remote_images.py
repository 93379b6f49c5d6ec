"""Issue 12.2: remote images in mail HTML are blocked at intake; the desk says so, like a mail client."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from helpdesk.intake.email.htmltext import sanitize_html
from helpdesk.models import Attachment, Ticket, User

pytestmark = pytest.mark.django_db
CORPUS = Path(__file__).resolve().parents[1] / "fixtures" / "email"
REMOTE_IMAGE_BLOCKED = "cid:remote-image-blocked.privacy-desk.invalid"  # what the stored HTML records
NOTE = {"en": "Remote images blocked", "ko": "외부 이미지 차단됨"}
PNG_B64 = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGP4z8AAAAMBAQDJ/pLv\r\nAAAAAElFTkSuQmCC"

TRACKING_HTML = (
    '<p>개인정보 삭제를 요청합니다.</p>'
    '<img src="http://tracker.example/p.gif?u=42" width="1" height="1" alt="">'
    '<img src="HTTPS://tracker.example/logo.png" alt="logo">'
    '<img src="//cdn.tracker.example/x.png">'
    '<img src="cid:logo@example.com" alt="inline logo">'
    '<img srcset="http://tracker.example/2x.png 2x" src="cid:logo@example.com">'
    '<div style="background-image:url(\'https://tracker.example/bg.png\')">배경</div>'
    '<a href="https://example.com/account">내 계정</a>'
)


def _mail(html: str, message_id: str) -> bytes:
    return (
        "From: 김민지 <minji@example.com>\r\nTo: micube@micube.co.kr\r\nSubject: 삭제 요청\r\n"
        f"Message-ID: <{message_id}>\r\nDate: Mon, 02 Mar 2026 10:00:00 +0900\r\nMIME-Version: 1.0\r\n"
        'Content-Type: multipart/related; boundary="rel"; type="text/html"\r\n\r\n'
        "--rel\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"
        f"{html}\r\n"
        "--rel\r\nContent-Type: image/png; name=\"logo.png\"\r\nContent-Transfer-Encoding: base64\r\n"
        "Content-ID: <logo@example.com>\r\nContent-Disposition: inline; filename=\"logo.png\"\r\n\r\n"
        f"{PNG_B64}\r\n--rel--\r\n"
    ).encode()


@pytest.fixture
def tracked(ingest: Callable[..., list[dict[str, Any]]]) -> Ticket:
    [line] = ingest(_mail(TRACKING_HTML, "tracked-1@example.com"))
    assert line["outcome"] == "new_ticket"
    return Ticket.objects.get(reference=line["ticket"])


def test_intake_stores_no_remote_url_and_keeps_inline_images(tracked: Ticket) -> None:
    stored = tracked.messages.get(direction="inbound")
    html = stored.body_html
    assert "tracker.example" not in html
    assert html.count(REMOTE_IMAGE_BLOCKED) == 3  # http, HTTPS and protocol-relative <img>
    assert html.count('src="cid:logo@example.com"') == 2  # the inline part stays referenced
    assert "srcset" not in html and "url(" not in html and "style=" not in html
    assert 'href="https://example.com/account"' in html  # links are not loaded, so they stay
    assert Attachment.objects.filter(message=stored, content_id="logo@example.com", is_inline=True).exists()


@pytest.mark.parametrize("prefix, language", [("", "ko"), ("/en", "en")])
def test_the_ticket_page_says_remote_images_were_blocked(tracked: Ticket, admin_user: User, client: Client,
                                                         prefix: str, language: str) -> None:
    client.force_login(admin_user)
    page = client.get(f"{prefix}/desk/tickets/{tracked.reference}/").content.decode()
    assert NOTE[language] in page
    assert "tracker.example" not in page and REMOTE_IMAGE_BLOCKED not in page
    assert "/static/desk/remote-image-blocked.svg" in page  # the placeholder picture, from the desk itself
    assert "logo.png" in page  # the inline image, listed as an attachment


def test_no_note_for_mail_without_remote_content(ingest: Callable[..., list[dict[str, Any]]], admin_user: User,
                                                 client: Client) -> None:
    [line] = ingest((CORPUS / "017_inline_image_cid.eml").read_bytes())
    ticket = Ticket.objects.get(reference=line["ticket"])
    assert 'src="cid:shot1@example.com"' in ticket.messages.get(direction="inbound").body_html
    client.force_login(admin_user)
    page = client.get(f"/en/desk/tickets/{ticket.reference}/").content.decode()
    assert NOTE["en"] not in page


@pytest.mark.parametrize("html", [
    '<p style="background:url(http://t.example/a.png)">x</p>',
    '<table background="https://t.example/a.png"><tr><td>x</td></tr></table>',
    '<video poster="//t.example/p.jpg"></video>',
])
def test_remote_content_outside_img_is_dropped_and_noted(html: str) -> None:
    cleaned = sanitize_html(html)
    assert "t.example" not in cleaned and REMOTE_IMAGE_BLOCKED in cleaned


def test_relative_and_data_sources_are_not_fetched_either() -> None:
    cleaned = sanitize_html('<img src="pixel.gif"><img src="data:image/png;base64,AAAA"><img src="cid:a@b">')
    assert "pixel.gif" not in cleaned and "data:" not in cleaned and 'src="cid:a@b"' in cleaned
