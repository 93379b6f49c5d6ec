"""The processing register: what the company does with personal data, for the access answer.

An access answer gives, besides the data itself, the purposes of processing, the retention periods,
the third parties the data went to, the processors it was entrusted to and the consent given
(Enforcement Decree Art. 41(1) 2-5). They are declared in ``processing_register.toml`` beside the
data sources file (``DESK_DATA_SOURCES``); without one, the register shipped with the desk
(``helpdesk/fulfilment/processing_register.toml``: the privacy policy's §3, §9 and §11) applies.
The format is a contract, checked as strictly as the data sources::

    [[processing]]
    name = "inquiries"                           # plain name, unique
    policy_section = "§3"                        # where the privacy policy says it (optional)
    tables = ["crm.customers"]                   # applies when the requester is found there;
                                                 # [] or omitted: applies to every requester
    purpose = { ko = "...", en = "..." }         # Decree 41(1)2
    items = { ko = "...", en = "..." }           # the items processed (optional)
    retention = { ko = "...", en = "..." }       # Decree 41(1)3
    consent = { ko = "...", en = "..." }         # Decree 41(1)5 (optional)
    [[processing.third_party]]                   # Decree 41(1)4: provided to (optional)
    name = "..."
    purpose = { ko = "...", en = "..." }
    [[processing.processor]]                     # entrusted to (Act 26; policy §11) (optional)
    name = "Stibee Co., Ltd."
    work = { ko = "...", en = "..." }
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings

from helpdesk.fulfilment.config import ConfigError

DEFAULT_REGISTER = Path(__file__).with_name("processing_register.toml")
FILENAME = "processing_register.toml"
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$")
TABLE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}\.[A-Za-z0-9_][A-Za-z0-9_.$-]{0,127}$")
ENTRY_KEYS = {"name", "policy_section", "tables", "purpose", "items", "retention", "consent", "third_party",
              "processor"}
LANGUAGES = ("ko", "en")


@dataclass(frozen=True)
class Text:
    ko: str
    en: str

    def as_dict(self) -> dict[str, str]:
        return {"ko": self.ko, "en": self.en}


@dataclass(frozen=True)
class Recipient:
    """A third party (``what`` = its purpose) or a processor (``what`` = the work entrusted)."""

    name: str
    what: Text


@dataclass(frozen=True)
class Processing:
    name: str
    purpose: Text
    retention: Text
    tables: tuple[str, ...] = ()
    policy_section: str = ""
    items: Text | None = None
    consent: Text | None = None
    third_parties: tuple[Recipient, ...] = ()
    processors: tuple[Recipient, ...] = ()

    def applies_to(self, found_tables: set[str]) -> bool:
        """Whether this processing concerns a requester found in ``found_tables`` ("source.table")."""
        return not self.tables or bool(found_tables.intersection(self.tables))

    def lines(self) -> list[dict[str, str]]:
        """The entry as the notice and the summary show it: one line per item, in each language."""
        heads = {"purpose": ("처리 목적", "Purpose"), "items": ("처리 항목", "Items"),
                 "retention": ("보유 기간", "Retention"), "consent": ("동의 사항", "Consent"),
                 "third": ("제3자 제공", "Provided to"), "processor": ("처리 위탁", "Entrusted to")}
        lines = []
        for key, text in (("purpose", self.purpose), ("items", self.items), ("retention", self.retention),
                          ("consent", self.consent)):
            if text is not None:
                lines.append({"ko": f"{heads[key][0]}: {text.ko}", "en": f"{heads[key][1]}: {text.en}"})
        for key, recipients in (("third", self.third_parties), ("processor", self.processors)):
            for recipient in recipients:
                lines.append({"ko": f"{heads[key][0]}: {recipient.name} — {recipient.what.ko}",
                              "en": f"{heads[key][1]}: {recipient.name} — {recipient.what.en}"})
        return lines


def _text(data: dict[str, Any], key: str, where: str, *, required: bool = True) -> Text | None:
    value = data.get(key)
    if value is None:
        if required:
            raise ConfigError(f"{where}: '{key}' is required, as {{ ko = \"...\", en = \"...\" }}")
        return None
    if not isinstance(value, dict) or set(value) != set(LANGUAGES) or not all(
            isinstance(value[lang], str) and value[lang].strip() for lang in LANGUAGES):
        raise ConfigError(f"{where}: '{key}' must give a non-empty Korean and English text: {{ ko = \"...\", "
                          f"en = \"...\" }}")
    return Text(ko=value["ko"].strip(), en=value["en"].strip())


def _recipients(data: dict[str, Any], key: str, what: str, where: str) -> tuple[Recipient, ...]:
    items = data.get(key, [])
    if not isinstance(items, list):
        raise ConfigError(f"{where}: write each {key} as its own [[processing.{key}]] table")
    found = []
    for index, item in enumerate(items, 1):
        here = f"{where} {key} #{index}"
        if not isinstance(item, dict):
            raise ConfigError(f"{here}: must be a table")
        if unknown := set(item) - {"name", what}:
            raise ConfigError(f"{here}: unknown key(s) {sorted(unknown)}; allowed: name, {what}")
        name = item.get("name")
        if not isinstance(name, str) or not name.strip():
            raise ConfigError(f"{here}: 'name' is required")
        text = _text(item, what, here)
        assert text is not None
        found.append(Recipient(name=name.strip(), what=text))
    return tuple(found)


def _entry(data: Any, index: int, known_sources: set[str] | None) -> Processing:
    where = f"processing #{index}"
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: must be a [[processing]] table")
    name = data.get("name")
    if not isinstance(name, str) or not NAME.match(name):
        raise ConfigError(f"{where}: 'name' is required: letters, digits, '_', '.', '-' (up to 63)")
    where = f"processing '{name}'"
    if unknown := set(data) - ENTRY_KEYS:
        raise ConfigError(f"{where}: unknown key(s) {sorted(unknown)}; allowed: {', '.join(sorted(ENTRY_KEYS))}")
    tables = data.get("tables", [])
    if not isinstance(tables, list) or not all(isinstance(t, str) and TABLE.match(t) for t in tables):
        raise ConfigError(f"{where}: 'tables' must be a list of \"source.table\" names")
    if known_sources is not None and (strangers := sorted({t.split(".", 1)[0] for t in tables} - known_sources)):
        raise ConfigError(f"{where}: 'tables' names source(s) {strangers} that the data sources file lacks")
    section = data.get("policy_section", "")
    if not isinstance(section, str):
        raise ConfigError(f"{where}: 'policy_section' must be text")
    purpose, retention = _text(data, "purpose", where), _text(data, "retention", where)
    assert purpose is not None and retention is not None
    return Processing(
        name=name, purpose=purpose, retention=retention, tables=tuple(tables), policy_section=section,
        items=_text(data, "items", where, required=False), consent=_text(data, "consent", where, required=False),
        third_parties=_recipients(data, "third_party", "purpose", where),
        processors=_recipients(data, "processor", "work", where))


def parse_register(text: str, *, known_sources: set[str] | None = None) -> tuple[Processing, ...]:
    """The register's entries; any mistake is a :class:`ConfigError` naming the entry and the key."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"the processing register is not valid TOML: {exc}") from exc
    if unknown := set(data) - {"processing"}:
        raise ConfigError(f"unknown top-level key(s) {sorted(unknown)}: only [[processing]] entries belong here")
    entries = data.get("processing")
    if not isinstance(entries, list) or not entries:
        raise ConfigError("the processing register declares no [[processing]] entry")
    parsed = tuple(_entry(item, index, known_sources) for index, item in enumerate(entries, 1))
    names = [entry.name for entry in parsed]
    if duplicates := sorted({n for n in names if names.count(n) > 1}):
        raise ConfigError(f"processing name(s) {duplicates} are declared twice")
    return parsed


def register_path() -> Path:
    """``processing_register.toml`` beside the data sources file, else the register shipped with the desk."""
    sources = getattr(settings, "DESK_DATA_SOURCES", "")
    if sources:
        beside = Path(sources).with_name(FILENAME)
        if beside.exists():
            return beside
    return DEFAULT_REGISTER


def load_register(path: Path | None = None, *, known_sources: set[str] | None = None) -> tuple[Processing, ...]:
    path = path or register_path()
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read the processing register {path}: {exc}") from exc
    try:
        return parse_register(text, known_sources=known_sources)
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from exc


def entries_for(found_tables: set[str], register: tuple[Processing, ...] | None = None) -> list[Processing]:
    """The register's entries that concern a requester found in these tables ("source.table")."""
    return [entry for entry in (register if register is not None else load_register())
            if entry.applies_to(found_tables)]
