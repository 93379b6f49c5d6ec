"""The Korean catalog: complete, compiled, current with the code, and actually used by the pages."""

from __future__ import annotations

import gettext
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.test import Client

from helpdesk.models import Ticket, User
from tests.support.realservices import require

ROOT = Path(__file__).resolve().parents[2]
PO = ROOT / "locale" / "ko" / "LC_MESSAGES" / "django.po"
MO = PO.with_suffix(".mo")
# What `makemessages` must skip (the same --ignore list the lead uses): not shipped code.
IGNORED = (".venv*", "tests", "bench", "docs", ".git", "var", "artifacts", "staticfiles", "node_modules")
PLACEHOLDER = re.compile(r"%\(\w+\)[-#0 +]*\d*(?:\.\d+)?[sdif]|\{\w*\}")


ESCAPES = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\"}


def _unquote(line: str) -> str:
    quoted = line[line.index('"') + 1 : line.rindex('"')]
    return re.sub(r"\\(.)", lambda m: ESCAPES.get(m.group(1), m.group(0)), quoted)


def parse_po(path: Path) -> list[dict[str, Any]]:
    """A small .po reader (no polib in the project): entries with msgctxt/msgid/msgid_plural/msgstr[n]/flags."""
    entries: list[dict[str, Any]] = []
    entry: dict[str, Any] = {}
    field: str | None = None

    def flush() -> None:
        nonlocal entry
        if "msgid" in entry:
            entries.append(entry)
        entry = {}

    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#~"):
            if "msgid" in entry and "msgstr" in entry:
                flush()
            field = None
            continue
        if line.startswith("#"):
            if "msgstr" in entry:
                flush()
            if line.startswith("#,"):
                entry.setdefault("flags", set()).update(f.strip() for f in line[2:].split(","))
            continue
        if line.startswith('"'):
            assert field is not None, f"continuation line without a field: {raw!r}"
            entry[field] += _unquote(line)
            continue
        keyword, _sep, _rest = line.partition(" ")
        if keyword in ("msgctxt", "msgid") and "msgstr" in entry:
            flush()
        field = keyword
        entry[field] = _unquote(line)
        if keyword.startswith("msgstr"):
            entry["msgstr"] = entry.get("msgstr", "")
    flush()
    return entries


def catalog_key(entry: dict[str, Any]) -> str:
    return f"{entry['msgctxt']}\x04{entry['msgid']}" if "msgctxt" in entry else entry["msgid"]


def translations(entry: dict[str, Any]) -> list[str]:
    if "msgid_plural" in entry:
        return [value for key, value in entry.items() if key.startswith("msgstr[")]
    return [entry["msgstr"]]


@pytest.fixture(scope="module")
def entries() -> list[dict[str, Any]]:
    assert PO.exists(), "locale/ko/LC_MESSAGES/django.po is missing"
    return [e for e in parse_po(PO) if e["msgid"]]  # the header has an empty msgid


def test_every_entry_is_translated_and_none_is_fuzzy(entries: list[dict[str, Any]]) -> None:
    assert len(entries) > 400
    empty = [e["msgid"] for e in entries if not all(translations(e))]
    fuzzy = [e["msgid"] for e in entries if "fuzzy" in e.get("flags", set())]
    assert empty == [], f"untranslated msgids: {empty}"
    assert fuzzy == [], f"fuzzy msgids (check the translation, then remove the flag): {fuzzy}"
    assert "#, fuzzy" not in PO.read_text(encoding="utf-8"), "the header (or an entry) is still fuzzy"


def test_placeholders_and_plural_forms_are_kept(entries: list[dict[str, Any]]) -> None:
    header = PO.read_text(encoding="utf-8")
    assert '"Plural-Forms: nplurals=1; plural=0;\\n"' in header and '"Language: ko\\n"' in header
    for entry in entries:
        expected = sorted(PLACEHOLDER.findall(entry["msgid"]))
        for text in translations(entry):
            assert sorted(PLACEHOLDER.findall(text)) == expected, (entry["msgid"], text)
        if "msgid_plural" in entry:
            assert [k for k in entry if k.startswith("msgstr[")] == ["msgstr[0]"], entry["msgid"]


def test_compiled_catalog_matches_the_po(entries: list[dict[str, Any]]) -> None:
    """django.mo is committed (so `make run` needs no gettext); it must say exactly what the .po says."""
    assert MO.exists(), "locale/ko/LC_MESSAGES/django.mo is missing: run `make messages` and commit it"
    with MO.open("rb") as handle:
        compiled = gettext.GNUTranslations(handle)
    mo_catalog: dict[Any, str] = {k: v for k, v in compiled._catalog.items() if k != ""}  # type: ignore[attr-defined]
    po_catalog: dict[Any, str] = {}
    for entry in entries:
        if "msgid_plural" in entry:
            for key, value in entry.items():
                if key.startswith("msgstr["):
                    po_catalog[(catalog_key(entry), int(key[7:-1]))] = value
        else:
            po_catalog[catalog_key(entry)] = entry["msgstr"]
    stale = sorted(str(k) for k in po_catalog.keys() ^ mo_catalog.keys())
    changed = sorted(str(k) for k in po_catalog.keys() & mo_catalog.keys() if po_catalog[k] != mo_catalog[k])
    assert stale == [] and changed == [], f"django.mo is out of date (run `make messages`): {stale or changed}"
    assert compiled.info().get("plural-forms") == "nplurals=1; plural=0;"


def test_catalog_has_every_string_marked_in_the_code(entries: list[dict[str, Any]], tmp_path: Path) -> None:
    """makemessages on a copy of the code must find no msgid that the catalog lacks."""
    require(shutil.which("xgettext") is not None and shutil.which("msgmerge") is not None,
            "gettext (xgettext, msgmerge) is needed to extract msgids: apt-get install gettext")
    copy = tmp_path / "src"
    shutil.copytree(ROOT, copy, ignore=shutil.ignore_patterns(*IGNORED, "__pycache__", "*.mo"), symlinks=True)
    shutil.rmtree(copy / "locale")
    env = {**os.environ, "DESK_VAR_DIR": str(tmp_path / "var"), "PYTHONPATH": str(copy)}
    env.pop("DATABASE_URL", None)  # extraction never touches a database
    result = subprocess.run(
        [sys.executable, "manage.py", "makemessages", "-l", "ko", "--no-obsolete", "--no-location",
         *(f"--ignore={pattern}" for pattern in ("tests/*", "bench/*", "docs/*"))],
        cwd=copy, env=env, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stderr
    fresh = {catalog_key(e) for e in parse_po(copy / "locale" / "ko" / "LC_MESSAGES" / "django.po") if e["msgid"]}
    assert len(fresh) > 400, "makemessages found too few strings: is the copy complete?"
    missing = sorted(fresh - {catalog_key(e) for e in entries})
    assert missing == [], (
        "strings marked for translation that locale/ko/LC_MESSAGES/django.po lacks — run makemessages "
        f"(command in the .po header), translate them and `make messages`: {missing}"
    )


# Rendered pages: the committed catalog is the one the pages use (settings.LOCALE_PATHS).


def test_locale_path_is_the_committed_catalog() -> None:
    assert ROOT / "locale" in [Path(p) for p in settings.LOCALE_PATHS]
    assert settings.LANGUAGE_CODE == "ko"


@pytest.mark.django_db
def test_contact_us_page_in_korean_and_english(client: Client) -> None:
    korean = client.get("/").content.decode()
    assert '<html lang="ko">' in korean
    for text in ("개인정보 관련 문의하기", "개인정보 수집·이용 동의", "개인정보 열람", "개인정보 처리정지",
                 "동의 철회", "회원 탈퇴", "요청 보내기", "개인정보 문의 창구"):
        assert text in korean, text
    assert "Contact Us about your personal information" not in korean

    english = client.get("/en/").content.decode()
    assert '<html lang="en">' in english
    for text in ("Contact Us about your personal information", "Access to personal information", "Send my request"):
        assert text in english, text
    assert "개인정보 관련 문의하기" not in english


@pytest.mark.django_db
def test_desk_login_in_korean_and_english(client: Client) -> None:
    korean = client.get("/desk/login/").content.decode()
    for text in ("개인정보 문의 창구 로그인", "사용자 이름", "비밀번호", "로그인"):
        assert text in korean, text
    english = client.get("/en/desk/login/").content.decode()
    assert "Sign in to the Privacy Desk" in english and "Password" in english


def test_desk_queue_and_ticket_in_korean(
    client: Client, admin_user: User, make_ticket: Callable[..., Ticket]
) -> None:
    ticket = make_ticket(request_type="deletion")
    client.force_login(admin_user)
    queue = client.get("/desk/").content.decode()
    for text in ("대기열", "요청 유형", "요청자", "개인정보 삭제", "접수"):
        assert text in queue, text
    page = client.get(f"/desk/tickets/{ticket.reference}/").content.decode()
    assert ticket.reference in page
    for text in ("처리 기한", "처리 이력", "답장 보내기", "내부 메모", "자동으로 배정되었습니다"):
        assert text in page, text  # the timeline's assignment is automatic: the admin is the only one
    for english in ("Send reply", "Timeline", "Deadline"):
        assert f">{english}<" not in page, english
