"""Rate limits on the real cache backend the desk uses in production (Redis, DB 4 for this area)."""

from __future__ import annotations

import os
from typing import Any

import pytest

from helpdesk.models import Ticket
from tests.public.conftest import form_data
from tests.support.realservices import require

pytestmark = [pytest.mark.services, pytest.mark.django_db]

REDIS_URL = os.environ.get("DESK_PUBLIC_TEST_REDIS_URL", "redis://127.0.0.1:6379/4")


def redis_up() -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping())
    except redis.RedisError:
        return False


def test_per_email_limit_holds_on_redis(client: Any, settings: Any, django_capture_on_commit_callbacks: Any) -> None:
    require(redis_up(), f"Redis at {REDIS_URL}")
    import redis

    redis.Redis.from_url(REDIS_URL).flushdb()
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
    settings.DESK_RATE_SUBMIT_EMAIL = "2/h"
    statuses = []
    with django_capture_on_commit_callbacks(execute=True):
        for _ in range(3):
            statuses.append(client.post("/en/", form_data(email="flood@example.com")).status_code)
    assert statuses == [302, 302, 429]
    assert Ticket.objects.count() == 2
    keys = redis.Redis.from_url(REDIS_URL).keys("*")
    assert keys, "the counters live in Redis"
