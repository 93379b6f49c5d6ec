"""Staff sign-in through the company's LDAP directory (django-auth-ldap), against a real slapd
started for the run (tests/support/slapd.py), through the desk's own sign-in form."""

from __future__ import annotations

import datetime
import ipaddress
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from axes.models import AccessAttempt
from django.contrib.auth.models import Group
from django.core.exceptions import ImproperlyConfigured
from django.test import Client
from django.urls import reverse

from config.settings_directory import ldap_settings
from helpdesk.models import User
from tests.support.slapd import Slapd, ldif, start_slapd
from workflows.roles import ADMINISTRATOR_GROUP, AUDITOR_GROUP, MANAGER_GROUP, is_administrator, is_manager

SUFFIX = "dc=micube,dc=example"
PEOPLE, GROUPS = f"ou=people,{SUFFIX}", f"ou=groups,{SUFFIX}"
READER_DN, READER_PASSWORD = f"cn=privacy-desk,ou=services,{SUFFIX}", "service-account-password"
PASSWORD = "company-directory-password"
PEOPLE_ENTRIES = {  # uid: (name, groups)
    "ji.officer": ("김지은", ["privacy-officers", "staff"]),
    "mo.manager": ("Mo Manager", ["Privacy-Managers"]),
    "sam.sales": ("Sam Sales", ["sales"]),
    "ha.rotation": ("하윤 순환", ["privacy-officers"]),
    "in.auditor": ("In Auditor", ["internal-audit"]),
}
ROLES = (f"privacy-officers=privacy_administrator; privacy-managers=manager; "
         f"cn=internal-audit,{GROUPS}=auditor")  # a group by its name or by its DN


def _base() -> str:
    entries: list[dict[str, list[str] | str]] = [
        {"dn": SUFFIX, "objectClass": ["dcObject", "organization"], "dc": "micube", "o": "MICUBE"},
        *({"dn": f"ou={ou},{SUFFIX}", "objectClass": "organizationalUnit", "ou": ou}
          for ou in ("people", "groups", "services")),
        {"dn": READER_DN, "objectClass": ["organizationalRole", "simpleSecurityObject"], "cn": "privacy-desk",
         "userPassword": READER_PASSWORD},
    ]
    groups: dict[str, list[str]] = {}
    for uid, (name, member_of) in PEOPLE_ENTRIES.items():
        entries.append({"dn": f"uid={uid},{PEOPLE}", "objectClass": "inetOrgPerson", "uid": uid, "cn": name,
                        "sn": name.split()[-1], "mail": f"{uid}@micube.example", "userPassword": PASSWORD})
        for group in member_of:
            groups.setdefault(group, []).append(f"uid={uid},{PEOPLE}")
    entries += [{"dn": f"cn={group},{GROUPS}", "objectClass": "groupOfNames", "cn": group, "member": members}
                for group, members in groups.items()]
    return ldif(entries)


def _certificate(directory: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1, made for this run (StartTLS)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(hours=1))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = directory / "slapd.crt", directory / "slapd.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                                           serialization.NoEncryption()))
    return cert_path, key_path


@pytest.fixture(scope="module")
def slapd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Slapd]:
    directory = tmp_path_factory.mktemp("slapd")
    server = start_slapd(directory, SUFFIX, _base(), tls=_certificate(directory))
    try:
        yield server
    finally:
        server.stop()


def _environment(uri: str, **extra: str) -> dict[str, str]:
    """What an administrator puts in the environment file (docs/production.md, section 6b)."""
    return {"AUTH_LDAP_SERVER_URI": uri, "AUTH_LDAP_BIND_DN": READER_DN, "AUTH_LDAP_BIND_PASSWORD": READER_PASSWORD,
            "AUTH_LDAP_USER_SEARCH_BASE": PEOPLE, "AUTH_LDAP_GROUP_SEARCH_BASE": GROUPS,
            "AUTH_LDAP_TIMEOUT": "3", **extra}


def _configure(settings: Any, env: dict[str, str]) -> None:
    for name, value in ldap_settings(env).items():
        setattr(settings, name, value)
    settings.AUTHENTICATION_BACKENDS = [settings.AUTHENTICATION_BACKENDS[0], settings.LDAP_BACKEND,
                                        *settings.AUTHENTICATION_BACKENDS[1:]]
    settings.DESK_DIRECTORY_ROLES = ROLES
    settings.AXES_ENABLED = True  # the desk's sign-in throttling as in production


@pytest.fixture
def desk_with_ldap(settings: Any, slapd: Slapd) -> Slapd:
    _configure(settings, _environment(slapd.uri))
    return slapd


def _sign_in(client: Client, username: str, password: str = PASSWORD) -> Any:
    return client.post(reverse("desk:login"), {"username": username, "password": password, "next": "/desk/"})


@pytest.mark.django_db
def test_the_right_password_signs_in_with_the_role_of_the_directory_groups(desk_with_ldap: Slapd) -> None:
    desk = Client()
    page = desk.get(reverse("desk:login")).content.decode()
    assert "회사 계정의 아이디와 비밀번호" in page  # the form says company accounts work here (Korean default)
    done = _sign_in(desk, "ji.officer")
    assert done.status_code == 302 and done["Location"] == "/desk/"
    user = User.objects.get(username="ji.officer")
    assert user.email == "ji.officer@micube.example" and user.display_name == "김지은"
    assert is_administrator(user) and not is_manager(user) and not user.has_usable_password()
    assert desk.get("/desk/").status_code == 200

    assert _sign_in(Client(), "mo.manager").status_code == 302  # group names compare without case
    manager = User.objects.get(username="mo.manager")
    assert list(manager.groups.values_list("name", flat=True)) == [MANAGER_GROUP] and manager.is_staff
    assert _sign_in(Client(), "in.auditor").status_code == 302  # mapped by the group's DN
    assert list(User.objects.get(username="in.auditor").groups.values_list("name", flat=True)) == [AUDITOR_GROUP]


@pytest.mark.django_db
def test_a_wrong_password_is_refused_and_counted_by_axes(desk_with_ldap: Slapd) -> None:
    desk = Client()
    refused = _sign_in(desk, "ji.officer", "not-the-password")
    assert refused.status_code == 200 and "_auth_user_id" not in desk.session
    assert "아이디 또는 비밀번호가 맞지 않습니다" in refused.content.decode()
    assert AccessAttempt.objects.get(username="ji.officer").failures_since_start == 1
    assert not User.objects.filter(username="ji.officer").exists()
    for _ in range(4):
        _sign_in(desk, "ji.officer", "not-the-password")
    assert _sign_in(desk, "ji.officer").status_code == 429  # locked out, even with the right password now


@pytest.mark.django_db
def test_a_person_in_no_mapped_group_is_refused(desk_with_ldap: Slapd, settings: Any) -> None:
    desk = Client()
    refused = _sign_in(desk, "sam.sales")
    assert refused.status_code == 200 and "_auth_user_id" not in desk.session
    assert "사용할 수 있는 그룹에 속해 있지 않습니다" in refused.content.decode()
    assert not User.objects.filter(username="sam.sales").exists()
    # Someone who had a desk role and whose groups no longer map to one loses it at that sign-in.
    assert _sign_in(Client(), "ha.rotation").status_code == 302
    settings.DESK_DIRECTORY_ROLES = "privacy-managers=manager"
    assert _sign_in(Client(), "ha.rotation").status_code == 200
    assert not User.objects.get(username="ha.rotation").groups.exists()


@pytest.mark.django_db
def test_a_group_change_in_the_directory_changes_the_role_at_the_next_sign_in(settings: Any, slapd: Slapd) -> None:
    # This time the person's entry by a DN template, over StartTLS checked against the certificate.
    _configure(settings, _environment(slapd.uri, AUTH_LDAP_USER_DN_TEMPLATE=f"uid=%(user)s,{PEOPLE}",
                                      AUTH_LDAP_USER_SEARCH_BASE="", AUTH_LDAP_START_TLS="true",
                                      AUTH_LDAP_CA_CERT_FILE=str(slapd.directory / "slapd.crt")))
    assert _sign_in(Client(), "ha.rotation").status_code == 302
    user = User.objects.get(username="ha.rotation")
    assert list(user.groups.values_list("name", flat=True)) == [ADMINISTRATOR_GROUP]
    assert user.display_name == "하윤 순환"
    member = f"uid=ha.rotation,{PEOPLE}"
    slapd.modify(f"dn: cn=privacy-officers,{GROUPS}\nchangetype: modify\ndelete: member\nmember: {member}\n\n"
                 f"dn: cn=internal-audit,{GROUPS}\nchangetype: modify\nadd: member\nmember: {member}\n")
    try:
        assert _sign_in(Client(), "ha.rotation").status_code == 302
        assert list(user.groups.values_list("name", flat=True)) == [AUDITOR_GROUP]
    finally:
        slapd.modify(f"dn: cn=internal-audit,{GROUPS}\nchangetype: modify\ndelete: member\nmember: {member}\n\n"
                     f"dn: cn=privacy-officers,{GROUPS}\nchangetype: modify\nadd: member\nmember: {member}\n")


@pytest.mark.django_db
def test_starttls_refuses_a_certificate_it_cannot_check(settings: Any, slapd: Slapd) -> None:
    _configure(settings, _environment(slapd.uri, AUTH_LDAP_START_TLS="true"))  # no CA file: not trusted
    refused = _sign_in(Client(), "ji.officer")
    assert refused.status_code == 200 and "회사 디렉터리가 응답하지 않아" in refused.content.decode()
    assert not User.objects.filter(username="ji.officer").exists()


@pytest.mark.django_db
def test_with_the_directory_down_it_says_so_and_desk_passwords_still_work(settings: Any, tmp_path: Path) -> None:
    server = start_slapd(tmp_path, SUFFIX, _base())
    _configure(settings, _environment(server.uri))
    assert _sign_in(Client(), "mo.manager").status_code == 302
    server.stop()  # the directory goes down
    desk = Client()
    refused = _sign_in(desk, "ji.officer")
    assert refused.status_code == 200 and "_auth_user_id" not in desk.session
    assert "회사 디렉터리가 응답하지 않아" in refused.content.decode()
    local = User.objects.create_user(username="break.glass", password="x-Very-long-password-1")
    local.groups.add(Group.objects.get(name=ADMINISTRATOR_GROUP))
    assert _sign_in(desk, "break.glass", "x-Very-long-password-1").status_code == 302
    assert desk.get("/desk/").status_code == 200


@pytest.mark.django_db
def test_required_two_factor_applies_to_directory_accounts(desk_with_ldap: Slapd, settings: Any) -> None:
    settings.DESK_REQUIRE_2FA = True
    desk = Client()
    assert _sign_in(desk, "ji.officer").status_code == 302
    first = desk.get("/desk/")
    assert first.status_code == 302 and first["Location"] == f"{reverse('two_factor_enrol')}?next=/desk/"


def test_an_incomplete_configuration_is_refused_at_start_up() -> None:
    with pytest.raises(ImproperlyConfigured, match="AUTH_LDAP_GROUP_SEARCH_BASE"):
        ldap_settings(_environment("ldap://127.0.0.1:1", AUTH_LDAP_GROUP_SEARCH_BASE=""))
    with pytest.raises(ImproperlyConfigured, match="AUTH_LDAP_USER_SEARCH_BASE"):
        ldap_settings(_environment("ldap://127.0.0.1:1", AUTH_LDAP_USER_SEARCH_BASE=""))
    with pytest.raises(ImproperlyConfigured, match="AUTH_LDAP_GROUP_TYPE"):
        ldap_settings(_environment("ldap://127.0.0.1:1", AUTH_LDAP_GROUP_TYPE="nonsense"))
