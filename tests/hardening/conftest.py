"""Fixtures for the hardening tests (issue 12): fast passwords, mail through the real command."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command


@pytest.fixture(autouse=True)
def _fast_settings(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # A fresh in-memory cache per test: rate-limit counters never leak between tests.
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache",
                                   "LOCATION": f"hardening-{uuid.uuid4().hex}"}}


@pytest.fixture
def ingest(tmp_path: Path, capsys: Any, django_capture_on_commit_callbacks: Any) -> Callable[..., list[dict[str, Any]]]:
    """Feed raw messages to ``manage.py ingest_email`` (in-process) and return its JSON lines."""

    def run(*messages: bytes) -> list[dict[str, Any]]:
        paths = []
        for i, raw in enumerate(messages):
            path = tmp_path / f"in-{len(list(tmp_path.iterdir()))}-{i}.eml"
            path.write_bytes(raw)
            paths.append(str(path))
        capsys.readouterr()
        with django_capture_on_commit_callbacks(execute=True):
            call_command("ingest_email", *paths)
        return [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.strip()]

    return run
