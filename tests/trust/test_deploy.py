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
