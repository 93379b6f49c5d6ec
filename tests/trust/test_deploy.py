"""The deployment files stay in step with the settings."""

from __future__ import annotations

import re
from pathlib import Path

from django.conf import settings

ROOT = Path(settings.BASE_DIR)
ENV_READ = re.compile(r"""(?:environ(?:\.get)?\s*[\(\[]|env_(?:bool|list)\()\s*["']([A-Z][A-Z0-9_]+)["']""")


def _variables_read(path: Path) -> set[str]:
    return set(ENV_READ.findall(path.read_text()))


def test_env_template_lists_every_variable_settings_read() -> None:
    template = (ROOT / "deploy" / "privacy-desk.env.example").read_text()
    listed = set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]+)=", template, re.M))
    settings_modules = (ROOT / "config").glob("settings*.py")
    read = set().union(*map(_variables_read, settings_modules)) | _variables_read(ROOT / "deploy" / "gunicorn.conf.py")
    read -= {"DJANGO_SETTINGS_MODULE"}
    assert len(read) > 30
    missing = sorted(read - listed)
    assert not missing, f"add these to deploy/privacy-desk.env.example: {missing}"


def test_systemd_units_use_the_env_file_and_one_beat() -> None:
    units = {p.name: p.read_text() for p in (ROOT / "deploy" / "systemd").glob("*.service")}
    assert {"privacy-desk-web.service", "privacy-desk-worker.service", "privacy-desk-beat.service"} <= set(units)
    for text in units.values():
        assert "EnvironmentFile=/etc/privacy-desk/privacy-desk.env" in text
    assert "gunicorn -c deploy/gunicorn.conf.py config.wsgi" in units["privacy-desk-web.service"]
    assert "celery -A config beat" in units["privacy-desk-beat.service"]


def _gunicorn_settings(monkeypatch: object, **env: str) -> dict[str, object]:
    import runpy

    for name in ("GUNICORN_POOL", "RUNTIME_DIRECTORY", "GUNICORN_CONTROL_SOCKET", "GUNICORN_BIND",
                 "STAFF_GUNICORN_BIND", "GUNICORN_MAX_REQUESTS", "GUNICORN_MAX_REQUESTS_JITTER"):
        monkeypatch.delenv(name, raising=False)  # type: ignore[attr-defined]
    for name, value in env.items():
        monkeypatch.setenv(name, value)  # type: ignore[attr-defined]
    return runpy.run_path(str(ROOT / "deploy" / "gunicorn.conf.py"))


def test_staff_have_their_own_pool_and_each_pool_names_its_control_socket(monkeypatch: object) -> None:
    """Issue 31: the staff's paths go to their own gunicorn pool; the control socket is never in a home."""
    public = _gunicorn_settings(monkeypatch, RUNTIME_DIRECTORY="/run/privacy-desk")
    staff = _gunicorn_settings(monkeypatch, GUNICORN_POOL="staff", RUNTIME_DIRECTORY="/run/privacy-desk")
    assert (public["bind"], staff["bind"]) == ("127.0.0.1:8000", "127.0.0.1:8001")
    assert public["control_socket"] == "/run/privacy-desk/gunicorn-public.ctl"
    assert staff["control_socket"] == "/run/privacy-desk/gunicorn-staff.ctl"
    assert _gunicorn_settings(monkeypatch)["control_socket_disable"] is True  # outside systemd: none
    assert public["max_requests_jitter"] == 500 and public["max_requests"] == 2000
    units = {p.name: p.read_text() for p in (ROOT / "deploy" / "systemd").glob("*.service")}
    assert "Environment=GUNICORN_POOL=staff" in units["privacy-desk-web-staff.service"]
    assert "RuntimeDirectory=privacy-desk" in units["privacy-desk-web-staff.service"]
    nginx = (ROOT / "deploy" / "nginx.conf.example").read_text()
    staff_route = re.search(r"location ~ \^/\(([a-z|]+)\)/ \{\s*proxy_pass http://privacy_desk_staff;", nginx)
    assert staff_route is not None
    assert {"desk", "api", "admin", "account", "oidc"} <= set(staff_route.group(1).split("|"))
