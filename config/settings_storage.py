"""Where uploaded files, attachments, quarantined mail and access packages are kept.

A node must keep nothing of its own when the desk runs on several web nodes behind a load balancer:
a file uploaded through node A must open on node B. ``DESK_FILE_STORAGE`` chooses (docs/production.md):

- ``filesystem`` (default): ``PRIVATE_STORAGE_ROOT`` on this machine's disk. One node, or a shared
  mount (NFS) at the same path on every node.
- ``database``: rows of the desk's own database (:class:`helpdesk.models.stored_files.DatabaseStorage`,
  already used for raw mail). Nothing else to run; files written in a transaction commit or roll back
  with it. Files stored earlier under ``PRIVATE_STORAGE_ROOT`` are still read from there.
- ``s3``: an S3-compatible object store (AWS S3, MinIO, Ceph RGW, …) through django-storages
  (``pip install 'privacy-desk[s3]'``). Objects are private and reached only through the desk's
  permission-checked views.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from django.core.exceptions import ImproperlyConfigured

CHOICES = ("filesystem", "database", "s3")


def file_storage(private_root: Path, environ: os._Environ[str] | dict[str, str] = os.environ) -> dict[str, Any]:
    """The ``STORAGES["default"]`` entry the environment asks for."""
    choice = environ.get("DESK_FILE_STORAGE", "filesystem").strip().lower()
    if choice == "filesystem":
        return {"BACKEND": "django.core.files.storage.FileSystemStorage",
                "OPTIONS": {"location": str(private_root), "base_url": "/_private/"}}
    if choice == "database":
        return {"BACKEND": "helpdesk.models.stored_files.DatabaseStorage",
                "OPTIONS": {"location": str(private_root)}}
    if choice == "s3":
        return {"BACKEND": "storages.backends.s3.S3Storage", "OPTIONS": _s3_options(environ)}
    raise ImproperlyConfigured(f"DESK_FILE_STORAGE={choice!r}: choose one of {', '.join(CHOICES)}")


def _s3_options(environ: os._Environ[str] | dict[str, str]) -> dict[str, Any]:
    bucket = environ.get("DESK_S3_BUCKET", "")
    if not bucket:
        raise ImproperlyConfigured("DESK_FILE_STORAGE=s3 needs DESK_S3_BUCKET (and credentials: docs/production.md)")
    options: dict[str, Any] = {
        "bucket_name": bucket,
        "location": environ.get("DESK_S3_PREFIX", "privacy-desk"),
        "default_acl": "private",  # never public: the desk's views check permissions and stream the bytes
        "querystring_auth": True,
        "file_overwrite": False,  # names are random anyway; never replace evidence
        "object_parameters": {},
    }
    optional = {"endpoint_url": "DESK_S3_ENDPOINT_URL", "region_name": "DESK_S3_REGION",
                "access_key": "DESK_S3_ACCESS_KEY_ID", "secret_key": "DESK_S3_SECRET_ACCESS_KEY",
                "addressing_style": "DESK_S3_ADDRESSING_STYLE"}
    for option, name in optional.items():
        if environ.get(name):
            options[option] = environ[name]
    if environ.get("DESK_S3_SERVER_SIDE_ENCRYPTION"):  # e.g. AES256 or aws:kms
        options["object_parameters"]["ServerSideEncryption"] = environ["DESK_S3_SERVER_SIDE_ENCRYPTION"]
    return options
