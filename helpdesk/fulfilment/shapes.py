"""The lookup's JSON, typed: what ``DataLookup.result`` holds and the connectors answer.

``{"sources": [{"name", "kind", "tables": [{"name", "records", "erase", …}], "error"}]}`` — stored on
the ticket, exported in the access package, read by the erasure. Plain data: no Django here.
"""

from __future__ import annotations

from typing import Any, NotRequired, TypedDict

Record = dict[str, Any]  # one row of a source, its values made JSON-safe (connectors.jsonable)


class TableResult(TypedDict):
    name: str
    records: list[Record]
    erase: str  # the table's erase mode from the config: delete | anonymize | keep | set
    keep_reason: NotRequired[str]
    truncated: NotRequired[bool]  # more rows than MAX_RECORDS_PER_TABLE
    count: NotRequired[int]  # after an erasure the records are gone: only how many there were
    redacted: NotRequired[bool]


class SourceResult(TypedDict):
    name: str
    kind: str
    tables: list[TableResult]
    error: str | None


class LookupResult(TypedDict):
    sources: list[SourceResult]
