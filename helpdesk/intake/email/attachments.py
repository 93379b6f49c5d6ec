"""Attachment hygiene: safe filenames and content types sniffed from the bytes.

Declared types and names come from the (untrusted) sender; an ``.exe`` labelled
``image/png`` or a name like ``../../etc/passwd`` must not reach storage or the UI as-is.
"""

from __future__ import annotations

import re
import unicodedata

from .packages import zip_content_type

__all__ = ["EXTENSIONS", "safe_filename", "sniff_content_type"]

_MAX_NAME = 200
_UNSAFE_CHARS = re.compile(r'[<>:"|?*\x00-\x1f\x7f]')
_WINDOWS_RESERVED = re.compile(r"^(?:con|prn|aux|nul|com\d|lpt\d)(?:\..*)?$", re.IGNORECASE)
_MIME_RE = re.compile(r"^[a-z0-9][a-z0-9!#$&^_.+-]*/[a-z0-9][a-z0-9!#$&^_.+-]*$")

EXTENSIONS: dict[str, str] = {
    "application/pdf": ".pdf",
    "image/png": ".png",
    "image/jpeg": ".jpg",
    "image/gif": ".gif",
    "image/webp": ".webp",
    "image/bmp": ".bmp",
    "image/tiff": ".tif",
    "application/zip": ".zip",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": ".docx",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": ".xlsx",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation": ".pptx",
    "text/plain": ".txt",
    "text/html": ".html",
    "text/csv": ".csv",
    "message/rfc822": ".eml",
    "application/x-msdownload": ".exe",
    "application/x-ole-storage": ".bin",
    "application/gzip": ".gz",
}
# Declared types whose bytes have a well-known signature: if sniffing finds a different
# (or no) signature, the declared type is a lie and is not used.
_MAGIC_DECLARED = frozenset(
    {
        "application/pdf",
        "image/png",
        "image/jpeg",
        "image/jpg",
        "image/pjpeg",
        "image/gif",
        "application/zip",
        "application/x-zip-compressed",
        "image/webp",
        "image/bmp",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    }
)
_OLE_DECLARED = frozenset(
    {
        "application/msword",
        "application/vnd.ms-excel",
        "application/vnd.ms-powerpoint",
        "application/x-hwp",
        "application/haansofthwp",
        "application/vnd.hancom.hwp",
        "application/vnd.ms-outlook",
    }
)
_TEXT_DECLARED_OK = frozenset(
    {"application/json", "application/xml", "application/csv", "application/x-csv", "message/rfc822"}
)


def _looks_like_text(data: bytes) -> bool:
    sample = data[:4096]
    if b"\x00" in sample:
        return False
    if re.search(rb"[\x01-\x08\x0e-\x1a\x1c-\x1f\x7f]", sample):
        return False
    for codec in ("utf-8", "cp949"):
        try:
            sample.decode(codec)
            return True
        except UnicodeDecodeError as exc:
            if exc.start >= len(sample) - 4:  # multibyte char cut by the sample window
                return True
    return False


def _magic(data: bytes) -> str | None:
    if data.startswith(b"%PDF-"):
        return "application/pdf"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if data.startswith(b"RIFF") and data[8:12] == b"WEBP":
        return "image/webp"
    if data.startswith(b"BM") and len(data) > 14 and data[6:10] == b"\x00\x00\x00\x00":
        return "image/bmp"
    if data.startswith((b"II*\x00", b"MM\x00*")):
        return "image/tiff"
    if data.startswith((b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08")):
        return zip_content_type(data)  # office document only by its structure, never unpacked
    if data.startswith(b"MZ"):
        return "application/x-msdownload"
    if data.startswith(b"\x7fELF"):
        return "application/x-executable"
    if data.startswith(b"\x1f\x8b"):
        return "application/gzip"
    if data.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        return "application/x-ole-storage"
    return None


def sniff_content_type(data: bytes, declared: str | None) -> str:
    """Content type from magic bytes; the declared type only when the bytes say nothing."""
    declared_norm = (declared or "").strip().lower()
    if not _MIME_RE.match(declared_norm):
        declared_norm = ""
    magic = _magic(data)
    if magic == "application/x-ole-storage" and declared_norm in _OLE_DECLARED:
        return declared_norm
    if magic is not None:
        return magic
    if data and _looks_like_text(data):
        if declared_norm.startswith("text/") or declared_norm in _TEXT_DECLARED_OK:
            return declared_norm
        head = data[:512].lstrip().lower()
        if head.startswith((b"<!doctype html", b"<html")):
            return "text/html"
        if head.startswith(b"<svg") or (head.startswith(b"<?xml") and b"<svg" in data[:2048].lower()):
            return "image/svg+xml"
        return "text/plain"
    if not declared_norm or declared_norm in _MAGIC_DECLARED or declared_norm.startswith("text/"):
        return "application/octet-stream"
    return declared_norm


def safe_filename(name: str | None, index: int, content_type: str) -> str:
    """Basename only, no separators/control chars/leading dots, ≤200 chars, never empty."""
    text = unicodedata.normalize("NFC", name or "")
    text = text.replace("\\", "/").rsplit("/", 1)[-1]
    text = "".join(ch for ch in text if unicodedata.category(ch) not in ("Cc", "Cf", "Zl", "Zp"))
    text = _UNSAFE_CHARS.sub("_", text)
    text = " ".join(text.split())
    text = text.lstrip(". ").rstrip(". ")
    if _WINDOWS_RESERVED.match(text):
        text = "_" + text
    if not text:
        return f"attachment-{index}{EXTENSIONS.get(content_type, '.bin')}"
    if len(text) > _MAX_NAME:
        stem, dot, ext = text.rpartition(".")
        if dot and 0 < len(ext) <= 16 and stem:
            text = stem[: _MAX_NAME - len(ext) - 1].rstrip(". ") + "." + ext
        else:
            text = text[:_MAX_NAME].rstrip(". ")
    return text
