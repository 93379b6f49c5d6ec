"""A stored file's name ends in an extension of the type its bytes proved (issue 25).

Staff open attachments by their names: ``readme.bat`` holding plain text, ``evil.exe`` holding a ZIP
would run as a program on a double-click. Whatever the sender called a file, the stored name ends in
an extension of the sniffed type: a name whose extension does not fit gets the type's own one added
(``readme.bat`` → ``readme.bat.txt``), so the name the sender chose stays readable. For a type the
desk knows no extensions of, only an extension that runs something is neutralised (``.bin``).
"""

from __future__ import annotations

__all__ = ["EXTENSIONS_OF_TYPE", "typed_filename"]

EXTENSIONS_OF_TYPE: dict[str, tuple[str, ...]] = {
    "application/pdf": (".pdf",),
    "image/png": (".png",),
    "image/jpeg": (".jpg", ".jpeg", ".jpe", ".jfif"),
    "image/gif": (".gif",),
    "image/webp": (".webp",),
    "image/bmp": (".bmp",),
    "image/tiff": (".tif", ".tiff"),
    "image/heic": (".heic", ".heif"),
    "image/svg+xml": (".svg",),
    "application/zip": (".zip",),
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": (".docx",),
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": (".xlsx",),
    "application/vnd.openxmlformats-officedocument.presentationml.presentation": (".pptx",),
    "application/vnd.oasis.opendocument.text": (".odt",),
    "application/vnd.oasis.opendocument.spreadsheet": (".ods",),
    "application/vnd.oasis.opendocument.presentation": (".odp",),
    "application/x-hwp": (".hwp",),
    "application/msword": (".doc",),
    "application/vnd.ms-excel": (".xls",),
    "application/vnd.ms-powerpoint": (".ppt",),
    "application/vnd.ms-outlook": (".msg",),
    "application/x-ole-storage": (".doc", ".xls", ".ppt", ".msg", ".hwp"),
    "text/plain": (".txt", ".text", ".log", ".md"),
    "text/csv": (".csv",),
    "text/html": (".html", ".htm"),
    "text/calendar": (".ics",),
    "text/vcard": (".vcf",),
    "text/x-vcard": (".vcf",),
    "application/json": (".json",),
    "application/xml": (".xml",),
    "message/rfc822": (".eml",),
    "application/gzip": (".gz", ".tgz"),
    "application/x-msdownload": (".exe", ".dll"),
    "application/x-executable": (".bin",),
}
_MAX_NAME = 200  # as ``safe_filename``
# Extensions Windows (or a browser) runs or interprets as a program or a script.
_RUNNABLE = frozenset({
    ".exe", ".com", ".bat", ".cmd", ".scr", ".pif", ".hta", ".js", ".jse", ".vbs", ".vbe", ".wsf", ".wsh", ".ps1",
    ".psm1", ".msi", ".msp", ".cpl", ".jar", ".lnk", ".reg", ".inf", ".dll", ".sys", ".application", ".gadget",
    ".msc", ".scf", ".url", ".iso", ".img", ".vhd", ".vhdx", ".appx", ".msix",
})


def typed_filename(name: str, content_type: str) -> str:
    """``name`` (already made safe) ending in an extension of ``content_type``."""
    stem, dot, extension = name.rpartition(".")
    current = f".{extension.lower()}" if dot and stem else ""
    accepted = EXTENSIONS_OF_TYPE.get(content_type)
    if accepted is None:
        return _with_extension(name, ".bin") if current in _RUNNABLE else name
    if current in accepted or not current:  # no extension: nothing a double-click would run
        return name
    return _with_extension(name, accepted[0])


def _with_extension(name: str, extension: str) -> str:
    return name[: _MAX_NAME - len(extension)] + extension
