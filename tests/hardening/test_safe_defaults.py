"""Issue 12.6: safe defaults. DEBUG only where `make run` turns it on; a wrong URL gets a plain page;
links in development mail follow the address the desk is served on, production uses DESK_BASE_URL."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.core import mail
from django.test import Client

from tests.public.conftest import form_data, links_in

ROOT = Path(__file__).resolve().parents[2]
PROBE = """
import django, os
django.setup()
from django.conf import settings
from django.test import Client
response = Client(raise_request_exception=False).get("/no-such-page/")
print("DEBUG", settings.DEBUG, "FROM_REQUEST", settings.DESK_BASE_URL_FROM_REQUEST)
print("STATUS", response.status_code)
print("TECHNICAL", b"URLconf" in response.content or b"DEBUG = True" in response.content)
"""


def _probe(**env: str) -> str:
    environment = {k: v for k, v in os.environ.items() if k not in ("DEBUG", "DESK_ENV", "DESK_BASE_URL")}
    environment.update(DJANGO_SETTINGS_MODULE="config.settings", DESK_VAR_DIR=str(ROOT / "var"),
                       DATABASE_URL="sqlite:///:memory:", **env)
    result = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, env=environment, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_debug_is_off_unless_asked_for() -> None:
    out = _probe()
    assert "DEBUG False FROM_REQUEST False" in out
    assert "STATUS 404" in out and "TECHNICAL False" in out  # no URL list, no settings


def test_the_development_switch_turns_it_on() -> None:
    out = _probe(DEBUG="1")
    assert "DEBUG True FROM_REQUEST True" in out
    assert "FROM_REQUEST False" in _probe(DEBUG="1", DESK_BASE_URL="https://desk.example.com")


def test_make_run_is_the_development_command() -> None:
    dry_run = subprocess.run(["make", "-n", "run"], cwd=ROOT, capture_output=True, text=True, timeout=60).stdout
    assert "deploy/dev/run.sh" in dry_run  # make run prepares and starts the desk through this script
    script = (ROOT / "deploy" / "dev" / "run.sh").read_text().splitlines()
    runserver = [line for line in script if "runserver" in line and not line.lstrip().startswith("#")]
    assert runserver and all(line.startswith("DEBUG=1 ") for line in runserver)
    env_example = (ROOT / "deploy" / "privacy-desk.env.example").read_text()
    assert "# DEBUG=false" in env_example and "DESK_BASE_URL=https://" in env_example


@pytest.mark.django_db
@pytest.mark.parametrize("prefix, words", [("", "페이지를 찾을 수 없습니다"), ("/en", "Page not found")])
def test_a_wrong_url_is_a_plain_translated_page(client: Client, prefix: str, words: str) -> None:
    response = client.get(f"{prefix}/no-such-page/")
    assert response.status_code == 404
    page = response.content.decode()
    assert words in page and "URLconf" not in page and "config.urls" not in page
    assert 'href="/"' in page or 'href="/en/"' in page  # a way back to Contact Us


@pytest.mark.django_db(transaction=True)  # after-commit mail runs inside the request, as in `make run`
def test_development_links_follow_the_served_address(client: Client, settings: Any) -> None:
    settings.DESK_BASE_URL = "http://localhost:8000"
    settings.DESK_BASE_URL_FROM_REQUEST = True  # what DEBUG=1 without DESK_BASE_URL gives
    response = client.post("/en/", form_data(email="dev@example.com"), HTTP_HOST="localhost:8123")
    assert response.status_code == 302
    bodies = "\n".join(m.body for m in mail.outbox)
    assert "http://localhost:8123/en/confirm/" in bodies and "http://localhost:8123/en/request/" in bodies
    assert "localhost:8000" not in bodies


@pytest.mark.django_db
def test_production_links_ignore_the_host_header(client: Client, settings: Any,
                                                 django_capture_on_commit_callbacks: Any) -> None:
    settings.DESK_BASE_URL = "https://desk.example.com"
    settings.DESK_BASE_URL_FROM_REQUEST = False
    settings.ALLOWED_HOSTS = ["desk.example.com", "evil.example"]
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/en/", form_data(email="prod@example.com"), HTTP_HOST="evil.example")
    links = [link for m in mail.outbox for link in links_in(m)]
    assert links
    bodies = "\n".join(m.body for m in mail.outbox)
    assert "https://desk.example.com/en/confirm/" in bodies and "evil.example" not in bodies


@pytest.mark.parametrize("path, language, words", [("/api/v1/tickets/", "en", "Something went wrong"),
                                                   ("/desk/", "ko", "문제가 생겼습니다")])
def test_server_errors_are_plain_and_translated(path: str, language: str, words: str) -> None:
    from django.test import RequestFactory
    from django.utils import translation

    from config.errors import server_error

    with translation.override(language):
        response = server_error(RequestFactory().get(path))
    assert response.status_code == 500 and words in response.content.decode()
    if path.startswith("/api/"):
        assert json.loads(response.content)["error"]["code"] == "server_error"
