"""The words of the data sources file that a requester reads (issue 28.7): labels, descriptions and
keep-by-law reasons, each one string (both languages) or ``{ ko = "…", en = "…" }``, checked here.
:mod:`helpdesk.fulfilment.config` reads the rest of the file."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

LANGUAGES = ("ko", "en")
HANGUL = re.compile(r"[\uac00-\ud7a3\u3131-\u318e]")
CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class ConfigError(ValueError):
    """The data sources file is wrong; the message says where and how to fix it."""


@dataclass(frozen=True)
class Text:
    """Words the requester reads, in Korean and English (issue 28.7). Written in the file as
    ``{ ko = "…", en = "…" }`` or as one string used for both."""

    ko: str = ""
    en: str = ""

    def get(self, language: str) -> str:
        """The text in ``language`` ("ko" or "en"), else in the other one."""
        first, other = (self.ko, self.en) if str(language).startswith("ko") else (self.en, self.ko)
        return first or other

    def __bool__(self) -> bool:
        return bool(self.ko or self.en)

    def __str__(self) -> str:
        return " / ".join(dict.fromkeys(t for t in (self.ko, self.en) if t))

    def as_dict(self) -> dict[str, str]:
        return {language: text for language, text in (("ko", self.ko), ("en", self.en)) if text}

    @classmethod
    def from_dict(cls, data: Any) -> Text:
        if isinstance(data, str):
            return cls(ko=data, en=data)
        if not isinstance(data, dict):
            return cls()
        return cls(ko=str(data.get("ko", "")), en=str(data.get("en", "")))


def read_text(data: dict[str, Any], key: str, where: str, *, longest: int = 200) -> Text:
    """``key = "…"`` (both languages) or ``key = { ko = "…", en = "…" }``, checked."""
    if key not in data:
        return Text()
    value = data[key]
    where = f"{where}: '{key}'"
    if isinstance(value, str):
        if not value.strip():
            return Text()  # an empty string is as good as none (a required one says so where it is required)
        value = {"ko": value, "en": value}
    if not isinstance(value, dict) or not value:
        raise ConfigError(f"{where} must be a string or {{ ko = \"…\", en = \"…\" }}")
    unknown = sorted(set(value) - set(LANGUAGES))
    if unknown:
        raise ConfigError(f"{where}: unknown language(s) {', '.join(unknown)} (use ko and en)")
    for language, text in value.items():
        if not isinstance(text, str) or not text.strip():
            raise ConfigError(f"{where}: the {language} text must be a non-empty string")
        if CONTROL.search(text.strip()) or len(text.strip()) > longest:
            raise ConfigError(f"{where}: the {language} text must be one line of at most {longest} characters")
    ko, en = value.get("ko", "").strip(), value.get("en", "").strip()
    if ko and en and ko != en and not HANGUL.search(ko) and HANGUL.search(en):
        raise ConfigError(f"{where}: the Korean text is under en and the English under ko (swap them)")
    return Text(ko=ko, en=en)
