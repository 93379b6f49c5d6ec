"""One-line fields: names, organisations, phone numbers, subjects.

Such a value is printed into plain-text mail, mail headers and exports. A line break in it lets a
stranger write extra lines there — ``Evil\\r\\nBcc: x@y.z`` would read as a header line in the
acknowledgement — so a one-line value must carry no line break (CR, LF, NEL, U+2028, U+2029) and no
other control character. People typing into the form or the API get a field error
(:func:`validate_one_line`); mail headers, which nobody can correct any more, are folded to single
spaces at intake (:func:`fold`).
"""

from __future__ import annotations

import re
import unicodedata

from django.core.exceptions import ValidationError

__all__ = ["FORBIDDEN", "fold", "has_forbidden", "validate_one_line"]

# C0 and C1 controls (tab, CR, LF, NEL among them), DEL, and the Unicode line/paragraph separators.
FORBIDDEN = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_FOLD = re.compile(r"(?:\s|[\x00-\x1f\x7f-\x9f\u2028\u2029])+")


def has_forbidden(value: str) -> bool:
    return FORBIDDEN.search(value) is not None


def fold(value: str) -> str:
    """``value`` on one line: NFC, every run of whitespace or control characters one space."""
    return _FOLD.sub(" ", unicodedata.normalize("NFC", value)).strip()


def validate_one_line(value: str) -> None:
    """Django/DRF field validator: refuse line breaks and control characters."""
    # Imported here: the mail parser imports this module (for fold) and needs no translations.
    from django.utils.translation import gettext as _

    if isinstance(value, str) and has_forbidden(value):
        raise ValidationError(
            _("This field must be a single line: remove line breaks, tabs and control characters."),
            code="not_one_line",
        )
