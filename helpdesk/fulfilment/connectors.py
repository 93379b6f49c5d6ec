"""Reaching the company's own systems: SQL databases (SQLAlchemy Core) and HTTP services (httpx).

No ORM, no Django models here: a connector gets a :class:`~helpdesk.fulfilment.config.SourceConfig`
and an e-mail address and answers in plain data. Safety rules:

* SQL is built with SQLAlchemy Core from *reflected* tables: a table or column name from the
  config that the database does not have is an error before any statement runs, and identifiers
  are quoted by the dialect. The e-mail address is always a bound parameter.
* Every source has a connect timeout and a statement timeout (PostgreSQL ``statement_timeout``,
  SQLite's lock ``timeout``, MySQL ``read_timeout``; httpx connect/read timeouts).
* Errors become :class:`SourceError` with a short message that never contains a password.
"""

from __future__ import annotations

import base64
import math
import uuid
import warnings
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import Boolean, Integer, MetaData, Numeric, String, Table, create_engine, delete, func, inspect, select
from sqlalchemy import update as sql_update
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import SAWarning, SQLAlchemyError
from sqlalchemy.pool import NullPool

from helpdesk.fulfilment.config import SourceConfig, TableConfig

# Records returned per table at most: a lookup is about one person, not a table dump.
MAX_RECORDS_PER_TABLE = 5000


class SourceError(Exception):
    """A source could not answer (down, timed out, schema differs from the config)."""


@dataclass
class TableFound:
    name: str
    records: list[dict[str, Any]]
    erase: str
    keep_reason: str = ""
    truncated: bool = False

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"name": self.name, "records": self.records, "erase": self.erase}
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


def _describe(exc: BaseException, source: SourceConfig) -> str:
    """One line about what went wrong, without secrets."""
    if isinstance(exc, httpx.TimeoutException):
        text = "timed out"
    elif isinstance(exc, httpx.HTTPError):
        text = f"{type(exc).__name__}: {exc}"
    elif isinstance(exc, SQLAlchemyError):
        original = getattr(exc, "orig", None)
        text = f"{type(original or exc).__name__}: {original or exc}"
    else:
        text = f"{type(exc).__name__}: {exc}"
    text = text.strip().splitlines()[0] if text.strip() else type(exc).__name__
    for secret in _secrets(source):
        text = text.replace(secret, "***")
    return text[:500]


def _secrets(source: SourceConfig) -> Iterable[str]:
    if source.token:
        yield source.token
    for url in (source.url, source.erase_url):
        if url and source.kind == "sql":
            password = make_url(url).password
            if password:
                yield str(password)


class SqlConnector:
    def __init__(self, source: SourceConfig) -> None:
        self.source = source

    def _engine(self, url: str) -> Engine:
        parsed = make_url(url)
        backend = parsed.get_backend_name()
        connect_args: dict[str, Any] = {}
        if backend == "postgresql":
            connect_args = {
                "connect_timeout": max(1, math.ceil(self.source.connect_timeout)),
                "options": f"-c statement_timeout={int(self.source.statement_timeout * 1000)}",
            }
        elif backend == "sqlite":
            database = parsed.database or ""
            # SQLite would silently create an empty file for a wrong path.
            if database and database != ":memory:" and not database.startswith("file:") and not Path(database).exists():
                raise SourceError(f"SQLite database file {database} does not exist")
            connect_args = {"timeout": self.source.statement_timeout}
        elif backend in ("mysql", "mariadb"):
            connect_args = {"connect_timeout": max(1, math.ceil(self.source.connect_timeout)),
                            "read_timeout": max(1, math.ceil(self.source.statement_timeout))}
        # No pool: a lookup is rare and a dead connection must not be reused by the next one.
        return create_engine(url, poolclass=NullPool, connect_args=connect_args)

    def _reflect(self, conn: Connection, tables: Iterable[TableConfig]) -> dict[str, Table]:
        wanted = list(tables)
        inspector = inspect(conn)
        existing = set(inspector.get_table_names()) | set(inspector.get_view_names())
        for cfg in wanted:
            if cfg.name not in existing:
                raise SourceError(f"table '{cfg.name}' does not exist in source '{self.source.name}'")
        metadata = MetaData()
        with warnings.catch_warnings():  # e.g. lower(email) indexes: fine, we only need the columns
            warnings.simplefilter("ignore", SAWarning)
            metadata.reflect(bind=conn, only=[cfg.name for cfg in wanted], views=True)
        reflected = {cfg.name: metadata.tables[cfg.name] for cfg in wanted}
        for cfg in wanted:
            columns = set(reflected[cfg.name].c.keys())
            named = [cfg.match, *(cfg.export or ()), *cfg.touched_columns]
            missing = [name for name in named if name not in columns]
            if missing:
                raise SourceError(f"table '{cfg.name}' in source '{self.source.name}' has no column(s) "
                                  f"{', '.join(missing)}")
        return reflected

    def find(self, email: str) -> list[TableFound]:
        address = email.strip().lower()
        found = []
        engine = self._engine(self.source.url)
        try:
            with engine.connect() as conn:
                tables = self._reflect(conn, self.source.tables)
                for cfg in self.source.tables:
                    table = tables[cfg.name]
                    columns = [table.c[name] for name in cfg.export] if cfg.export else list(table.c)
                    statement = (select(*columns).where(func.lower(table.c[cfg.match]) == address)
                                 .limit(MAX_RECORDS_PER_TABLE + 1))
                    rows = [{key: jsonable(value) for key, value in row.items()}
                            for row in conn.execute(statement).mappings()]
                    found.append(TableFound(
                        name=cfg.name, records=rows[:MAX_RECORDS_PER_TABLE], erase=cfg.erase,
                        keep_reason=cfg.keep_reason, truncated=len(rows) > MAX_RECORDS_PER_TABLE,
                    ))
        except SourceError:
            raise
        except Exception as exc:
            raise SourceError(_describe(exc, self.source)) from exc
        finally:
            engine.dispose()
        return found

    def _blank(self, table: Table, name: str) -> Any:
        column = table.c[name]
        if column.nullable:
            return None
        if isinstance(column.type, String):
            return ""
        if isinstance(column.type, Boolean):
            return False
        if isinstance(column.type, Integer | Numeric):
            return 0
        raise SourceError(f"column '{name}' of '{table.name}' is NOT NULL and not text or a number: "
                          "it cannot be anonymised; choose erase = 'delete' or another column")

    def erase_table(self, email: str, cfg: TableConfig) -> int:
        """Delete, anonymise or set the table's matching rows in one transaction; rows affected."""
        address = email.strip().lower()
        engine = self._engine(self.source.erase_url or self.source.url)
        try:
            with engine.begin() as conn:
                table = self._reflect(conn, [cfg])[cfg.name]
                where = func.lower(table.c[cfg.match]) == address
                if cfg.erase == "delete":
                    result = conn.execute(delete(table).where(where))
                elif cfg.erase == "anonymize":
                    values = {name: self._blank(table, name) for name in cfg.anonymize}
                    result = conn.execute(sql_update(table).where(where).values(**values))
                elif cfg.erase == "set":
                    result = conn.execute(sql_update(table).where(where).values(**dict(cfg.set_values)))
                else:
                    return 0
                return int(result.rowcount or 0)
        except SourceError:
            raise
        except Exception as exc:
            raise SourceError(_describe(exc, self.source)) from exc
        finally:
            engine.dispose()


class HttpConnector:
    """A service with its own endpoint: ``POST {"action": "find"|"erase", "email": ...}`` → JSON.

    ``find`` answers a list of records (or ``{"records": [...]}``); ``erase`` answers
    ``{"erased": n}`` (or the records it erased).
    """

    def __init__(self, source: SourceConfig) -> None:
        self.source = source

    def _post(self, action: str, email: str) -> Any:
        headers = {"Accept": "application/json"}
        if self.source.token:
            headers["Authorization"] = f"Bearer {self.source.token}"
        timeout = httpx.Timeout(self.source.statement_timeout, connect=self.source.connect_timeout)
        try:
            with httpx.Client(timeout=timeout, follow_redirects=False) as client:
                response = client.post(self.source.url, json={"action": action, "email": email.strip().lower()},
                                       headers=headers)
        except httpx.HTTPError as exc:
            raise SourceError(_describe(exc, self.source)) from exc
        if response.status_code != 200:
            raise SourceError(f"the service answered HTTP {response.status_code}")
        try:
            return response.json()
        except ValueError as exc:
            raise SourceError("the service did not answer JSON") from exc

    def _records(self, data: Any) -> list[dict[str, Any]]:
        records = data.get("records") if isinstance(data, dict) else data
        if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
            raise SourceError("the service's answer is not a list of records")
        return [{str(k): jsonable(v) for k, v in r.items()} for r in records[:MAX_RECORDS_PER_TABLE]]

    def find(self, email: str) -> list[TableFound]:
        cfg = self.source.tables[0]
        records = self._records(self._post("find", email))
        return [TableFound(name=cfg.name, records=records, erase=cfg.erase, keep_reason=cfg.keep_reason)]

    def erase_table(self, email: str, cfg: TableConfig) -> int:
        if cfg.erase == "keep":
            return 0
        data = self._post("erase", email)
        if isinstance(data, dict) and isinstance(data.get("erased"), int) and not isinstance(data["erased"], bool):
            return int(data["erased"])
        return len(self._records(data))


def connector(source: SourceConfig) -> SqlConnector | HttpConnector:
    return HttpConnector(source) if source.kind == "http" else SqlConnector(source)


def lookup_source(source: SourceConfig, email: str) -> dict[str, Any]:
    """One source's part of the result: ``{"name", "tables": [...], "error"}``; never raises."""
    try:
        tables = [t.as_dict() for t in connector(source).find(email)]
        return {"name": source.name, "kind": source.kind, "tables": tables, "error": None}
    except SourceError as exc:
        return {"name": source.name, "kind": source.kind, "tables": [], "error": str(exc)}


def lookup_all(sources: Iterable[SourceConfig], email: str) -> dict[str, Any]:
    """Every source in turn; one that is down or slow fails alone (its own timeouts bound it)."""
    return {"sources": [lookup_source(source, email) for source in sources]}
