"""Issue 25: the documented production path serves pages. ``collectstatic`` under production settings
(CompressedManifestStaticFilesStorage) failed on a vendored file's source-map comment, and without its
manifest every page was a 500. Here: collectstatic as docs/production.md runs it, then a real gunicorn
on a free loopback port serves the Contact Us page, the sign-in page and a hashed static file."""

from __future__ import annotations

import os
import re
import secrets
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _get(url: str) -> tuple[int, bytes]:
    # Behind the documented nginx: it says the client used HTTPS (else production redirects to it).
    request = urllib.request.Request(url, headers={"X-Forwarded-Proto": "https"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


@pytest.fixture
def production_env(tmp_path: Path) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("DJANGO_", "DESK_", "PYTEST"))}
    env.update(DESK_ENV="production", SECRET_KEY=secrets.token_urlsafe(50), ALLOWED_HOSTS="127.0.0.1",
               STATIC_ROOT=str(tmp_path / "static"), DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
               PRIVATE_STORAGE_ROOT=str(tmp_path / "private"), DESK_BASE_URL="https://127.0.0.1")
    return env


@pytest.fixture
def served(production_env: dict[str, str]) -> Iterator[str]:
    collect = subprocess.run([sys.executable, "manage.py", "collectstatic", "--noinput"],
                             cwd=ROOT, env=production_env, capture_output=True, text=True, timeout=600)
    assert collect.returncode == 0, collect.stderr[-3000:]
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "deploy/gunicorn.conf.py", "--workers", "1",
         "--bind", f"127.0.0.1:{port}", "config.wsgi"],
        cwd=ROOT, env=production_env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert server.poll() is None, server.stderr.read().decode()[-3000:] if server.stderr else ""
                time.sleep(0.2)
        yield base
    finally:
        server.terminate()
        server.wait(timeout=30)


@pytest.mark.slow
def test_collectstatic_and_gunicorn_serve_pages_in_production(served: str) -> None:
    status, page = _get(served + "/en/")
    assert status == 200, page[-2000:]
    status, sign_in = _get(served + "/desk/login/")
    assert status == 200, sign_in[-2000:]
    asset = re.search(rb'/static/[\w/.-]+\.[0-9a-f]{12}\.css', page)
    assert asset is not None, "the page names its stylesheet by its hashed (manifest) name"
    status, _css = _get(served + asset.group().decode())
    assert status == 200
