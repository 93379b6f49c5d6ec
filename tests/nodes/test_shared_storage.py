"""Stateless nodes: uploads live in the database or an S3-compatible store, never only on the disk
of the node that received them (DESK_FILE_STORAGE, config/settings_storage.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import Client
from django.urls import reverse

from config.settings_storage import file_storage
from helpdesk.models import Attachment, StoredFile
from helpdesk.trust.destroy import destroy_after_commit
from tests.public.conftest import form_data
from tests.support.realservices import free_port

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n" + bytes(range(256)) * 8


def test_the_environment_chooses_the_storage(tmp_path: Path) -> None:
    assert file_storage(tmp_path, {})["BACKEND"].endswith("FileSystemStorage")
    database = file_storage(tmp_path, {"DESK_FILE_STORAGE": "database"})
    assert database == {"BACKEND": "helpdesk.models.stored_files.DatabaseStorage",
                        "OPTIONS": {"location": str(tmp_path)}}
    s3 = file_storage(tmp_path, {"DESK_FILE_STORAGE": "S3", "DESK_S3_BUCKET": "desk",
                                 "DESK_S3_ENDPOINT_URL": "https://minio.internal:9000"})
    assert s3["BACKEND"] == "storages.backends.s3.S3Storage"
    assert s3["OPTIONS"]["default_acl"] == "private" and s3["OPTIONS"]["file_overwrite"] is False
    assert s3["OPTIONS"]["endpoint_url"] == "https://minio.internal:9000"
    with pytest.raises(ImproperlyConfigured, match="DESK_S3_BUCKET"):
        file_storage(tmp_path, {"DESK_FILE_STORAGE": "s3"})
    with pytest.raises(ImproperlyConfigured, match="filesystem, database, s3"):
        file_storage(tmp_path, {"DESK_FILE_STORAGE": "nfs"})


def _submit_with_attachment(client: Client, capture: Any) -> Attachment:
    from django.core.files.uploadedfile import SimpleUploadedFile

    with capture(execute=True):
        response = client.post("/en/", {**form_data(), "attachments": [
            SimpleUploadedFile("id-card.pdf", PDF, content_type="application/pdf")]})
    assert response.status_code == 302, response.content[:500]
    return Attachment.objects.get()


def _download(user: Any, attachment: Attachment) -> bytes:
    staff = Client()
    staff.force_login(user)
    response = staff.get(reverse("desk:attachment", kwargs={"pk": attachment.pk}))
    assert response.status_code == 200
    return b"".join(response.streaming_content)  # type: ignore[attr-defined]


@pytest.mark.django_db
def test_database_storage_keeps_an_upload_as_a_row_any_node_can_serve(
        client: Client, admin_user: Any, settings: Any, tmp_path: Path,
        django_capture_on_commit_callbacks: Any) -> None:
    disk = tmp_path / "node-a-disk"
    settings.STORAGES = {**settings.STORAGES, "default": file_storage(disk, {"DESK_FILE_STORAGE": "database"})}
    attachment = _submit_with_attachment(client, django_capture_on_commit_callbacks)
    assert bytes(StoredFile.objects.get(name=attachment.file.name).content) == PDF
    assert not disk.exists() or not any(p.is_file() for p in disk.rglob("*"))  # nothing on this node
    assert _download(admin_user, attachment) == PDF
    with django_capture_on_commit_callbacks(execute=True):
        destroy_after_commit([(attachment.file.storage, attachment.file.name)])
    assert not StoredFile.objects.filter(name=attachment.file.name).exists()


@pytest.mark.django_db
def test_database_storage_still_reads_files_stored_on_disk_before(settings: Any, tmp_path: Path) -> None:
    (tmp_path / "attachments").mkdir()
    (tmp_path / "attachments" / "old.pdf").write_bytes(PDF)
    settings.STORAGES = {**settings.STORAGES, "default": file_storage(tmp_path, {"DESK_FILE_STORAGE": "database"})}
    from django.core.files.storage import default_storage

    with default_storage.open("attachments/old.pdf") as handle:
        assert handle.read() == PDF
    default_storage.delete("attachments/old.pdf")
    assert not (tmp_path / "attachments" / "old.pdf").exists()


@pytest.fixture
def s3_server() -> Iterator[str]:
    """An S3-compatible server on loopback (moto's standalone server, spoken to over HTTP)."""
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


@pytest.mark.django_db
def test_s3_storage_keeps_an_upload_private_in_the_bucket(
        client: Client, admin_user: Any, settings: Any, tmp_path: Path, s3_server: str,
        django_capture_on_commit_callbacks: Any) -> None:
    import boto3
    import requests

    environ = {"DESK_FILE_STORAGE": "s3", "DESK_S3_BUCKET": "privacy-desk", "DESK_S3_ENDPOINT_URL": s3_server,
               "DESK_S3_REGION": "ap-northeast-2", "DESK_S3_ACCESS_KEY_ID": "desk",
               "DESK_S3_SECRET_ACCESS_KEY": "desk-secret", "DESK_S3_ADDRESSING_STYLE": "path"}
    s3 = boto3.client("s3", endpoint_url=s3_server, region_name="ap-northeast-2", aws_access_key_id="desk",
                      aws_secret_access_key="desk-secret")
    s3.create_bucket(Bucket="privacy-desk", CreateBucketConfiguration={"LocationConstraint": "ap-northeast-2"})
    settings.STORAGES = {**settings.STORAGES, "default": file_storage(tmp_path, environ)}
    attachment = _submit_with_attachment(client, django_capture_on_commit_callbacks)
    key = f"privacy-desk/{attachment.file.name}"
    assert s3.get_object(Bucket="privacy-desk", Key=key)["Body"].read() == PDF
    grants = s3.get_object_acl(Bucket="privacy-desk", Key=key)["Grants"]
    assert all("AllUsers" not in str(grant.get("Grantee", {})) for grant in grants)
    assert requests.get(f"{s3_server}/privacy-desk/{key}", timeout=10).status_code == 403  # no anonymous read
    assert _download(admin_user, attachment) == PDF
    with django_capture_on_commit_callbacks(execute=True):
        destroy_after_commit([(attachment.file.storage, attachment.file.name)])
    assert s3.list_objects_v2(Bucket="privacy-desk").get("KeyCount", 0) == 0
