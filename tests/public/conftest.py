"""Fixtures for the requester pages: an isolated rate-limit cache, the Korean catalog, form helpers."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.core import mail
from django.test import Client

ROOT = Path(__file__).resolve().parents[2]
LOCALE_DIR = ROOT / "locale"
LINK_RE = re.compile(r"https?://[^\s]+/(confirm|guardian|request)/([^\s/]+)/")


@pytest.fixture(scope="session")
def public_locale_dir() -> Path:
    """The project's Korean catalog (settings.LOCALE_PATHS); its compiled .mo is committed."""
    if not (LOCALE_DIR / "ko" / "LC_MESSAGES" / "django.mo").exists():
        pytest.fail("locale/ko/LC_MESSAGES/django.mo is missing: run `make messages` and commit it")
    return LOCALE_DIR


@pytest.fixture(autouse=True)
def _public_settings(settings: Any) -> None:
    # A fresh in-memory cache per test: rate-limit counters never leak between tests.
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache",
                                   "LOCATION": f"public-{uuid.uuid4().hex}"}}
    settings.DESK_BASE_URL = "http://testserver"


def form_data(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "request_type": "deletion",
        "name": "김민지",
        "email": "minji@example.com",
        "phone": "010-1234-5678",
        "organization": "",
        "description": "제 개인정보를 삭제해 주세요.\n회원 아이디는 minji 입니다.",
        "under_14": "no",
        "guardian_name": "",
        "guardian_email": "",
        "consent": "on",
        "website": "",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


@pytest.fixture
def submit(client: Client, django_capture_on_commit_callbacks: Any) -> Callable[..., Any]:
    """POST the Contact Us form (Korean URL unless ``path`` says otherwise), running after-commit mail."""

    def post(path: str = "/", **overrides: Any) -> Any:
        with django_capture_on_commit_callbacks(execute=True):
            return client.post(path, form_data(**overrides))

    return post


def links_in(message: Any) -> dict[str, str]:
    """{"confirm"|"guardian"|"request": path} from one sent mail."""
    found = {}
    for match in LINK_RE.finditer(message.body):
        found.setdefault(match.group(1), match.group(0).removeprefix("http://testserver"))
    return found


def mails_to(address: str) -> list[Any]:
    return [m for m in mail.outbox if address in m.to]
