"""The HTTP driver of :mod:`helpdesk.fulfilment.connectors` (httpx, loaded on first use)."""

from __future__ import annotations

from typing import Any

import httpx

from helpdesk.fulfilment.config import SourceConfig, TableConfig
from helpdesk.fulfilment.connectors import MAX_RECORDS_PER_TABLE, SourceError, TableFound, jsonable, redact


def _describe(exc: httpx.HTTPError, source: SourceConfig) -> str:
    text = "timed out" if isinstance(exc, httpx.TimeoutException) else f"{type(exc).__name__}: {exc}"
    return redact(text, [source.token])


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


def connector(source: SourceConfig) -> HttpConnector:
    return HttpConnector(source)
