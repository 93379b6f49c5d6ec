"""The data sources file (``DESK_DATA_SOURCES``): where the company keeps personal data.

The TOML format is a contract (issue 13)::

    [[source]]
    name = "crm"
    url = "postgresql://reader@db.internal/crm"   # any SQLAlchemy URL; secrets via ${ENV_VAR}
    erase_url = "postgresql://writer:${CRM_WRITER_PASSWORD}@db.internal/crm"   # optional writer
    connect_timeout = 5                           # seconds (optional)
    statement_timeout = 10                        # seconds (optional)
    [[source.table]]
    name = "customers"
    match = "email"
    export = ["name", "email"]                    # omitted: all columns
    erase = "delete"                              # | "anonymize" | "keep" | "set"
    anonymize = ["name", "phone"]                 # with erase = "anonymize"
    set = { marketing_opt_in = false }            # with erase = "set" (consent withdrawal)
    keep_reason = "..."                           # required with erase = "keep"

    [[source]]
    name = "newsletter"
    kind = "http"
    url = "https://newsletter.internal/dsr"
    token = "${NEWSLETTER_DSR_TOKEN}"
    contact = "privacy@stibee.example"           # optional: who to send a task to (issue 26)

Everything is checked when the file is read; every mistake is a :class:`ConfigError` that names
the source, the table and the field. Table and column names are checked again against the real
schema when a source is queried (:mod:`helpdesk.fulfilment.connectors`).
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from helpdesk.fulfilment.config_words import ConfigError, Text, read_text

if TYPE_CHECKING:
    from sqlalchemy.engine import URL

ERASE_MODES = ("delete", "anonymize", "keep", "set")
KINDS = ("sql", "http")
DEFAULT_CONNECT_TIMEOUT = 5.0
DEFAULT_STATEMENT_TIMEOUT = 15.0
ENV_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
# Source names appear in file names of the access package and in URLs: keep them plain.
SOURCE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$")
SOURCE_KEYS = {"name", "kind", "url", "erase_url", "token", "connect_timeout", "statement_timeout", "table",
               "erase", "keep_reason", "keep_law", "label", "description", "columns", "time_zone", "contact"}
TABLE_KEYS = {"name", "match", "export", "erase", "anonymize", "set", "keep_reason", "keep_law", "label", "columns"}



@dataclass(frozen=True)
class TableConfig:
    name: str
    match: str
    export: tuple[str, ...] | None  # None: every column
    erase: str
    anonymize: tuple[str, ...] = ()
    set_values: tuple[tuple[str, Any], ...] = ()
    keep_reason: str = ""  # both languages in one line (staff pages, the audit trail)
    keep_reason_text: Text = Text()  # per language, for the requester
    keep_law: Text = Text()  # the article that requires keeping it, e.g. "상법 제33조" / "Commercial Act Art. 33"
    label: Text = Text()
    columns: tuple[tuple[str, Text], ...] = ()  # column → its label

    @property
    def touched_columns(self) -> tuple[str, ...]:
        if self.erase == "anonymize":
            return self.anonymize
        if self.erase == "set":
            return tuple(name for name, _ in self.set_values)
        return ()


@dataclass(frozen=True)
class SourceConfig:
    name: str
    kind: str
    url: str
    erase_url: str = ""
    token: str = field(default="", repr=False)
    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT
    statement_timeout: float = DEFAULT_STATEMENT_TIMEOUT
    tables: tuple[TableConfig, ...] = ()
    label: Text = Text()  # what the requester reads instead of the name ("demo-crm")
    description: Text = Text()
    time_zone: str = ""  # of the source's times without an offset; empty: the desk's (settings.TIME_ZONE)
    # The e-mail address of the contact (kept in the admin) who is sent tasks about this source.
    contact: str = ""

    @property
    def safe_url(self) -> str:
        """The URL without its password, for pages and logs."""
        return safe_url(self.url)

    def table(self, name: str) -> TableConfig | None:
        return next((t for t in self.tables if t.name == name), None)


def parse_sql_url(url: str) -> URL | None:
    """The SQLAlchemy URL, or None if it is not one.

    SQLAlchemy is imported here, when a SQL source is first configured, not with this module:
    every desk process loads the fulfilment app, few ever use a source (see ``connectors``).
    """
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        return make_url(url)
    except ArgumentError:
        return None


def safe_url(url: str) -> str:
    parsed = parse_sql_url(url)
    return parsed.render_as_string(hide_password=True) if parsed is not None else url.split("?", 1)[0]


def expand_env(value: str, where: str, environ: dict[str, str] | None = None) -> str:
    """``${NAME}`` → the environment variable; a missing one is an error, never an empty secret."""
    env = os.environ if environ is None else environ

    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in env:
            raise ConfigError(f"{where}: environment variable {name} is not set")
        return env[name]

    return ENV_REFERENCE.sub(replace, value)


def _str(data: dict[str, Any], key: str, where: str, *, required: bool = False, default: str = "") -> str:
    value = data.get(key, default)
    if not isinstance(value, str):
        raise ConfigError(f"{where}: '{key}' must be a string")
    if required and not value.strip():
        raise ConfigError(f"{where}: '{key}' is required")
    return value.strip()


def _names(data: dict[str, Any], key: str, where: str) -> tuple[str, ...] | None:
    if key not in data:
        return None
    value = data[key]
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise ConfigError(f"{where}: '{key}' must be a list of column names")
    if len(set(value)) != len(value):
        raise ConfigError(f"{where}: '{key}' names a column twice")
    return tuple(v.strip() for v in value)


def _seconds(data: dict[str, Any], key: str, where: str, default: float) -> float:
    value = data.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= 600:
        raise ConfigError(f"{where}: '{key}' must be a number of seconds between 0 and 600")
    return float(value)


def _unknown(data: dict[str, Any], allowed: set[str], where: str) -> None:
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise ConfigError(f"{where}: unknown field(s) {', '.join(unknown)} (allowed: {', '.join(sorted(allowed))})")


def _column_labels(data: dict[str, Any], where: str, exported: tuple[str, ...] | None) -> tuple[tuple[str, Text], ...]:
    raw = data.get("columns", {})
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: 'columns' must be a table of column = label")
    if exported is not None:
        stray = sorted(set(raw) - set(exported))
        if stray:
            raise ConfigError(f"{where}: 'columns' labels column(s) not in export: {', '.join(stray)}")
    return tuple((name, read_text(raw, name, f"{where}, columns", longest=80)) for name in raw)


def _time_zone(data: dict[str, Any], where: str) -> str:
    name = _str(data, "time_zone", where)
    if name:
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ConfigError(f"{where}: time_zone = '{name}' is not a time zone (e.g. Asia/Seoul, UTC)") from exc
    return name


def _erase(data: dict[str, Any], where: str, default: str = "delete") -> tuple[str, Text]:
    erase = _str(data, "erase", where, default=default)
    if erase not in ERASE_MODES:
        raise ConfigError(f"{where}: erase = '{erase}' is not one of {', '.join(ERASE_MODES)}")
    keep_reason = read_text(data, "keep_reason", where, longest=500)
    if erase == "keep" and not keep_reason:
        raise ConfigError(f"{where}: erase = 'keep' needs a keep_reason (it is shown to the requester)")
    if erase != "keep" and "keep_law" in data:
        raise ConfigError(f"{where}: 'keep_law' is only used with erase = 'keep'")
    return erase, keep_reason


def _table(data: Any, where: str) -> TableConfig:
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: must be a [[source.table]] section")
    name = _str(data, "name", where, required=True)
    where = f"{where} '{name}'"
    if not SOURCE_NAME.match(name):  # it names a file in the access package: no "/" or "../" (issue 25.16)
        raise ConfigError(f"{where}: a table name may use letters, digits, '_', '.', '-' (up to 63)")
    _unknown(data, TABLE_KEYS, where)
    match = _str(data, "match", where, required=True)
    erase, keep_reason = _erase(data, where)
    anonymize = _names(data, "anonymize", where) or ()
    if erase == "anonymize" and not anonymize:
        raise ConfigError(f"{where}: erase = 'anonymize' needs anonymize = [columns to blank]")
    if erase != "anonymize" and anonymize:
        raise ConfigError(f"{where}: 'anonymize' is only used with erase = 'anonymize'")
    raw_set = data.get("set", {})
    if not isinstance(raw_set, dict) or not all(isinstance(v, str | int | float | bool) for v in raw_set.values()):
        raise ConfigError(f"{where}: 'set' must be a table of column = value (string, number or boolean)")
    if erase == "set" and not raw_set:
        raise ConfigError(f"{where}: erase = 'set' needs set = {{ column = value }}")
    if erase != "set" and raw_set:
        raise ConfigError(f"{where}: 'set' is only used with erase = 'set'")
    export = _names(data, "export", where)
    return TableConfig(
        name=name, match=match, export=export, erase=erase, anonymize=anonymize,
        set_values=tuple(raw_set.items()), keep_reason=str(keep_reason), keep_reason_text=keep_reason,
        keep_law=read_text(data, "keep_law", where), label=read_text(data, "label", where, longest=80),
        columns=_column_labels(data, where, export),
    )


def _contact(data: dict[str, Any], where: str) -> str:
    """``contact``: an e-mail address (the contact itself is kept in the admin; the desk says if it is not)."""
    address = _str(data, "contact", where).strip().lower()
    if address:
        try:
            validate_email(address)
        except ValidationError as exc:
            raise ConfigError(f"{where}: contact = '{address}' is not an e-mail address") from exc
    return address


def _sql_url(url: str, where: str) -> str:
    parsed = parse_sql_url(url)
    if parsed is None:
        raise ConfigError(f"{where}: url is not a SQLAlchemy URL")
    # "postgresql://" means psycopg2 to SQLAlchemy; the desk ships psycopg 3.
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def _source(data: Any, index: int, environ: dict[str, str] | None) -> SourceConfig:
    where = f"source #{index}"
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: must be a [[source]] section")
    name = _str(data, "name", where, required=True)
    where = f"source '{name}'"
    if not SOURCE_NAME.match(name):
        raise ConfigError(f"{where}: name may use letters, digits, '_', '.', '-' (up to 63)")
    _unknown(data, SOURCE_KEYS, where)
    kind = _str(data, "kind", where, default="sql")
    if kind not in KINDS:
        raise ConfigError(f"{where}: kind = '{kind}' is not one of {', '.join(KINDS)}")
    url = expand_env(_str(data, "url", where, required=True), where, environ)
    common = {
        "name": name, "kind": kind, "label": read_text(data, "label", where, longest=80),
        "description": read_text(data, "description", where, longest=500), "time_zone": _time_zone(data, where),
        "contact": _contact(data, where),
        "connect_timeout": _seconds(data, "connect_timeout", where, DEFAULT_CONNECT_TIMEOUT),
        "statement_timeout": _seconds(data, "statement_timeout", where, DEFAULT_STATEMENT_TIMEOUT),
    }
    if kind == "http":
        if not url.startswith(("https://", "http://")):
            raise ConfigError(f"{where}: an http source needs an http(s):// url")
        if "table" in data:
            raise ConfigError(f"{where}: an http source has no [[source.table]]; it answers for itself")
        erase, keep_reason = _erase(data, where)
        if erase not in ("delete", "keep"):
            raise ConfigError(f"{where}: an http source erases with 'delete' (the service decides how) or 'keep'")
        token = expand_env(_str(data, "token", where), where, environ)
        records = TableConfig(name="records", match="email", export=None, erase=erase, keep_reason=str(keep_reason),
                              keep_reason_text=keep_reason, keep_law=read_text(data, "keep_law", where),
                              columns=_column_labels(data, where, None))
        return SourceConfig(url=url, token=token, tables=(records,), **common)  # type: ignore[arg-type]
    for key in ("token", "erase", "keep_reason", "keep_law", "columns"):
        if key in data:
            raise ConfigError(f"{where}: '{key}' belongs to http sources (sql sources set it per table)")
    tables_data = data.get("table", [])
    if not isinstance(tables_data, list) or not tables_data:
        raise ConfigError(f"{where}: needs at least one [[source.table]]")
    tables = tuple(_table(t, f"{where}, table #{i + 1}") for i, t in enumerate(tables_data))
    names = [t.name for t in tables]
    if len(set(names)) != len(names):
        raise ConfigError(f"{where}: a table is listed twice")
    erase_url = _str(data, "erase_url", where)
    return SourceConfig(
        url=_sql_url(url, where),
        erase_url=_sql_url(expand_env(erase_url, where, environ), where) if erase_url else "",
        tables=tables, **common,  # type: ignore[arg-type]
    )


def parse_sources(text: str, *, environ: dict[str, str] | None = None) -> tuple[SourceConfig, ...]:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"not valid TOML: {exc}") from exc
    unknown = sorted(set(data) - {"source"})
    if unknown:
        raise ConfigError(f"unknown top-level field(s) {', '.join(unknown)}; expected [[source]] sections")
    raw = data.get("source", [])
    if not isinstance(raw, list):
        raise ConfigError("'source' must be [[source]] sections")
    sources = tuple(_source(s, i + 1, environ) for i, s in enumerate(raw))
    names = [s.name for s in sources]
    if len(set(names)) != len(names):
        raise ConfigError("two sources have the same name")
    return sources


def load_sources(path: str | Path | None) -> tuple[SourceConfig, ...]:
    """The sources in the file, or none when no file is configured."""
    if not path:
        return ()
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise ConfigError(f"DESK_DATA_SOURCES names {file}, which does not exist") from exc
    except OSError as exc:
        raise ConfigError(f"cannot read {file}: {exc.strerror}") from exc
    try:
        return parse_sources(text)
    except ConfigError as exc:
        raise ConfigError(f"{file}: {exc}") from exc


def configured_sources() -> tuple[SourceConfig, ...]:
    """The sources of ``settings.DESK_DATA_SOURCES`` (read fresh: the file is small, edits apply)."""
    return load_sources(getattr(settings, "DESK_DATA_SOURCES", ""))
