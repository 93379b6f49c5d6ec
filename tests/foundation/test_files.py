"""Files stored for rows: written once under a random name, removed if the rows roll back."""

from __future__ import annotations

import os
import stat

import pytest
from django.core.files.storage import default_storage
from django.db import transaction

from helpdesk import services
from helpdesk.models import Attachment


def test_store_new_file_writes_the_bytes_under_a_random_name() -> None:
    attachment = Attachment()
    services.store_new_file(attachment.file, "upload", b"%PDF-1.4 hello")
    name = attachment.file.name
    assert name.startswith("attachments/") and len(name.split("/")[2]) == 32
    assert default_storage.open(name).read() == b"%PDF-1.4 hello"
    mode = stat.S_IMODE(os.stat(default_storage.path(name)).st_mode)
    assert mode == 0o644  # FILE_UPLOAD_PERMISSIONS, as Django's own save would set it

    other = Attachment()
    services.store_new_file(other.file, "upload", b"")
    assert other.file.name.startswith("attachments/") and default_storage.open(other.file.name).read() == b""
    assert other.file.name != name


@pytest.mark.django_db(transaction=True)
def test_files_of_a_rolled_back_transaction_are_removed() -> None:
    stored = []
    with pytest.raises(RuntimeError), services.atomic_removing_files():
        for _ in range(3):
            attachment = Attachment()
            services.store_new_file(attachment.file, "upload", b"x" * 10)
            stored.append(attachment.file.name)
        assert all(default_storage.exists(name) for name in stored)
        raise RuntimeError("rolled back")
    assert not any(default_storage.exists(name) for name in stored)

    with services.atomic_removing_files():
        attachment = Attachment()
        services.store_new_file(attachment.file, "upload", b"kept")
        transaction.on_commit(lambda: None)
    assert default_storage.open(attachment.file.name).read() == b"kept"
