"""What a ZIP file is — an office document or just an archive — without unpacking it (issue 25).

An office file is a ZIP archive: OOXML (.docx/.xlsx/.pptx) has a ``[Content_Types].xml`` member and
its main part (``word/document.xml`` …); ODF (.odt …) has a ``mimetype`` member, first and stored
uncompressed, and ``META-INF/manifest.xml``. Only an archive with that structure is typed as an
office document; any other ZIP — one whose ``mimetype`` member claims PDF, say — is
``application/zip``, which neither the Contact Us form nor a download treats as a document.

Reading is bounded: the member count comes from the end record before the directory is parsed; at
most two small members are decompressed, streamed with a cap; and an archive that lies — declared
sizes beyond any office file, a member packed more than :data:`MAX_RATIO` times, a member whose real
content differs from its declared size or checksum — is never an office document. The file itself
is kept as it is (nothing is lost); nobody inside the desk ever unpacks it.
"""

from __future__ import annotations

import io
import re
import struct
import zipfile

__all__ = ["MAX_MEMBERS", "MAX_RATIO", "MAX_TOTAL_UNCOMPRESSED", "zip_content_type"]

ZIP = "application/zip"
MAX_MEMBERS = 2000  # a large workbook has a few hundred parts
MAX_TOTAL_UNCOMPRESSED = 200 * 1024 * 1024  # declared, all members together
MAX_RATIO = 200  # declared size ÷ compressed size of one member (office XML packs 5–30 times)
_MAX_SMALL_MEMBER = 256 * 1024  # mimetype and [Content_Types].xml are a few KB
_END_RECORD = b"PK\x05\x06"
_ODF_TYPE = re.compile(r"^application/vnd\.oasis\.opendocument\.[a-z.-]{1,60}$")
_OOXML_MAIN_PARTS = (
    ("word/document.xml", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
    ("xl/workbook.xml", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    ("ppt/presentation.xml", "application/vnd.openxmlformats-officedocument.presentationml.presentation"),
)


class _NotAPackage(Exception):
    pass


def _declared_member_count(data: bytes) -> int:
    """Entries in the end-of-central-directory record (the last 64 KB + 22 bytes hold it)."""
    at = data.rfind(_END_RECORD, max(0, len(data) - 65_557))
    if at < 0 or at + 22 > len(data):
        raise _NotAPackage
    (entries,) = struct.unpack_from("<H", data, at + 10)
    return int(entries)


def _read_small(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> bytes:
    """A member's content, streamed with a cap; it must be exactly as long as declared (zipfile
    checks the CRC at the end of the stream)."""
    if info.file_size > _MAX_SMALL_MEMBER:
        raise _NotAPackage
    with archive.open(info) as stream:
        content = stream.read(_MAX_SMALL_MEMBER + 1)
        if stream.read(1):
            raise _NotAPackage
    if len(content) != info.file_size:
        raise _NotAPackage
    return content


def _check_sizes(members: list[zipfile.ZipInfo]) -> None:
    if sum(info.file_size for info in members) > MAX_TOTAL_UNCOMPRESSED:
        raise _NotAPackage
    for info in members:
        if info.file_size > MAX_RATIO * max(info.compress_size, 1) + 1024:
            raise _NotAPackage


def _package_type(archive: zipfile.ZipFile) -> str:
    members = archive.infolist()
    if len(members) > MAX_MEMBERS:
        raise _NotAPackage
    _check_sizes(members)
    by_name = {info.filename: info for info in members}
    first = members[0] if members else None
    if (first is not None and first.filename == "mimetype" and first.compress_type == zipfile.ZIP_STORED
            and "META-INF/manifest.xml" in by_name):
        declared = _read_small(archive, first).decode("ascii", "replace").strip().lower()
        if _ODF_TYPE.match(declared):
            return declared
    content_types = by_name.get("[Content_Types].xml")
    if content_types is not None:
        _read_small(archive, content_types)  # readable, and as long as it says
        for main_part, content_type in _OOXML_MAIN_PARTS:
            if main_part in by_name:
                return content_type
    return ZIP


def zip_content_type(data: bytes) -> str:
    """The office type a ZIP file proves by its structure, else ``application/zip``."""
    try:
        if _declared_member_count(data) > MAX_MEMBERS:
            return ZIP
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return _package_type(archive)
    except (_NotAPackage, zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError, KeyError,
            RuntimeError, NotImplementedError, struct.error, UnicodeError):
        return ZIP
