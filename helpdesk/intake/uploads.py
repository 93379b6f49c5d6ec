"""Files people upload (requesters on the form, staff on the desk and the API).

Bounded in number and size, typed by their bytes, safely named.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from helpdesk.intake.email.attachments import safe_filename, sniff_content_type
from helpdesk.intake.email.typednames import typed_filename
from helpdesk.services import NewAttachment

_HEIF_BRANDS = (b"heic", b"heix", b"hevc", b"heim", b"heis", b"mif1", b"msf1")


def sniff_upload(data: bytes, filename: str) -> str:
    """The content type the bytes prove; the browser's claim is never asked."""
    if data[4:8] == b"ftyp" and data[8:12] in _HEIF_BRANDS:
        return "image/heic"
    sniffed = sniff_content_type(data, None)
    # HWP (Hangul word processor) files are OLE containers; the name says which kind.
    if sniffed == "application/x-ole-storage" and filename.lower().endswith(".hwp"):
        return "application/x-hwp"
    return sniffed


def allowed_types_label() -> str:
    labels = {
        "application/pdf": "PDF", "image/jpeg": "JPEG", "image/png": "PNG", "image/gif": "GIF",
        "image/webp": "WebP", "image/heic": "HEIC", "text/plain": "TXT",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "DOCX",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "XLSX",
        "application/x-hwp": "HWP",
    }
    return ", ".join(labels.get(t, t) for t in settings.DESK_UPLOAD_ALLOWED_TYPES)


def megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):.0f} MB"


def validate_uploads(files: list[UploadedFile]) -> tuple[list[NewAttachment], list[str]]:
    """Checked attachments, or the errors to show next to the field (one line per file)."""
    errors: list[str] = []
    accepted: list[NewAttachment] = []
    limit = settings.DESK_UPLOAD_MAX_BYTES
    if len(files) > settings.DESK_UPLOAD_MAX_FILES:
        errors.append(_("Attach at most %(count)d files.") % {"count": settings.DESK_UPLOAD_MAX_FILES})
        return [], errors
    for index, upload in enumerate(files, start=1):
        name = safe_filename(upload.name, index, "")
        if upload.size is None or upload.size > limit:
            errors.append(_("“%(name)s” is larger than %(limit)s.") % {"name": name, "limit": megabytes(limit)})
            continue
        if upload.size == 0:
            errors.append(_("“%(name)s” is empty.") % {"name": name})
            continue
        data = upload.read(limit + 1)
        content_type = sniff_upload(data, name)
        if content_type not in settings.DESK_UPLOAD_ALLOWED_TYPES:
            errors.append(
                _("“%(name)s” is not a file type we accept. Accepted: %(types)s.")
                % {"name": name, "types": allowed_types_label()}
            )
            continue
        accepted.append(NewAttachment(filename=typed_filename(name, content_type), content_type=content_type,
                                      data=data))
    return accepted, errors


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files in one input (Django's documented recipe); checked as a group."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("widget", MultipleFileInput())
        kwargs.setdefault("required", False)
        super().__init__(*args, **kwargs)

    def clean(self, data: Any, initial: Any = None) -> list[UploadedFile]:
        if not data:
            return []
        files = data if isinstance(data, list | tuple) else [data]
        return [f for f in files if f]


def attachments_help() -> str:
    return str(
        gettext_lazy("Up to %(count)d files, %(size)s each: %(types)s.")
        % {"count": settings.DESK_UPLOAD_MAX_FILES, "size": megabytes(settings.DESK_UPLOAD_MAX_BYTES),
           "types": allowed_types_label()}
    )


class AttachmentsMixin(forms.Form):
    attachments = MultipleFileField(label=gettext_lazy("Attachments (optional)"))
    checked_attachments: list[NewAttachment]

    def clean_attachments(self) -> list[UploadedFile]:
        files = self.cleaned_data.get("attachments") or []
        accepted, errors = validate_uploads(files)
        if errors:
            raise forms.ValidationError(errors)
        self.checked_attachments = accepted
        return files


# A power of attorney is a signed paper: a scan or a photo of it, nothing else (Decree Art. 45(2)).
POWER_OF_ATTORNEY_TYPES = ("application/pdf", "image/jpeg", "image/png", "image/heic", "image/webp")


def validate_power_of_attorney(upload: UploadedFile) -> NewAttachment:
    """The power of attorney, checked by its bytes and size; ``forms.ValidationError`` otherwise."""
    limit = settings.DESK_UPLOAD_MAX_BYTES
    name = safe_filename(upload.name, 1, "")
    if upload.size is None or upload.size > limit:
        raise forms.ValidationError(_("The power of attorney “%(name)s” is larger than %(limit)s.")
                                    % {"name": name, "limit": megabytes(limit)})
    data = upload.read(limit + 1)
    if not data:
        raise forms.ValidationError(_("The power of attorney “%(name)s” is empty.") % {"name": name})
    content_type = sniff_upload(data, name)
    if content_type not in POWER_OF_ATTORNEY_TYPES:
        raise forms.ValidationError(_("The power of attorney must be a PDF or a photo (JPEG, PNG, HEIC, WebP); "
                                      "“%(name)s” is not.") % {"name": name})
    return NewAttachment(filename=typed_filename(name, content_type), content_type=content_type, data=data)
