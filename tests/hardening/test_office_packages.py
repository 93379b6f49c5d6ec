"""Issue 25.2 and 25.3: zip bombs are never unpacked; an office type needs an office structure; the
stored name's extension matches the sniffed type (mail attachments and Contact Us uploads alike)."""

from __future__ import annotations

import io
import struct
import tracemalloc
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from helpdesk.intake.email.attachments import sniff_content_type
from helpdesk.intake.email.packages import MAX_MEMBERS
from helpdesk.intake.email.parser import parse_email
from helpdesk.intake.uploads import validate_uploads

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CONTENT_TYPES = (b'<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
                 b'<Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-'
                 b'officedocument.wordprocessingml.document.main+xml"/></Types>')


def _zip(members: list[tuple[str, bytes]], *, stored_first: bool = False) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for index, (name, content) in enumerate(members):
            kind = zipfile.ZIP_STORED if stored_first and index == 0 else zipfile.ZIP_DEFLATED
            archive.writestr(zipfile.ZipInfo(name), content, compress_type=kind)
    return buffer.getvalue()


def _docx(document: bytes = b"<w:document/>") -> bytes:
    return _zip([("[Content_Types].xml", CONTENT_TYPES), ("_rels/.rels", b"<Relationships/>"),
                 ("word/document.xml", document)])


def _peak_bytes_while(call: object) -> int:
    tracemalloc.start()
    try:
        call()  # type: ignore[operator]
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_a_real_office_document_keeps_its_type() -> None:
    assert sniff_content_type(_docx(), None) == DOCX
    odt = _zip([("mimetype", b"application/vnd.oasis.opendocument.text"), ("META-INF/manifest.xml", b"<m/>"),
                ("content.xml", b"<office/>")], stored_first=True)
    assert sniff_content_type(odt, None) == "application/vnd.oasis.opendocument.text"


def test_a_mimetype_bomb_is_read_only_as_far_as_the_check_needs() -> None:
    """The old check decompressed the whole ``mimetype`` member: 64 MB here, 20 GB in a 10 MB mail."""
    bomb = _zip([("mimetype", b"application/vnd.oasis.opendocument.text" + b" " * (64 * 1024 * 1024)),
                 ("META-INF/manifest.xml", b"<m/>")])
    peak = _peak_bytes_while(lambda: sniff_content_type(bomb, None))
    assert peak < 4 * 1024 * 1024
    assert sniff_content_type(bomb, None) == "application/zip"


def test_an_office_file_that_unpacks_to_far_more_than_it_weighs_is_not_a_document() -> None:
    bomb = _docx(b"<w:document>" + b"\0" * (50 * 1024 * 1024) + b"</w:document>")
    assert len(bomb) < 200_000
    assert sniff_content_type(bomb, None) == "application/zip"
    accepted, errors = validate_uploads([SimpleUploadedFile("report.docx", bomb)])
    assert accepted == [] and len(errors) == 1


def test_an_archive_that_lies_about_a_size_is_not_a_document() -> None:
    docx = bytearray(_docx())
    declared = len(CONTENT_TYPES) - 10  # [Content_Types].xml says it is shorter than it is
    for signature, size_at in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        at = docx.find(signature)  # the first member's local header, then its directory entry
        struct.pack_into("<I", docx, at + size_at, declared)
    assert sniff_content_type(bytes(docx), None) == "application/zip"


def test_an_archive_with_more_members_than_any_office_file_is_not_a_document() -> None:
    members = [("[Content_Types].xml", CONTENT_TYPES), ("word/document.xml", b"<w:document/>")]
    members += [(f"word/media/{i}.xml", b"") for i in range(MAX_MEMBERS)]
    assert sniff_content_type(_zip(members), None) == "application/zip"


@pytest.mark.parametrize(
    "members",
    [
        [("mimetype", b"application/pdf"), ("evil.exe", b"MZ\x90\x00")],  # a mimetype that is not ODF's
        [("word/document.xml", b"<w:document/>"), ("evil.exe", b"MZ")],  # "word/" without [Content_Types].xml
        [("mimetype", b"application/vnd.oasis.opendocument.text"), ("evil.exe", b"MZ")],  # no manifest
    ],
)
def test_a_zip_is_an_office_document_only_with_the_structure_of_one(members: list[tuple[str, bytes]]) -> None:
    assert sniff_content_type(_zip(members, stored_first=True), "application/pdf") == "application/zip"


def _mail_with_attachment(name: str, data: bytes, declared: str) -> bytes:
    import base64

    encoded = base64.encodebytes(data)
    return (b"From: a@example.com\r\nTo: privacy@example.com\r\nSubject: proof\r\nMessage-ID: <t@example.com>\r\n"
            b'MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="b"\r\n\r\n--b\r\n'
            b"Content-Type: text/plain\r\n\r\nsee attached\r\n--b\r\n"
            b"Content-Type: " + declared.encode() + b"\r\nContent-Transfer-Encoding: base64\r\n"
            b'Content-Disposition: attachment; filename="' + name.encode() + b'"\r\n\r\n' + encoded + b"--b--\r\n")


@pytest.mark.parametrize(
    ("name", "data", "declared", "stored_name", "stored_type"),
    [
        ("evil.exe", _zip([("mimetype", b"application/pdf"), ("evil.exe", b"MZ")], stored_first=True),
         "application/pdf", "evil.exe.zip", "application/zip"),
        ("readme.bat", b"echo hello\r\n", "text/plain", "readme.bat.txt", "text/plain"),
        ("proof.hta", b"<p>plain words</p>\n", "text/plain", "proof.hta.txt", "text/plain"),
        ("scan.pdf", b"%PDF-1.7\n", "application/pdf", "scan.pdf", "application/pdf"),
        ("photo.JPEG", b"\xff\xd8\xff\xe0", "image/jpeg", "photo.JPEG", "image/jpeg"),
        ("run.js", b"\x00\x01binary", "application/x-unknown", "run.js.bin", "application/x-unknown"),
    ],
)
def test_a_mail_attachment_is_stored_under_a_name_of_its_sniffed_type(
    name: str, data: bytes, declared: str, stored_name: str, stored_type: str
) -> None:
    (attachment,) = parse_email(_mail_with_attachment(name, data, declared)).attachments
    assert (attachment.filename, attachment.content_type) == (stored_name, stored_type)


@pytest.mark.parametrize(
    ("name", "data", "stored_name"),
    [("readme.bat", b"plain text\n", "readme.bat.txt"), ("proof.hta", b"plain text\n", "proof.hta.txt"),
     ("letter.txt", b"plain text\n", "letter.txt"), ("form.docx", _docx(), "form.docx"),
     ("form.pdf", _docx(), "form.pdf.docx")],
)
def test_an_upload_is_stored_under_a_name_of_its_sniffed_type(name: str, data: bytes, stored_name: str) -> None:
    accepted, errors = validate_uploads([SimpleUploadedFile(name, data)])
    assert errors == []
    assert [a.filename for a in accepted] == [stored_name]
