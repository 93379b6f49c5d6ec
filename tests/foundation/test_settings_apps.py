"""Settings that depend on the database in use."""

from __future__ import annotations

import pytest
from django.apps import apps
from django.db import connection


@pytest.mark.django_db
def test_the_postgres_app_is_installed_only_with_postgresql() -> None:
    # On SQLite its import of psycopg only slowed every process's start (ingest_email per mail).
    assert apps.is_installed("django.contrib.postgres") == (connection.vendor == "postgresql")
