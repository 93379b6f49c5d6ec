"""Staff sign-in through the company's directory with OpenID Connect, against a real provider:
django-oauth-toolkit in a second Django process on loopback (tests/support/oidc_provider)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

import pytest
from django.test import Client

from helpdesk.models import User
from tests.support.realservices import free_port
from workflows.roles import ADMINISTRATOR_GROUP, MANAGER_GROUP, is_administrator, is_manager

ROOT = Path(__file__).resolve().parents[2]
CLIENT_ID, CLIENT_SECRET = "privacy-desk", "desk-client-secret-for-tests"
PASSWORD = "company-directory-password"
SETUP = f"""
from django.contrib.auth.models import Group, User
from oauth2_provider.models import Application
def person(username, name, groups):
    user = User.objects.create_user(username, f"{{username}}@micube.example", {PASSWORD!r})
    user.first_name, user.last_name = name.split()
    user.save()
    for group in groups:
        user.groups.add(Group.objects.get_or_create(name=group)[0])
person("ji.officer", "Ji Officer", ["privacy-officers", "staff"])
person("mo.manager", "Mo Manager", ["privacy-managers"])
person("sam.sales", "Sam Sales", ["sales"])
Application.objects.create(name="Privacy Desk", client_id={CLIENT_ID!r}, client_secret={CLIENT_SECRET!r},
    client_type="confidential", authorization_grant_type="authorization-code", skip_authorization=True,
    redirect_uris="http://testserver/oidc/callback/", algorithm="RS256")
"""


@pytest.fixture(scope="module")
def provider(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    data = tmp_path_factory.mktemp("oidc-provider")
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    (data / "oidc.key").write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                      serialization.NoEncryption()))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "PYTEST", "DATABASE_URL"))}
    env.update({"DJANGO_SETTINGS_MODULE": "tests.support.oidc_provider.settings", "OIDC_PROVIDER_DIR": str(data),
                "PYTHONPATH": str(ROOT)})
    django = [sys.executable, "-m", "django"]
    subprocess.run([*django, "migrate", "-v0"], cwd=ROOT, env=env, check=True, timeout=120)
    subprocess.run([*django, "shell", "-c", SETUP], cwd=ROOT, env=env, check=True, timeout=60)
    port = free_port()
    log = (data / "provider.log").open("ab")
    process = subprocess.Popen([*django, "runserver", "--noreload", "--skip-checks", f"127.0.0.1:{port}"],
                               cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    import requests

    deadline = time.monotonic() + 60
    while True:
        try:
            if requests.get(f"{base}/o/.well-known/openid-configuration", timeout=2).status_code == 200:
                break
        except requests.RequestException:
            pass
        assert process.poll() is None and time.monotonic() < deadline, (data / "provider.log").read_text()
        time.sleep(0.3)
    try:
        yield base
    finally:
        process.terminate()
        process.wait(10)


@pytest.fixture
def desk_with_oidc(settings: Any, provider: str) -> str:
    import requests

    discovery = requests.get(f"{provider}/o/.well-known/openid-configuration", timeout=10).json()
    settings.OIDC_RP_CLIENT_ID, settings.OIDC_RP_CLIENT_SECRET = CLIENT_ID, CLIENT_SECRET
    settings.OIDC_OP_AUTHORIZATION_ENDPOINT = discovery["authorization_endpoint"]
    settings.OIDC_OP_TOKEN_ENDPOINT = discovery["token_endpoint"]
    settings.OIDC_OP_USER_ENDPOINT = discovery["userinfo_endpoint"]
    settings.OIDC_OP_JWKS_ENDPOINT = discovery["jwks_uri"]
    settings.AUTHENTICATION_BACKENDS = [settings.AUTHENTICATION_BACKENDS[0], settings.OIDC_BACKEND,
                                        *settings.AUTHENTICATION_BACKENDS[1:]]
    settings.DESK_DIRECTORY_ROLES = "privacy-officers=privacy_administrator; Privacy-Managers=manager"
    return provider


def _sign_in_through_the_directory(desk: Client, username: str) -> Any:
    """The browser's round trip: desk → provider's sign-in page → provider → desk's callback."""
    import re

    import requests

    start = desk.get("/oidc/authenticate/?next=/desk/")
    assert start.status_code == 302
    browser = requests.Session()
    page = browser.get(start["Location"], timeout=10)  # not signed in at the provider: its sign-in form
    assert "Company sign-in" in page.text
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
    assert token
    back = browser.post(page.url, allow_redirects=False, timeout=10, headers={"Referer": page.url}, data={
        "csrfmiddlewaretoken": token.group(1), "username": username, "password": PASSWORD,
        "next": parse_qs(urlsplit(page.url).query)["next"][0]})
    assert back.status_code == 302, back.text[:500]
    authorized = browser.get(urljoin(page.url, back.headers["Location"]), allow_redirects=False, timeout=10)
    assert authorized.status_code == 302
    callback = authorized.headers["Location"]
    assert callback.startswith("http://testserver/oidc/callback/?code=")
    return desk.get(callback.removeprefix("http://testserver"))


@pytest.mark.django_db
def test_directory_groups_give_desk_roles_and_a_session(desk_with_oidc: str) -> None:
    desk = Client()
    done = _sign_in_through_the_directory(desk, "ji.officer")
    assert done.status_code == 302 and done["Location"] == "/desk/"
    user = User.objects.get(username="ji.officer")
    assert user.email == "ji.officer@micube.example" and user.display_name == "Ji Officer"
    assert is_administrator(user) and not is_manager(user) and not user.has_usable_password()
    assert desk.get("/desk/").status_code == 200

    manager = Client()
    _sign_in_through_the_directory(manager, "mo.manager")  # group names compare without case
    signed_in = User.objects.get(username="mo.manager")
    assert list(signed_in.groups.values_list("name", flat=True)) == [MANAGER_GROUP] and signed_in.is_staff


@pytest.mark.django_db
def test_a_role_removed_in_the_directory_goes_at_the_next_sign_in(desk_with_oidc: str, settings: Any) -> None:
    _sign_in_through_the_directory(Client(), "ji.officer")
    assert User.objects.get(username="ji.officer").groups.filter(name=ADMINISTRATOR_GROUP).exists()
    settings.DESK_DIRECTORY_ROLES = "privacy-officers=manager"  # the company re-maps the group
    _sign_in_through_the_directory(Client(), "ji.officer")
    assert list(User.objects.get(username="ji.officer").groups.values_list("name", flat=True)) == [MANAGER_GROUP]


@pytest.mark.django_db
def test_a_person_in_no_mapped_group_is_refused(desk_with_oidc: str) -> None:
    desk = Client()
    refused = _sign_in_through_the_directory(desk, "sam.sales")
    assert refused.status_code == 302 and refused["Location"] == "/desk/login/?directory=refused"
    assert not User.objects.filter(username="sam.sales").exists()
    page = desk.get(refused["Location"]).content.decode()
    assert "사용할 수 있는 그룹에 속해 있지 않습니다" in page  # the desk speaks Korean by default
    assert desk.get("/desk/").status_code == 302


@pytest.mark.django_db
def test_without_configuration_the_directory_pages_do_not_exist(client: Client) -> None:
    assert client.get("/oidc/authenticate/").status_code == 404
    assert client.get("/oidc/callback/?code=x&state=y").status_code == 404
    assert "company account" not in client.get("/desk/login/").content.decode()
