"""Spreadsheet cell values that a spreadsheet program never runs (OWASP "CSV injection").

Subjects, names and addresses in an export come from strangers' mail and forms. A cell that
begins with ``=``, ``+``, ``-`` or ``@`` (or a tab or carriage return, which some programs skip
before reading such a sign) is a formula to Excel, LibreOffice and Google Sheets:
``=WEBSERVICE(...)`` would send the sheet's data elsewhere when a manager opens it. The same holds
for the company's own records in a requester's access package (``=HYPERLINK(...)`` in a CRM field,
a key an HTTP source chose). Every export and every CSV of the package passes every cell and header
through :func:`safe_cell`, which prefixes such text with a single quote — the
OWASP advice — so it reads as text in CSV and is stored as a string, never a formula, in XLSX.
"""

from __future__ import annotations

from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

__all__ = ["FORMULA_STARTS", "safe_cell", "safe_row"]


def safe_cell(value: Any) -> Any:
    """``value`` unchanged unless it is text a spreadsheet would read as a formula."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def safe_row(values: Any) -> list[Any]:
    return [safe_cell(value) for value in values]
