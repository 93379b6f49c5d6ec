"""``/healthz/``: is this web node able to do its work? JSON, 200 when every check passes, else 503.

Checks the database always, the Celery broker when ``CELERY_BROKER_URL`` is set and the IMAP
mailbox when ``DESK_IMAP_HOST`` is set (a TCP connect only: no login on every probe, so a
load balancer probing every few seconds cannot lock the mailbox account). Errors are reported by
class name only; details go to the log.
"""

from __future__ import annotations

import logging
import socket
import time
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from kombu import Connection

logger = logging.getLogger(__name__)

TIMEOUT_SECONDS = 3.0


def check_database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()


def check_broker() -> None:
    with Connection(settings.CELERY_BROKER_URL, connect_timeout=TIMEOUT_SECONDS,
                    transport_options={"socket_connect_timeout": TIMEOUT_SECONDS,
                                       "socket_timeout": TIMEOUT_SECONDS}) as broker:
        broker.ensure_connection(max_retries=1, interval_start=0, interval_step=0, timeout=TIMEOUT_SECONDS)


def check_mailbox() -> None:
    host = settings.DESK_IMAP_HOST
    port = int(getattr(settings, "DESK_IMAP_PORT", 993))
    with socket.create_connection((host, port), timeout=TIMEOUT_SECONDS):
        pass


def _checks() -> dict[str, Callable[[], None] | None]:
    return {
        "database": check_database,
        "broker": check_broker if getattr(settings, "CELERY_BROKER_URL", "") else None,
        "mailbox": check_mailbox if getattr(settings, "DESK_IMAP_HOST", "") else None,
    }


def run_checks() -> tuple[bool, dict[str, dict[str, Any]]]:
    results: dict[str, dict[str, Any]] = {}
    healthy = True
    for name, check in _checks().items():
        if check is None:
            results[name] = {"status": "not_configured"}
            continue
        started = time.monotonic()
        try:
            check()
        except Exception as exc:  # any failure means "not healthy"; the reason goes to the log
            healthy = False
            logger.warning("health check failed", extra={"check": name, "error": repr(exc)})
            results[name] = {"status": "fail", "error": type(exc).__name__}
        else:
            results[name] = {"status": "ok"}
        results[name]["ms"] = round((time.monotonic() - started) * 1000, 1)
    return healthy, results


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    healthy, results = run_checks()
    return JsonResponse({"status": "ok" if healthy else "fail", "checks": results},
                        status=200 if healthy else 503)
