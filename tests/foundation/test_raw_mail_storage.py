"""Raw mail kept as database rows (helpdesk.models.stored_files): written with the transaction,
read and deleted through the storage API, files stored before still found under their names."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.core.files.storage import default_storage
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext

from helpdesk import services
from helpdesk.models import Message, Quarantine, StoredFile, raw_mail_storage
from helpdesk.services.files import database_files_together
from helpdesk.trust.destroy import destroy_after_commit

RAW = b"From: a@example.com\r\nSubject: =?UTF-8?B?7JWI64WV?=\r\n\r\n\xec\x95\x88\xeb\x85\x95 \x00\xff"


@pytest.mark.django_db
def test_raw_mail_is_a_row_of_the_transaction_not_a_file() -> None:
    message = Message()
    services.store_new_file(message.raw_message, "raw.eml", RAW)
    name = message.raw_message.name
    assert name.startswith("raw/") and name.endswith(".eml") and len(name.split("/")[2]) == 36
    assert bytes(StoredFile.objects.get(name=name).content) == RAW
    assert not default_storage.exists(name)  # nothing on disk
    with message.raw_message.open("rb") as handle:
        assert handle.read() == RAW
    assert raw_mail_storage().size(name) == len(RAW) and raw_mail_storage().exists(name)


@pytest.mark.django_db(transaction=True)
def test_a_rolled_back_transaction_leaves_no_raw_mail() -> None:
    names = []
    with pytest.raises(RuntimeError), services.atomic_removing_files():
        for _ in range(3):
            message = Message()
            services.store_new_file(message.raw_message, "raw.eml", RAW)
            names.append(message.raw_message.name)
        assert StoredFile.objects.filter(name__in=names).count() == 3
        raise RuntimeError("rolled back")
    assert not StoredFile.objects.exists()


@pytest.mark.django_db
def test_files_stored_together_are_one_insert_and_none_if_the_block_fails() -> None:
    messages = [Message() for _ in range(50)]
    with CaptureQueriesContext(connection) as queries, database_files_together():
        for message in messages:
            services.store_new_file(message.raw_message, "raw.eml", RAW + message.raw_message.field.name.encode())
        assert not StoredFile.objects.exists()  # not before the block ends
    # One executemany on SQLite (Django logs it as "50 times: INSERT …"); on PostgreSQL one COPY,
    # which Django does not log (so neither the bytes).
    inserts = [q["sql"] for q in queries.captured_queries if "INSERT" in q["sql"]]
    if connection.vendor == "sqlite":
        assert len(inserts) == 1 and inserts[0].startswith("50 times: INSERT")
    else:
        assert inserts == []
    assert StoredFile.objects.count() == 50
    assert {m.raw_message.name for m in messages} == set(StoredFile.objects.values_list("name", flat=True))

    with pytest.raises(ValueError), transaction.atomic(), database_files_together():
        services.store_new_file(Message().raw_message, "raw.eml", RAW)
        raise ValueError("not stored")
    assert StoredFile.objects.count() == 50


@pytest.mark.django_db
def test_a_name_is_never_overwritten() -> None:
    raw_mail_storage().insert([("raw/00/same.eml", b"first")])
    with pytest.raises(IntegrityError), transaction.atomic():
        raw_mail_storage().insert([("raw/00/same.eml", b"second")])
    assert bytes(StoredFile.objects.get(name="raw/00/same.eml").content) == b"first"


def _legacy_file(name: str, data: bytes) -> Path:
    """Raw mail written as a file by an earlier version, under the name its row holds."""
    path = Path(default_storage.path(name))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


@pytest.mark.django_db
def test_raw_mail_stored_as_a_file_before_is_still_read_and_destroyed(
        make_ticket: Any, django_capture_on_commit_callbacks: Any) -> None:
    ticket = make_ticket()
    message = ticket.messages.first()
    path = _legacy_file("raw/ab/0123456789abcdef0123456789abcdef.eml", RAW)
    Message.objects.filter(pk=message.pk).update(raw_message="raw/ab/0123456789abcdef0123456789abcdef.eml")
    message.refresh_from_db()
    with message.raw_message.open("rb") as handle:
        assert handle.read() == RAW
    assert raw_mail_storage().exists(message.raw_message.name)

    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        destroy_after_commit([(message.raw_message.storage, message.raw_message.name)])
        assert path.exists()  # a file cannot roll back: it goes after the commit
    assert not path.exists()


@pytest.mark.django_db(transaction=True)
def test_destroying_raw_mail_rows_happens_in_the_transaction(make_ticket: Any) -> None:
    message = Message()
    services.store_new_file(message.raw_message, "raw.eml", RAW)
    name = message.raw_message.name
    with pytest.raises(RuntimeError), transaction.atomic():
        destroy_after_commit([(raw_mail_storage(), name)])
        assert not StoredFile.objects.filter(name=name).exists()
        raise RuntimeError("the deletion of the rows naming it failed")
    assert StoredFile.objects.filter(name=name).exists()  # rolled back with them: nothing half-done

    with transaction.atomic():
        destroy_after_commit([(raw_mail_storage(), name)])
    assert not StoredFile.objects.filter(name=name).exists()


@pytest.mark.django_db
def test_quarantined_mail_stays_a_file_whatever_its_size() -> None:
    item, created = services.quarantine_message(raw_message=RAW, dedupe_key="sha256:x", reason="too_large",
                                                source="test")
    assert created and isinstance(item, Quarantine)
    assert Path(default_storage.path(item.raw_message.name)).read_bytes() == RAW
    assert not StoredFile.objects.exists()
    again, created = services.quarantine_message(raw_message=RAW, dedupe_key="sha256:x", reason="too_large")
    assert (again.pk, created) == (item.pk, False)


@pytest.mark.django_db
def test_size_path_and_save_of_a_row() -> None:
    from django.core.files.base import ContentFile

    storage = raw_mail_storage()
    content = ContentFile(RAW)
    content.read()  # already read (hashed, say): saving still stores every byte
    name = storage.save("raw/cd/saved.eml", content)
    assert name == "raw/cd/saved.eml" and storage.open(name).read() == RAW
    assert storage.size(name) == len(RAW)  # counted by the database
    with pytest.raises(NotImplementedError):
        storage.path(name)  # a row has no path
    assert storage.path("raw/ab/earlier.eml") == default_storage.path("raw/ab/earlier.eml")


@pytest.mark.django_db
def test_migrating_back_writes_every_row_out_as_its_file() -> None:
    import importlib

    from django.apps import apps

    migration = importlib.import_module("helpdesk.migrations.0013_raw_mail_in_database")
    raw_mail_storage().insert([("raw/01/a.eml", RAW), ("raw/02/b.eml", b"")])
    migration.rows_to_files(apps, type("Editor", (), {"connection": connection})())
    assert Path(default_storage.path("raw/01/a.eml")).read_bytes() == RAW
    assert Path(default_storage.path("raw/02/b.eml")).read_bytes() == b""


@pytest.mark.django_db
def test_sqlite_overwrites_what_it_deletes() -> None:
    if connection.vendor != "sqlite":
        pytest.skip("SQLite's pragma")
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA secure_delete")
        assert cursor.fetchone()[0] == 1


@pytest.mark.django_db
def test_the_admin_links_raw_mail_to_the_desk_s_checked_download(make_ticket: Any, client: Any) -> None:
    from django.urls import reverse

    from helpdesk.models import User

    client.force_login(User.objects.create_superuser("root", "root@example.com", "x"))
    message = make_ticket().messages.first()
    services.store_new_file(message.raw_message, "raw.eml", RAW)
    message.save(update_fields=["raw_message"])
    item, _created = services.quarantine_message(raw_message=RAW, dedupe_key="sha256:y", reason="unparseable")
    pages = {"message": (message.pk, "desk:raw_message"), "quarantine": (item.pk, "desk:quarantine_raw")}
    for model, (pk, download) in pages.items():
        page = client.get(reverse(f"admin:helpdesk_{model}_change", args=[pk]))
        assert page.status_code == 200
        assert f'href="{reverse(download, args=[pk])}"' in page.content.decode()
