"""Behind the documented proxy, sign-in lockout is per client address (issue 25, point 5).

nginx (deploy/nginx.conf.example) connects from 127.0.0.1 for everybody and writes the client's
address into X-Real-IP (``RATELIMIT_IP_META_KEY=HTTP_X_REAL_IP``). django-axes must lock out the
address that guessed, not the proxy's — or five wrong passwords from anywhere lock the real
administrator out.
"""

from __future__ import annotations

from typing import Any

import pytest
from axes.models import AccessAttempt
from django.test import Client
from django.urls import reverse

from helpdesk.client_ip import client_ip

pytestmark = pytest.mark.django_db

PASSWORD = "x-Very-long-password-1"  # the staff fixtures' password


def through_proxy(client_address: str) -> Client:
    """A client whose requests arrive as nginx forwards them: from the proxy, with X-Real-IP set."""
    return Client(REMOTE_ADDR="127.0.0.1", HTTP_X_REAL_IP=client_address,
                  HTTP_X_FORWARDED_FOR=client_address)


@pytest.fixture
def behind_proxy(settings: Any) -> None:
    settings.AXES_ENABLED = True
    settings.RATELIMIT_IP_META_KEY = "HTTP_X_REAL_IP"


def test_an_attacker_is_locked_out_and_the_administrator_still_signs_in(behind_proxy: None, admin_user: Any) -> None:
    url = reverse("desk:login")
    attacker = through_proxy("203.0.113.66")
    for _ in range(5):
        attacker.post(url, {"username": admin_user.username, "password": "guess"})
    locked = attacker.post(url, {"username": admin_user.username, "password": PASSWORD})
    assert locked.status_code == 429 and "_auth_user_id" not in attacker.session
    assert list(AccessAttempt.objects.values_list("ip_address", flat=True)) == ["203.0.113.66"]

    administrator = through_proxy("198.51.100.7")
    signed_in = administrator.post(url, {"username": admin_user.username, "password": PASSWORD})
    assert signed_in.status_code == 302 and administrator.session["_auth_user_id"] == str(admin_user.pk)


def test_the_address_comes_from_the_configured_header_only(settings: Any, rf: Any) -> None:
    request = rf.get("/", REMOTE_ADDR="127.0.0.1", HTTP_X_REAL_IP="203.0.113.66", HTTP_X_FORWARDED_FOR="10.0.0.9")
    settings.RATELIMIT_IP_META_KEY = "HTTP_X_REAL_IP"
    assert client_ip(request) == "203.0.113.66"
    assert client_ip(rf.get("/", REMOTE_ADDR="127.0.0.1")) == "127.0.0.1"  # straight to gunicorn
    assert client_ip(rf.get("/", REMOTE_ADDR="127.0.0.1", HTTP_X_REAL_IP="not an address")) == "127.0.0.1"
    del settings.RATELIMIT_IP_META_KEY  # no proxy: a client's own headers are never believed
    assert client_ip(request) == "127.0.0.1"
