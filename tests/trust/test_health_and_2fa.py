"""/healthz/ and the optional TOTP second step for staff."""

from __future__ import annotations

import socket
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from helpdesk.models import AuditEvent
from tests.support.realservices import require

pytestmark = pytest.mark.django_db


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_healthz_ok_with_database_only(client: Client, settings: Any) -> None:
    settings.CELERY_BROKER_URL = ""
    settings.DESK_IMAP_HOST = ""
    response = client.get("/healthz/")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["checks"]["database"]["status"] == "ok"
    assert body["checks"]["broker"]["status"] == "not_configured"
    assert response.headers["Cache-Control"].startswith("max-age=0")


def test_healthz_503_when_broker_or_mailbox_unreachable(client: Client, settings: Any) -> None:
    settings.CELERY_BROKER_URL = f"redis://127.0.0.1:{_closed_port()}/7"
    settings.DESK_IMAP_HOST = "127.0.0.1"
    settings.DESK_IMAP_PORT = _closed_port()
    response = client.get("/healthz/")
    assert response.status_code == 503
    checks = response.json()["checks"]
    assert checks["broker"]["status"] == "fail" and checks["mailbox"]["status"] == "fail"
    assert checks["database"]["status"] == "ok"


@pytest.mark.services
def test_healthz_ok_with_real_redis(client: Client, settings: Any) -> None:
    try:
        socket.create_connection(("127.0.0.1", 6379), timeout=1).close()
        running = True
    except OSError:
        running = False
    require(running, "Redis on 127.0.0.1:6379")
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:6379/7"
    assert client.get("/healthz/").json()["checks"]["broker"]["status"] == "ok"


def _device(user: Any) -> TOTPDevice:
    return TOTPDevice.objects.create(user=user, name="phone", confirmed=True)


def _code(device: TOTPDevice) -> str:
    return f"{totp(device.bin_key, device.step, device.t0, device.digits, device.drift):06d}"


def test_staff_without_device_is_not_asked(client: Client, manager: Any) -> None:
    client.force_login(manager)
    response = client.get("/desk/")
    assert response.status_code == 200


def test_staff_with_device_must_enter_code(client: Client, manager: Any) -> None:
    device = _device(manager)
    client.force_login(manager)
    for url in ("/admin/", "/desk/"):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith(reverse("two_factor_verify")), url
    assert client.get("/api/v1/tickets/").status_code == 403
    bad = client.post(reverse("two_factor_verify"), {"otp_token": "000000", "next": "/desk/"})
    assert bad.status_code == 200 and client.get("/desk/").status_code == 302
    # django-otp throttles after a failure: even the right code is refused at once.
    throttled = client.post(reverse("two_factor_verify"), {"otp_token": _code(device), "next": "/desk/"})
    assert throttled.status_code == 200
    TOTPDevice.objects.filter(pk=device.pk).update(throttling_failure_count=0, throttling_failure_timestamp=None)
    good = client.post(reverse("two_factor_verify"), {"otp_token": _code(device), "next": "/desk/"})
    assert good.status_code == 302 and good["Location"] == "/desk/"
    assert client.get("/desk/").status_code == 200
    assert AuditEvent.objects.filter(action="staff.otp_verified", actor=manager).exists()
    assert AuditEvent.objects.filter(action="staff.otp_failed", actor=manager).exists()


def test_verify_refuses_offsite_next(client: Client, manager: Any) -> None:
    device = _device(manager)
    client.force_login(manager)
    response = client.post(reverse("two_factor_verify"), {"otp_token": _code(device), "next": "https://evil.example/"})
    assert response.status_code == 302 and response["Location"] == "/"


def test_enrol_command_prints_otpauth_link(manager: Any, capsys: Any) -> None:
    from django.core.management import call_command

    call_command("enrol_totp", manager.username)
    assert capsys.readouterr().out.startswith("otpauth://totp/")
    assert TOTPDevice.objects.filter(user=manager, confirmed=True).count() == 1
