"""Reaching the company's own systems: SQL databases (SQLAlchemy Core) and HTTP services (httpx).

No ORM, no Django models here: a connector gets a :class:`~helpdesk.fulfilment.config.SourceConfig`
and an e-mail address and answers in plain data. Safety rules:

* SQL is built with SQLAlchemy Core from *reflected* tables: a table or column name from the
  config that the database does not have is an error before any statement runs, and identifiers
  are quoted by the dialect. The e-mail address is always a bound parameter.
* Every source has a connect timeout and a statement timeout (PostgreSQL ``statement_timeout``,
  SQLite's lock ``timeout``, MySQL ``read_timeout``; httpx connect/read timeouts).
* Errors become :class:`SourceError` with a short message that never contains a password.

The drivers (``connectors_sql``, ``connectors_http``) are imported by :func:`connector` when a
source of their kind is first used. SQLAlchemy and httpx take ~0.7 s to import, and every process
loads this app: the MTA pipe (one ``ingest_email`` process per mail), the web workers and the
beat would all pay it at start-up for a lookup they never run.
"""

from __future__ import annotations

import base64
import importlib
import math
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any, Protocol

from helpdesk.fulfilment.config import SourceConfig, TableConfig
from helpdesk.fulfilment.shapes import LookupResult, Record, SourceResult, TableResult

DRIVERS = {"sql": "helpdesk.fulfilment.connectors_sql", "http": "helpdesk.fulfilment.connectors_http"}

# Records returned per table at most: a lookup is about one person, not a table dump.
MAX_RECORDS_PER_TABLE = 5000


class SourceError(Exception):
    """A source could not answer (down, timed out, schema differs from the config)."""


@dataclass
class TableFound:
    name: str
    records: list[Record]
    erase: str
    keep_reason: str = ""
    truncated: bool = False

    def as_dict(self) -> TableResult:
        data: TableResult = {"name": self.name, "records": self.records, "erase": self.erase}
        if self.keep_reason:
            data["keep_reason"] = self.keep_reason
        if self.truncated:
            data["truncated"] = True
        return data


def jsonable(value: Any) -> Any:
    """A database value as JSON (the result is stored on the ticket and exported)."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return "base64:" + base64.b64encode(bytes(value)).decode()
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    return str(value)


def redact(text: str, secrets: Iterable[str]) -> str:
    """One line about what went wrong, without secrets."""
    text = text.strip().splitlines()[0] if text.strip() else "error"
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text[:500]


class Connector(Protocol):
    def find(self, email: str) -> list[TableFound]: ...

    def erase_table(self, email: str, cfg: TableConfig) -> int: ...


def connector(source: SourceConfig) -> Connector:
    driver = importlib.import_module(DRIVERS["http" if source.kind == "http" else "sql"])
    return driver.connector(source)


def lookup_source(source: SourceConfig, email: str) -> SourceResult:
    """One source's part of the result: ``{"name", "tables": [...], "error"}``; never raises."""
    try:
        tables = [t.as_dict() for t in connector(source).find(email)]
        return {"name": source.name, "kind": source.kind, "tables": tables, "error": None}
    except SourceError as exc:
        return {"name": source.name, "kind": source.kind, "tables": [], "error": str(exc)}


def lookup_all(sources: Iterable[SourceConfig], email: str) -> LookupResult:
    """Every source in turn; one that is down or slow fails alone (its own timeouts bound it)."""
    return {"sources": [lookup_source(source, email) for source in sources]}
