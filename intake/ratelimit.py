"""A per-address request limit for the customer's pages, kept in the cache (Redis in production,
so every web worker counts together). Fixed one-minute windows: simple, and enough to stop a
script guessing tokens or flooding a form."""

from __future__ import annotations

import time

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest

WINDOW_SECONDS = 60


def client_address(request: HttpRequest) -> str:
    # Behind the TLS proxy REMOTE_ADDR is the proxy's; the proxy must set it from the client
    # (gunicorn's --forwarded-allow-ips / the proxy's real-IP module).
    return request.META.get("REMOTE_ADDR", "") or "unknown"


def over_limit(request: HttpRequest, scope: str, *, limit: int | None = None) -> bool:
    """Count this request; True once the address has made more than ``limit`` in this window."""
    limit = settings.CUSTOMER_RATE_LIMIT if limit is None else limit
    window = int(time.time() // WINDOW_SECONDS)
    key = f"ratelimit:{scope}:{client_address(request)}:{window}"
    cache.add(key, 0, WINDOW_SECONDS + 5)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, WINDOW_SECONDS + 5)
        count = 1
    return count > limit
