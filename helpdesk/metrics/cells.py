"""Spreadsheet cell values that a spreadsheet program never runs (OWASP "CSV injection").

Subjects, names and addresses in an export come from strangers' mail and forms. A cell that
begins with ``=``, ``+``, ``-`` or ``@`` (or a tab or carriage return, which some programs skip
before reading such a sign) is a formula to Excel, LibreOffice and Google Sheets:
``=WEBSERVICE(...)`` would send the sheet's data elsewhere when a manager opens it. The same holds
for the company's own records in a requester's access package (``=HYPERLINK(...)`` in a CRM field,
a key an HTTP source chose). Every export and every CSV of the package passes every cell and header
through :func:`safe_cell`, which prefixes such text with a single quote — the
OWASP advice — so it reads as text in CSV and is stored as a string, never a formula, in XLSX.
It also shows control characters as their pictures, so any stored text can be written to XLSX.
"""

from __future__ import annotations

import re
from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

__all__ = ["FORMULA_STARTS", "safe_cell", "safe_row"]


# Control characters XML 1.0 cannot hold: openpyxl refuses the whole sheet for one of them (an ESC
# in a subject made every XLSX export of its period a 500, issue 25.8). Each is shown as its
# Unicode control picture (ESC → ␛), so the cell stays readable and says what was there.
_NOT_IN_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def _control_picture(match: re.Match[str]) -> str:
    return chr(0x2400 + ord(match.group()))


def safe_cell(value: Any) -> Any:
    """``value`` unchanged unless it is text a spreadsheet would read as a formula, or that holds a
    control character no spreadsheet file can store."""
    if not isinstance(value, str):
        return value
    value = _NOT_IN_XML.sub(_control_picture, value)
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def safe_row(values: Any) -> list[Any]:
    return [safe_cell(value) for value in values]
