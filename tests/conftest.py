"""Shared fixtures: staff in each role, a requester's ticket, mail capture."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth.models import Group
from django.utils import translation

from helpdesk import services
from helpdesk.models import Channel, Ticket, User
from tests.support.realservices import browser, celery_worker_process, smtp_sink
from workflows.roles import ADMINISTRATOR_GROUP, MANAGER_GROUP

__all__ = ["browser", "celery_worker_process", "smtp_sink"]  # shared fixtures for every test folder


@pytest.fixture(autouse=True)
def _default_language() -> Any:
    """Each test starts in the desk's default language: a request answered in English (the API
    with ``Accept-Language: en``) leaves English active in the thread, and ``reverse()`` in the next
    test would then build ``/en/…`` URLs."""
    translation.activate(settings.LANGUAGE_CODE)
    yield
    translation.deactivate()


@pytest.fixture(autouse=True)
def _private_storage(settings: Any, tmp_path: Any) -> None:
    """Uploads and raw mail go to a per-test folder."""
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage",
                    "OPTIONS": {"location": str(tmp_path / "private")}},
    }
    settings.CELERY_TASK_ALWAYS_EAGER = True
    settings.DESK_DATA_SOURCES = ""  # never the developer's var/data_sources.toml; fulfilment tests set one
    settings.AXES_ENABLED = False  # client.login() passes no request; tests/desk re-enables it
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    # The cache of this process only, empty for each test: the file cache under var/ is shared by
    # every pytest-xdist worker, so one worker's "no webhook endpoints" flag (or rate-limit count)
    # reached another worker's test.
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache",
                                   "LOCATION": "privacy-desk-tests"}}
    from django.core.cache import cache

    cache.clear()


def _make_staff(username: str, group: str, **extra: Any) -> User:
    user = User.objects.create_user(
        username=username, password="x-Very-long-password-1", email=f"{username}@example.com",
        display_name=username.replace(".", " ").title(), **extra,
    )
    user.groups.add(Group.objects.get(name=group))
    return user


@pytest.fixture
def make_admin(db: Any) -> Callable[..., User]:
    return lambda username="admin.one", **extra: _make_staff(username, ADMINISTRATOR_GROUP, **extra)


@pytest.fixture
def admin_user(make_admin: Callable[..., User]) -> User:
    return make_admin("moonwon.park")


@pytest.fixture
def other_admin(make_admin: Callable[..., User]) -> User:
    return make_admin("hyojoon.shim")


@pytest.fixture
def manager(db: Any) -> User:
    return _make_staff("manager", MANAGER_GROUP)


@pytest.fixture
def make_ticket(db: Any, django_capture_on_commit_callbacks: Any) -> Callable[..., Ticket]:
    """Create a ticket through the service, running its after-commit mail like production."""

    def make(
        *,
        email: str = "requester@example.com",
        subject: str = "개인정보 열람 요청",
        body: str = "제 개인정보 열람을 요청합니다.",
        request_type: str = "access",
        channel: str = Channel.WEB,
        **kwargs: Any,
    ) -> Ticket:
        with django_capture_on_commit_callbacks(execute=True):
            return services.create_ticket(
                message=services.InboundMessage(
                    sender_email=email, subject=subject, body_text=body, sender_name="홍길동"
                ),
                channel=channel,
                request_type=request_type,
                **kwargs,
            )

    return make
