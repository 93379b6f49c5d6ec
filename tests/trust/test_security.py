"""Security suite: every URL × role, stored XSS through mail and the form, path traversal, oversized
requests, CSRF on every POST, and the production settings."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from email.headerregistry import Address
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from helpdesk.models import Attachment, Message, Ticket

pytestmark = pytest.mark.django_db

# Pages anyone may open (requester side, sign-in, health); the API's schema is staff only (issue 25.15).
PUBLIC_PREFIXES = ("/desk/login/", "/admin/login/", "/healthz/", "/i18n/")
STAFF_PREFIXES = ("/desk/", "/admin/", "/api/v1/", "/account/")


def _walk(patterns: list[URLPattern | URLResolver], prefix: str = "", namespace: str = "") -> list[tuple[str, str]]:
    """(route template, view name) for every pattern, resolvers expanded."""
    found: list[tuple[str, str]] = []
    for pattern in patterns:
        route = str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            ns = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
            found += _walk(pattern.url_patterns, prefix + route, ns)
        else:
            found.append((prefix + route, f"{namespace}{pattern.name or ''}"))
    return found


def _values(ticket: Ticket, token: str, message: Message, attachment: Attachment) -> dict[str, str]:
    return {"reference": ticket.reference, "token": token, "pk": str(attachment.pk), "object_id": str(ticket.pk),
            "id": str(ticket.pk), "slug": "mine", "name": "verify", "action": "discard", "app_label": "helpdesk",
            "content_type_id": "1", "uidb64": "x", "format": "json", "path": "x", "url": "x"}


def _concrete(route: str, values: dict[str, str]) -> str | None:
    """Turn a route ("tickets/<str:reference>/") or simple regex into a path; None when we cannot."""
    route = route.replace("^", "").replace("$", "").replace("\\Z", "")
    route = re.sub(r"<(?:\w+:)?(\w+)>", lambda m: values.get(m.group(1), "1"), route)
    route = re.sub(r"\(\?P<(\w+)>[^)]*\)", lambda m: values.get(m.group(1), "1"), route)
    if re.search(r"[()\[\]\\*+?|]", route):
        return None
    return "/" + route


@pytest.fixture
def world(make_ticket: Any, admin_user: Any, manager: Any) -> dict[str, Any]:
    from helpdesk import services

    ticket = make_ticket(email="victim@example.com")
    services.assign_ticket(ticket=ticket, assignee=admin_user, actor=manager)
    message = ticket.messages.first()
    attachment = Attachment.objects.create(message=message, filename="a.txt", size=1, content_type="text/plain",
                                           sha256="0" * 64)
    attachment.file.save("upload", __import__("django.core.files.base", fromlist=["ContentFile"]).ContentFile(b"x"))
    try:
        from helpdesk.public.tokens import status_token

        token = status_token(ticket)
    except ImportError:  # requester pages not there yet
        token = "x"
    urls = sorted({u for route, _name in _walk(get_resolver().url_patterns)
                   if (u := _concrete(route, _values(ticket, token, message, attachment)))})
    return {"ticket": ticket, "urls": urls, "admin": admin_user, "manager": manager}


def _client(user: Any = None, **kwargs: Any) -> Client:
    client = Client(raise_request_exception=False, **kwargs)
    if user is not None:
        client.force_login(user)
    return client


@pytest.mark.slow
def test_every_url_for_every_role_never_500_and_staff_pages_closed_to_anonymous(world: dict[str, Any]) -> None:
    assert len(world["urls"]) > 5
    failures = []
    clients = {"anonymous": _client(), "administrator": _client(world["admin"]), "manager": _client(world["manager"])}
    for url in world["urls"]:
        for role, client in clients.items():
            response = client.get(url)
            if response.status_code >= 500:
                failures.append(f"{role} GET {url} → {response.status_code}")
            staff_page = url.startswith(STAFF_PREFIXES) and not url.startswith(PUBLIC_PREFIXES)
            if role == "anonymous" and staff_page and response.status_code == 200:
                failures.append(f"anonymous GET {url} → 200 (staff page open)")
    assert not failures, "\n".join(failures)


@pytest.mark.slow
def test_csrf_enforced_on_every_post(world: dict[str, Any]) -> None:
    before = (Ticket.objects.count(), Message.objects.count())
    failures = []
    for role, user in (("anonymous", None), ("administrator", world["admin"]), ("manager", world["manager"])):
        client = _client(user, enforce_csrf_checks=True)
        for url in world["urls"]:
            response = client.post(url, {"body": "x", "body_text": "x", "email": "a@example.com"})
            if response.status_code not in (401, 403, 405):
                failures.append(f"{role} POST {url} without CSRF token → {response.status_code}")
    assert not failures, "\n".join(failures)
    assert (Ticket.objects.count(), Message.objects.count()) == before


def test_security_headers_and_csp(client: Client) -> None:
    response = client.get(reverse("healthz"))
    csp = response.headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"


XSS = '<script>alert("x")</script><img src=x onerror=alert(1)><a href="javascript:alert(2)">k</a>'
ACTIVE = re.compile(r"<script>alert|<img[^>]*\sonerror\s*=|href=\"javascript:", re.I)


def _xss_mail(filename: str = "note.txt") -> bytes:
    mail = EmailMessage()
    mail["From"] = Address(display_name="<script>alert(1)</script>", addr_spec="attacker@example.com")
    mail["To"] = settings.DESK_EMAIL
    mail["Subject"] = f"개인정보 열람 {XSS}"
    mail["Message-ID"] = "<xss-1@example.com>"
    mail.set_content(f"본문 {XSS}")
    mail.add_alternative(f"<p>본문</p>{XSS}<iframe src='https://evil.example'></iframe>", subtype="html")
    mail.add_attachment(b"hello", maintype="text", subtype="plain", filename=filename)
    return mail.as_bytes()


def _ingest(raw: bytes) -> Ticket:
    from helpdesk.intake import ingest as intake

    result = intake.ingest_message(raw, source="test")
    assert result.ticket_reference, result
    return Ticket.objects.get(reference=result.ticket_reference)


def test_stored_xss_through_mail_renders_inert(world: dict[str, Any], django_capture_on_commit_callbacks: Any) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        ticket = _ingest(_xss_mail())
    stored = ticket.messages.filter(direction="inbound").get()
    assert "<script" not in stored.body_html and "onerror" not in stored.body_html
    page = _client(world["manager"]).get(reverse("desk:ticket", kwargs={"reference": ticket.reference}))
    assert page.status_code == 200
    assert not ACTIVE.search(page.content.decode()), "active content on the desk page"
    from helpdesk.public.tokens import status_token

    status = Client().get(reverse("public:status", kwargs={"token": status_token(ticket)}))
    assert status.status_code == 200
    assert not ACTIVE.search(status.content.decode()), "active content on the status page"


def test_stored_xss_through_the_form_renders_inert(world: dict[str, Any],
                                                   django_capture_on_commit_callbacks: Any) -> None:
    from helpdesk.public import services as public
    from helpdesk.public.tokens import status_token

    with django_capture_on_commit_callbacks(execute=True):
        ticket = public.submit_request(request=public.ContactRequest(
            request_type="access", name=XSS[:100], email="form@example.com", description=f"설명 {XSS}",
            phone="", organization=XSS[:100], language="ko", is_minor=False, guardian_name="", guardian_email=""))
    for client, url in ((_client(world["manager"]), reverse("desk:ticket", kwargs={"reference": ticket.reference})),
                        (Client(), reverse("public:status", kwargs={"token": status_token(ticket)}))):
        page = client.get(url)
        assert page.status_code == 200, url
        assert not ACTIVE.search(page.content.decode()), f"active content on {url}"


@pytest.mark.parametrize("filename", ["../../../../etc/passwd", "..\\..\\windows\\win.ini", "/etc/shadow",
                                      "a/../../b.txt", "\x00evil.txt"])
def test_path_traversal_filenames_stored_safely(world: dict[str, Any], filename: str,
                                                django_capture_on_commit_callbacks: Any) -> None:
    raw = _xss_mail(filename=filename).replace(b"<xss-1@example.com>", f"<pt-{abs(hash(filename))}@x>".encode())
    with django_capture_on_commit_callbacks(execute=True):
        ticket = _ingest(raw)
    root = Path(settings.STORAGES["default"]["OPTIONS"]["location"]).resolve()
    attachments = list(Attachment.objects.filter(message__ticket=ticket))
    for attachment in attachments:
        assert attachment.file.name.startswith("attachments/")
        assert Path(attachment.file.path).resolve().is_relative_to(root)
        assert "/" not in attachment.filename and "\\" not in attachment.filename and "\x00" not in attachment.filename
        response = _client(world["manager"]).get(reverse("desk:attachment", kwargs={"pk": attachment.pk}))
        assert response.status_code == 200
        disposition = response.headers["Content-Disposition"]
        assert disposition.startswith("attachment") and "/" not in disposition.split("filename", 1)[1]
    assert Path("/etc/passwd").read_bytes() != b"hello"  # nothing was written outside the store


def test_uploads_live_outside_the_web_root(world: dict[str, Any]) -> None:
    root = Path(settings.PRIVATE_STORAGE_ROOT).resolve()
    assert not settings.MEDIA_ROOT
    stored = Attachment.objects.first()
    assert stored is not None and re.fullmatch(r"attachments/[0-9a-f]{2}/[0-9a-f]{32}", stored.file.name)
    for url in (f"/_private/{stored.file.name}", f"/media/{stored.file.name}", f"/{stored.file.name}",
                f"/static/../var/private/{stored.file.name}"):
        assert Client().get(url).status_code == 404, url
    assert not root.is_relative_to(Path(settings.STATIC_ROOT).resolve())
    for static_dir in settings.STATICFILES_DIRS:
        assert not root.is_relative_to(Path(static_dir).resolve())


def test_oversized_requests_refused_cleanly(world: dict[str, Any]) -> None:
    limit = max(settings.DATA_UPLOAD_MAX_MEMORY_SIZE, getattr(settings, "DESK_PUBLIC_MAX_REQUEST_BYTES", 0))
    big = "가" * (limit // 3 + 1024)
    for client, url in ((Client(raise_request_exception=False), "/"),
                        (_client(world["manager"]),
                         reverse("desk:note", kwargs={"reference": world["ticket"].reference}))):
        response = client.post(url, {"description": big, "body_text": big, "body": big})
        assert response.status_code in (400, 413), (url, response.status_code)


def test_check_deploy_is_clean_in_production_mode() -> None:
    env = {**os.environ, "DESK_ENV": "production", "SECRET_KEY": "x" * 20 + "-production-grade-secret-0123456789",
           "ALLOWED_HOSTS": "desk.example.com", "DATABASE_URL": "sqlite:///:memory:"}
    env.pop("DEBUG", None)
    result = subprocess.run([sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
                            cwd=settings.BASE_DIR, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout
