"""DESK_REQUIRE_2FA: every staff account signs in with a second factor; those without a device set
one up (an authenticator app confirmed by its first code) before any staff page or API call."""

from __future__ import annotations

import re
import time
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from helpdesk.models import AuditEvent

pytestmark = pytest.mark.django_db


def _code(device: TOTPDevice) -> str:
    return f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits):06d}"


def _signed_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_off_by_default_staff_without_a_device_use_the_desk(settings: Any, admin_user: Any) -> None:
    assert settings.DESK_REQUIRE_2FA is False
    assert _signed_in(admin_user).get("/desk/").status_code == 200


def test_required_staff_without_a_device_are_sent_to_set_one_up(settings: Any, admin_user: Any, manager: Any) -> None:
    settings.DESK_REQUIRE_2FA = True
    for user in (admin_user, manager):
        client = _signed_in(user)
        desk = client.get("/desk/")
        assert desk.status_code == 302 and desk["Location"] == f"{reverse('two_factor_enrol')}?next=/desk/"
        api = client.get("/api/v1/tickets/")
        assert api.status_code == 403
        assert api.json()["detail"] in {"Two-factor sign-in must be set up first.",
                                        "먼저 2단계 인증을 설정해야 합니다."}
        assert client.get("/healthz/").status_code in {200, 503}  # exempt paths still answer


def test_enrolment_confirms_the_device_with_its_first_code(settings: Any, admin_user: Any) -> None:
    settings.DESK_REQUIRE_2FA = True
    client = _signed_in(admin_user)
    page = client.get(f"{reverse('two_factor_enrol')}?next=/desk/")
    assert page.status_code == 200 and page["Cache-Control"].startswith("max-age=0")
    device = TOTPDevice.objects.get(user=admin_user, confirmed=False)
    text = page.content.decode()
    assert device.config_url.replace("&", "&amp;") in text
    secret = re.search(r'<code class="otp-secret">([A-Z2-7]+)</code>', text)
    assert secret and len(secret.group(1)) >= 32
    reloaded = client.get(reverse("two_factor_enrol")).content.decode()
    again = re.search(r'<code class="otp-secret">([A-Z2-7]+)</code>', reloaded)
    assert again and again.group(1) == secret.group(1)  # reloading shows the same pending device
    assert TOTPDevice.objects.filter(user=admin_user).count() == 1

    wrong = client.post(reverse("two_factor_enrol"), {"otp_token": "000000" if _code(device) != "000000" else "111111",
                                                      "next": "/desk/"})
    assert wrong.status_code == 200 and not TOTPDevice.objects.get(pk=device.pk).confirmed
    time.sleep(1.1)  # django-otp throttles the next try for a second after a wrong code

    done = client.post(reverse("two_factor_enrol"), {"otp_token": _code(device), "next": "/desk/"})
    assert done.status_code == 302 and done["Location"] == "/desk/"
    assert TOTPDevice.objects.get(pk=device.pk).confirmed
    assert client.get("/desk/").status_code == 200  # this session is verified
    assert AuditEvent.objects.filter(action="staff.otp_enrolled", actor=admin_user).exists()

    # The next sign-in asks for a code (the usual verification), not a new enrolment.
    later = _signed_in(admin_user).get("/desk/")
    assert later.status_code == 302 and later["Location"].startswith(reverse("two_factor_verify"))


def test_enrolment_page_is_not_needed_once_a_device_exists(settings: Any, admin_user: Any) -> None:
    settings.DESK_REQUIRE_2FA = True
    TOTPDevice.objects.create(user=admin_user, name="phone", confirmed=True)
    response = _signed_in(admin_user).get(f"{reverse('two_factor_enrol')}?next=/desk/")
    assert response.status_code == 302 and response["Location"] == "/desk/"


def test_enrolment_refuses_an_offsite_next(settings: Any, admin_user: Any) -> None:
    settings.DESK_REQUIRE_2FA = True
    client = _signed_in(admin_user)
    client.get(reverse("two_factor_enrol"))
    device = TOTPDevice.objects.get(user=admin_user, confirmed=False)
    response = client.post(reverse("two_factor_enrol"), {"otp_token": _code(device), "next": "https://evil.example/"})
    assert response.status_code == 302 and response["Location"] == "/"
