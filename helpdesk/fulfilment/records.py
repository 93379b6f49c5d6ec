"""A table of found records as columns and aligned rows, for the package's CSV files and summary
and the desk's review table.

Records are JSON objects from the company's sources; an HTTP source may answer records with
different keys. Rendering a dict in a Django template (``record.keys``, ``record.values``) is a
lookup of the key ``keys`` first, so a record key named ``keys`` or ``values`` would replace the
header or the cells. Here every record becomes a row of (column, value) pairs under the union of
all columns (first-seen order), ``None`` where a record lacks a column — the template iterates
lists only.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

__all__ = ["RecordGrid", "readable", "record_grid"]


@dataclass(frozen=True)
class RecordGrid:
    columns: list[str]
    rows: list[list[tuple[str, Any]]]  # one (column, value) pair per column, in column order

    def values(self, *, flatten: bool = False) -> list[list[Any]]:
        """The rows' values; ``flatten`` writes lists and objects as JSON text (for CSV)."""
        return [[_flat(value) if flatten else value for _column, value in row] for row in self.rows]


def _flat(value: Any) -> Any:
    return json.dumps(value, ensure_ascii=False) if isinstance(value, list | dict) else value


def record_grid(records: list[dict[str, Any]]) -> RecordGrid:
    columns: dict[str, None] = {}
    for record in records:
        columns.update(dict.fromkeys(str(key) for key in record))
    names = list(columns)
    return RecordGrid(columns=names, rows=[[(name, record.get(name)) for name in names] for record in records])


def readable(code: str) -> str:
    """A name as words when nobody wrote a label (the requester's summary, the exports' headers):
    ``created_at`` → "Created at", ``demo-crm`` → "Demo CRM"."""
    words = [w.upper() if w.lower() in _ACRONYMS else w for w in str(code).replace("_", " ").replace("-", " ").split()]
    text = " ".join(words)
    return text[:1].upper() + text[1:] if text else str(code)


_ACRONYMS = {"id", "url", "ip", "crm", "krw", "sms"}
