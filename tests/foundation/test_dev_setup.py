"""The newcomer's commands: services.sh brings up a service that is down (and leaves a running one
alone), the Makefile finds a Python >= 3.11, and `make run`'s summary names accounts, passwords and
the demo CRM's addresses."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command

from helpdesk.fulfilment.management.commands.demo_data_sources import PEOPLE
from tests.support.realservices import free_port, require

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ROOT / "deploy" / "dev" / "services.sh"


def test_services_starts_a_redis_that_is_down_and_leaves_it_running_on_the_second_call(tmp_path: Path) -> None:
    require(shutil.which("redis-server") is not None, "redis-server (apt-get install redis-server)")
    port = free_port()
    env = {**os.environ, "DESK_TEST_REDIS_URL": f"redis://127.0.0.1:{port}/3", "REDIS_DIR": str(tmp_path),
           "REDIS_LOG": str(tmp_path / "redis.log"), "PYTHON": sys.executable}
    try:
        first = subprocess.run(["bash", str(SERVICES), "redis"], env=env, capture_output=True, text=True,
                               timeout=60, check=False)
        assert first.returncode == 0, first.stdout + first.stderr
        assert f"starting redis-server on port {port}" in first.stdout
        ping = subprocess.run(["redis-cli", "-p", str(port), "ping"], capture_output=True, text=True, check=False)
        assert ping.stdout.strip() == "PONG"
        again = subprocess.run(["bash", str(SERVICES), "redis"], env=env, capture_output=True, text=True,
                               timeout=60, check=False)
        assert again.returncode == 0 and "starting" not in again.stdout
        assert f"Redis answers on 127.0.0.1:{port}" in again.stdout
    finally:
        subprocess.run(["redis-cli", "-p", str(port), "shutdown", "nosave"], capture_output=True, check=False)


def test_services_never_starts_a_remote_service(tmp_path: Path) -> None:
    require(shutil.which("redis-server") is not None, "redis-server (apt-get install redis-server)")
    env = {**os.environ, "DESK_TEST_REDIS_URL": "redis://192.0.2.1:6379/0", "PYTHON": sys.executable}
    result = subprocess.run(["bash", str(SERVICES), "redis"], env=env, capture_output=True, text=True,
                            timeout=60, check=False)
    assert result.returncode == 1
    assert "192.0.2.1:6379 does not answer (not on this machine" in result.stderr


def test_makefile_finds_a_python_of_at_least_3_11(tmp_path: Path) -> None:
    """With only an old python3 and a python3.12 on PATH, make picks python3.12."""
    require(shutil.which("make") is not None, "make")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    old = bin_dir / "python3"
    old.write_text("#!/bin/sh\nexit 1\n")  # answers "too old" to the version check
    new = bin_dir / "python3.12"
    new.write_text(f"#!/bin/sh\nexec {sys.executable} \"$@\"\n")
    for script in (old, new):
        script.chmod(0o755)
    env = {**os.environ, "PATH": f"{bin_dir}:/usr/bin:/bin"}
    env.pop("PYTHON", None)
    result = subprocess.run(["make", "-s", "--no-print-directory", "-f", str(ROOT / "Makefile"), "-p", "-n",
                             "-q", "setup"], cwd=tmp_path, env=env, capture_output=True, text=True, check=False)
    assert "\nPYTHON := python3.12\n" in result.stdout


@pytest.mark.django_db
def test_run_summary_shows_accounts_with_passwords_and_demo_addresses(tmp_path: Path, settings: object) -> None:
    passwords, crm = tmp_path / "passwords.txt", tmp_path / "demo"
    call_command("seed_staff", remember=str(passwords), stdout=StringIO())
    call_command("demo_data_sources", dir=str(crm), stdout=StringIO())
    assert oct(passwords.stat().st_mode & 0o777) == "0o600"
    out = StringIO()
    call_command("dev_summary", url="http://localhost:8123/", passwords=str(passwords),
                 demo_crm=str(crm / "demo_crm.sqlite3"), stdout=out)
    text = out.getvalue()
    remembered = dict(line.split("\t") for line in passwords.read_text().splitlines())
    assert remembered and "http://localhost:8123/desk/" in text
    for username, password in remembered.items():
        assert f"  {username:<16} {password}" in text
    tail = text[text.index("demo CRM"):]
    assert all(address in tail for _name, address, _phone, _company in PEOPLE)
    # Run again: accounts exist, nothing new is written, the summary still knows the passwords.
    call_command("seed_staff", remember=str(passwords), stdout=StringIO())
    assert dict(line.split("\t") for line in passwords.read_text().splitlines()) == remembered
