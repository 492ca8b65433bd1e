"""A per-address request limit for the customer's pages, kept in the cache (Redis in production,
so every web worker counts together). Fixed one-minute windows: simple, and enough to stop a
script guessing tokens or flooding a form."""

from __future__ import annotations

import ipaddress
import time

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest

WINDOW_SECONDS = 60


def client_address(request: HttpRequest) -> str:
    """The address to count a request against. Behind ``TRUSTED_PROXY_HOPS`` proxies (the TLS
    proxy in front of gunicorn: 1) REMOTE_ADDR is the proxy's, so the client is the entry that
    many hops from the end of X-Forwarded-For (entries further left are the client's own say,
    and not believed). IPv6 addresses count by their /64, which one subscriber usually has."""
    address = request.META.get("REMOTE_ADDR", "")
    hops = settings.TRUSTED_PROXY_HOPS
    if hops:
        forwarded = [a.strip() for a in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
        forwarded = [a for a in forwarded if a]
        if len(forwarded) >= hops:
            address = forwarded[-hops]
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address or "unknown"
    if ip.version == 6:
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


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
