"""Issue 28, point 10: the wrong-password message in good Korean; staff change their own password and
a manager resets an administrator's, in the desk, audited."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from helpdesk.models import AuditEvent, User

pytestmark = pytest.mark.django_db
NEW = "another-Long-passphrase-77"


def test_wrong_password_message_reads_well_in_korean(admin_user: User) -> None:
    page = Client().post("/desk/login/", {"username": admin_user.username, "password": "wrong"})
    text = page.content.decode()
    assert "아이디 또는 비밀번호가 맞지 않습니다" in text
    assert "와/과" not in text and "이름와" not in text


def test_staff_change_their_own_password(admin_user: User, client_for: Any) -> None:
    client = client_for(admin_user)
    assert client.get(reverse("desk:password")).status_code == 200
    wrong = client.post(reverse("desk:password"), {"old_password": "nope", "new_password1": NEW,
                                                   "new_password2": NEW})
    assert wrong.status_code == 400
    done = client.post(reverse("desk:password"), {"old_password": "x-Very-long-password-1", "new_password1": NEW,
                                                  "new_password2": NEW})
    assert done.status_code == 302
    admin_user.refresh_from_db()
    assert admin_user.check_password(NEW)
    assert client.get(reverse("desk:queue")).status_code == 200  # still signed in
    assert AuditEvent.objects.filter(action="staff.password_changed", actor=admin_user).exists()


def test_a_manager_resets_an_administrators_password(admin_user: User, other_admin: User, manager: User,
                                                     client_for: Any) -> None:
    url = reverse("desk:reset_password", args=[admin_user.pk])
    assert client_for(other_admin).get(url).status_code == 403  # administrators may not
    client = client_for(manager)
    assert admin_user.username in client.get(reverse("desk:staff")).content.decode()
    assert client.post(url, {"new_password1": NEW, "new_password2": NEW}).status_code == 302
    admin_user.refresh_from_db()
    assert admin_user.check_password(NEW)
    event = AuditEvent.objects.get(action="staff.password_reset")
    assert event.actor == manager and event.data == {"user": admin_user.username}
    assert NEW not in str(event.data)
