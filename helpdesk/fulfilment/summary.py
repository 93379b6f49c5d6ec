"""The requester's data summary as a person reads it (issue 28, point 7).

The access package's ``summary.html``, the staff review page and the requester's own page show the
same thing, built here: each source by its configured name and description, each table and column
by its label (or a readable form of its name: ``created_at`` → "Created at"), times in the desk's
time zone in the reader's format, and why a table is kept by law, with its article, in the reader's
language. The words come from the data sources file as it was when the package was built
(:func:`presentation`, stored with the package), so the summary never changes after review.

Records become rows of (label, value) pairs (:mod:`helpdesk.fulfilment.records`): a record key named
``keys`` or ``values`` is just a column.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.utils import formats, translation
from django.utils.translation import gettext

from helpdesk.fulfilment.config import SourceConfig
from helpdesk.fulfilment.config_words import Text
from helpdesk.fulfilment.records import readable, record_grid

__all__ = ["SourceView", "TableView", "format_value", "presentation", "readable", "summary_views"]

_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:?\d{2})?$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def presentation(sources: tuple[SourceConfig, ...]) -> dict[str, Any]:
    """The words of the data sources file, as JSON kept with the package."""
    return {
        source.name: {
            "label": source.label.as_dict(), "description": source.description.as_dict(),
            "time_zone": source.time_zone,
            "tables": {
                table.name: {"label": table.label.as_dict(), "keep_reason": table.keep_reason_text.as_dict(),
                             "keep_law": table.keep_law.as_dict(),
                             "columns": {name: text.as_dict() for name, text in table.columns}}
                for table in source.tables
            },
        }
        for source in sources
    }


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name or settings.TIME_ZONE)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(settings.TIME_ZONE)


def format_value(value: Any, source_zone: ZoneInfo) -> str:
    """One value as the reader expects it (in the active language); times in the desk's time zone."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return gettext("Yes") if value else gettext("No")
    if isinstance(value, list | dict):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, str) and _DATETIME.match(value.strip()):
        try:
            moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            return value
        if moment.tzinfo is None:  # a time without an offset is in the source's time zone
            moment = moment.replace(tzinfo=source_zone)
        return formats.date_format(moment.astimezone(_zone("")), "DATETIME_FORMAT")
    if isinstance(value, str) and _DATE.match(value.strip()):
        try:
            return formats.date_format(date.fromisoformat(value.strip()), "DATE_FORMAT")
        except ValueError:
            return value
    return str(value)


@dataclass(frozen=True)
class TableView:
    name: str
    label: str
    count: int
    kept: bool  # kept by law if the requester asks for erasure
    keep_reason: str
    keep_law: str
    headers: list[str]
    rows: list[list[tuple[str, str]]]  # (label, value) pairs, in column order


@dataclass(frozen=True)
class SourceView:
    name: str
    label: str
    description: str
    tables: list[TableView]


def _text(data: Any, language: str, fallback: str = "") -> str:
    return Text.from_dict(data).get(language) or fallback


def summary_views(sources: Sequence[Mapping[str, Any]], words: dict[str, Any] | None,
                  language: str) -> list[SourceView]:
    """The lookup's sources as the reader reads them, in ``language`` (formats too)."""
    words = words or {}
    views = []
    with translation.override(language):
        for source in sources:
            about = words.get(source["name"], {})
            zone = _zone(about.get("time_zone", ""))
            tables = []
            for table in source.get("tables", []):
                table_words = about.get("tables", {}).get(table["name"], {})
                columns = table_words.get("columns", {})
                grid = record_grid(table.get("records", []))
                labels = {name: _text(columns.get(name), language, readable(name)) for name in grid.columns}
                tables.append(TableView(
                    name=table["name"], label=_text(table_words.get("label"), language, readable(table["name"])),
                    count=len(table.get("records", [])), kept=table.get("erase") == "keep",
                    keep_reason=_text(table_words.get("keep_reason"), language, table.get("keep_reason", "")),
                    keep_law=_text(table_words.get("keep_law"), language),
                    headers=[labels[name] for name in grid.columns],
                    rows=[[(labels[name], format_value(value, zone)) for name, value in row] for row in grid.rows],
                ))
            views.append(SourceView(name=source["name"], label=_text(about.get("label"), language,
                                                                     readable(source["name"])),
                                    description=_text(about.get("description"), language), tables=tables))
    return views


def summary_context(*, ticket: Any, email: str, sources: Sequence[Mapping[str, Any]], words: dict[str, Any] | None,
                    generated_at: datetime, processing: Any, languages: tuple[str, ...]) -> dict[str, Any]:
    """What ``fulfilment/_summary_body.html`` renders: one section per language."""
    return {"ticket": ticket, "email": email, "generated_at": generated_at, "processing": processing,
            "summaries": [(language, summary_views(sources, words, language)) for language in languages]}


def package_context(package: Any, languages: tuple[str, ...]) -> dict[str, Any]:
    """The summary of a built package, from what was stored when it was built."""
    return summary_context(ticket=package.ticket, email=package.lookup.email, sources=package.lookup.sources,
                           words=package.contents.get("presentation"), generated_at=package.built_at,
                           processing=package.contents.get("processing", []), languages=languages)
