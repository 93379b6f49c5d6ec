"""Issue 12.7: invalid UTF-8 in a form post or query string is a clear 400; nothing is silently altered."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import pytest
from django.core import mail
from django.test import Client

from config.strict_utf8 import query_is_utf8
from helpdesk.models import Message, Ticket, User
from tests.api.conftest import token_client
from tests.public.conftest import form_data

pytestmark = pytest.mark.django_db
FORM = "application/x-www-form-urlencoded"


def _urlencoded(**overrides: Any) -> bytes:
    return urlencode(form_data(**overrides)).encode()


def _refused(response: Any, words: str) -> None:
    assert response.status_code == 400, response.status_code
    assert words in response.content.decode()
    assert not Ticket.objects.exists() and not mail.outbox


@pytest.mark.parametrize("prefix, words", [("/en", "not valid UTF-8"), ("", "UTF-8")])
def test_percent_escaped_broken_bytes_in_the_contact_form(client: Client, prefix: str, words: str) -> None:
    body = _urlencoded(name="PLACEHOLDER").replace(b"PLACEHOLDER", b"%ED%99%8D%FF")  # 홍 + a stray byte
    _refused(client.post(f"{prefix}/", body, content_type=FORM), words)


def test_korean_page_is_korean(client: Client) -> None:
    body = _urlencoded(name="PLACEHOLDER").replace(b"PLACEHOLDER", b"%C0%AF")  # overlong '/', invalid
    _refused(client.post("/", body, content_type=FORM), "저장하지 않았습니다")


def test_raw_invalid_bytes_in_the_contact_form(client: Client) -> None:
    body = _urlencoded(name="PLACEHOLDER").replace(b"PLACEHOLDER", "홍길동".encode("euc-kr"))
    _refused(client.post("/en/", body, content_type=FORM), "not valid UTF-8")


def test_multipart_text_field_with_broken_bytes(client: Client) -> None:
    boundary = "----pd-boundary"
    parts = []
    for name, value in form_data().items():
        encoded = value.encode() if name != "description" else "삭제 요청".encode("cp949")
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
                     + encoded + b"\r\n")
    parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="attachments"; filename="a.bin"\r\n'
                 f"Content-Type: application/octet-stream\r\n\r\n".encode() + b"\xff\xfe\x00binary\r\n")
    body = b"".join(parts) + f"--{boundary}--\r\n".encode()
    _refused(client.post("/en/", body, content_type=f"multipart/form-data; boundary={boundary}"), "not valid UTF-8")


def test_multipart_with_valid_korean_and_binary_file_is_taken(client: Client,
                                                             django_capture_on_commit_callbacks: Any) -> None:
    """Binary file contents are not text: only the text fields are checked."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    png = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4"
           b"\x89\x00\x00\x00\rIDATx\x9cc\xf8\xff\xff?\x00\x05\xfe\x02\xfe\xa7\x35\x81\x84\x00\x00\x00\x00IEND\xaeB`\x82")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/en/", {**form_data(name="홍길동"),
                                         "attachments": SimpleUploadedFile("p.png", png, "image/png")})
    assert response.status_code == 302, response.content[:500]
    assert Ticket.objects.get().requester.name == "홍길동"


def test_desk_forms_and_queries(client: Client, make_ticket: Any, admin_user: User) -> None:
    ticket = make_ticket()
    client.force_login(admin_user)
    notes_before = Message.objects.count()
    response = client.post(f"/en/desk/tickets/{ticket.reference}/note/", b"body_text=%FF%FE", content_type=FORM)
    assert response.status_code == 400 and "not valid UTF-8" in response.content.decode()
    assert Message.objects.count() == notes_before
    assert client.get("/en/desk/?q=%FF").status_code == 400
    assert client.get("/en/desk/?q=%ED%99%8D").status_code == 200  # 홍, valid


@pytest.mark.parametrize("language, words", [("en", "not valid UTF-8"), ("ko", "UTF-8 텍스트가 아니어서")])
def test_api_answers_in_its_error_shape(admin_user: User, language: str, words: str) -> None:
    response = token_client(admin_user).get("/api/v1/tickets/?search=%FF", HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid_encoding" and words in error["message"]


def test_the_check() -> None:
    assert query_is_utf8(b"a=%ED%99%8D&b=x+y&c=")
    assert not query_is_utf8(b"a=%FF")
    assert not query_is_utf8("a=홍길동".encode("euc-kr"))
    assert not query_is_utf8(b"a=%ED%99")  # truncated sequence


def test_a_base64_text_field_with_broken_bytes_is_refused(client: Client) -> None:
    """Issue 25.12: Django decodes a field's base64 transfer encoding itself and stored U+FFFD."""
    import base64

    boundary = "----pd-boundary"
    parts = []
    for name, value in form_data().items():
        if name == "description":
            head = f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n' \
                   "Content-Transfer-Encoding: base64\r\n\r\n"
            parts.append(head.encode() + base64.b64encode("삭제 요청".encode() + b"\xff\xfe") + b"\r\n")
        else:
            parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
                         + value.encode() + b"\r\n")
    body = b"".join(parts) + f"--{boundary}--\r\n".encode()
    _refused(client.post("/en/", body, content_type=f"multipart/form-data; boundary={boundary}"), "not valid UTF-8")


@pytest.mark.parametrize("charset", ["latin-1", "iso-8859-1", "euc-kr", "x-unknown-charset"])
def test_a_form_post_in_another_charset_is_a_clear_415(client: Client, settings: Any, charset: str) -> None:
    """Issue 25.12: Django decoded the form in the declared charset; an unknown one was a 500."""
    settings.DEBUG = False
    client.raise_request_exception = False
    # generic(): the body as given (post() would encode it in the declared charset itself)
    response = client.generic("POST", "/en/", _urlencoded(), content_type=f"{FORM}; charset={charset}")
    assert response.status_code == 415
    assert "accepts UTF-8 only" in response.content.decode() and charset in response.content.decode()
    assert not Ticket.objects.exists()
    api = token_client(User.objects.create_user("api-user", password="x"))
    answer = api.generic("POST", "/api/v1/tickets/", _urlencoded(), content_type=f"{FORM}; charset={charset}")
    assert answer.status_code == 415 and answer.json()["error"]["code"] == "unsupported_charset"


def test_a_form_post_declaring_utf8_is_taken(client: Client, django_capture_on_commit_callbacks: Any) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/en/", _urlencoded(name="홍길동"), content_type=f"{FORM}; charset=UTF-8")
    assert response.status_code == 302
