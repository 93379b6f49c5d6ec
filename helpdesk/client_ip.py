"""The client's address as the desk's one trusted source gives it, for rate limits and sign-in lockout.

Behind the load balancer (docs/production.md) every request comes from the proxy, so
``REMOTE_ADDR`` is the proxy's address for everybody. The proxy writes the real client address
into a header it overwrites (nginx: ``proxy_set_header X-Real-IP $remote_addr``), named by
``RATELIMIT_IP_META_KEY`` (e.g. ``HTTP_X_REAL_IP``). django-ratelimit reads that setting itself;
django-axes reads it through :func:`client_ip` (``AXES_CLIENT_IP_CALLABLE``), so five wrong
passwords lock out the attacker's address, never everyone behind the proxy.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from django.conf import settings

__all__ = ["client_ip"]


def client_ip(request: Any) -> str | None:
    """The trusted header's address when it is set and valid; else the connection's address.

    A request without the header reached the application server directly (a health probe, a
    local command), so its connection address is the client's own.
    """
    remote = request.META.get("REMOTE_ADDR") or None
    key = getattr(settings, "RATELIMIT_IP_META_KEY", None)
    if not isinstance(key, str) or not key:
        return remote
    value = str(request.META.get(key, "")).strip()
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        return remote
