"""The lookup runs in a real Celery worker on Redis and reports progress source by source."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from helpdesk.fulfilment import services as fulfilment
from helpdesk.fulfilment.models import DataLookup, LookupStatus
from helpdesk.models import Ticket, User
from tests.fulfilment.conftest import HttpService, crm_toml, http_toml

pytestmark = pytest.mark.services


def test_a_real_worker_runs_the_lookup_with_progress(
        celery_worker_process: Any, use_sources: Callable[[str], Path], crm_db: Path, http_service: HttpService,
        verified_ticket: Callable[..., Ticket], admin_user: User) -> None:
    path = use_sources(crm_toml(crm_db) + http_toml(http_service, timeout=10))
    http_service.delay = 2  # the second source is slow: the first one's answer shows meanwhile
    ticket = verified_ticket("access")
    celery_worker_process({"DESK_DATA_SOURCES": str(path)})
    lookup = fulfilment.start_lookup(ticket=ticket, actor=admin_user)
    seen: set[tuple[str, int]] = set()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        row = DataLookup.objects.get(pk=lookup.pk)
        seen.add((row.status, row.sources_done))
        if not row.is_running:
            break
        time.sleep(0.1)
    assert row.status == LookupStatus.DONE, row.result
    assert (LookupStatus.RUNNING, 1) in seen  # progress: one of two sources answered
    assert [s["name"] for s in row.sources] == ["crm", "newsletter"]
    assert row.sources[1]["tables"][0]["records"] == [{"list": "product-news", "subscribed_at": "2025-05-01"}]
