"""Fixtures for the requester pages: an isolated rate-limit cache, Korean catalog, form helpers."""

from __future__ import annotations

import re
import shutil
import subprocess
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.core import mail
from django.test import Client

ROOT = Path(__file__).resolve().parents[2]
PUBLIC_PO = ROOT / "docs" / "i18n" / "public.po"
LINK_RE = re.compile(r"https?://[^\s]+/(confirm|guardian|request)/([^\s/]+)/")


@pytest.fixture(scope="session")
def public_locale_dir(tmp_path_factory: pytest.TempPathFactory) -> Path | None:
    """Our Korean msgids compiled on the fly, so the pages are Korean before the lead merges them
    into locale/ (after the merge both catalogs agree)."""
    msgfmt = shutil.which("msgfmt")
    if msgfmt is None or not PUBLIC_PO.exists():
        return None
    target = tmp_path_factory.mktemp("locale")
    out = target / "ko" / "LC_MESSAGES"
    out.mkdir(parents=True)
    subprocess.run([msgfmt, "-o", str(out / "django.mo"), str(PUBLIC_PO)], check=True)
    return target


@pytest.fixture(autouse=True)
def _public_settings(settings: Any, public_locale_dir: Path | None) -> None:
    # A fresh in-memory cache per test: rate-limit counters never leak between tests.
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache",
                                   "LOCATION": f"public-{uuid.uuid4().hex}"}}
    settings.DESK_BASE_URL = "http://testserver"
    if public_locale_dir is not None:
        settings.LOCALE_PATHS = [*settings.LOCALE_PATHS, public_locale_dir]


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
