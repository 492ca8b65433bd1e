"""The cache, when it is Redis: Django's Redis backend, made to degrade instead of failing.

Heed keeps nothing in the cache that it cannot lose: the customer pages' per-address limits
(``intake.ratelimit``) and DRF's per-user throttles count requests there so that every web
worker counts together. With Redis away, each of those reads raised ``ConnectionError`` and the
API and the tracking pages answered 500 (issue 15). Here, a failed Redis call is answered by an
in-process cache instead (Django's local-memory one), so the limits go on counting per process
— a little looser, never off — and the request is served. After a failure the process stops
trying Redis for ``RETRY_SECONDS`` (a request must not wait on a dead server every time), then
tries again, so the shared counting comes back by itself.

``cache_state()`` says whether this process is using its fallback (``/readyz`` pings Redis
itself; ``/metrics`` reports both)."""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from django.core.cache.backends.locmem import LocMemCache
from django.core.cache.backends.redis import RedisCache
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

log = logging.getLogger(__name__)

# How long a process answers from its own memory after Redis failed, before trying it again.
RETRY_SECONDS = 5.0
_UNREACHABLE = (RedisConnectionError, RedisTimeoutError, OSError)

_lock = threading.Lock()
_down_until = 0.0  # time.monotonic() until which Redis is not tried (shared by the threads)
_failures = 0


def cache_state() -> dict[str, Any]:
    """Whether this process is answering from its fallback, and how often Redis failed it."""
    return {"fallback": time.monotonic() < _down_until, "failures": _failures}


def _trip(error: Exception) -> None:
    global _down_until, _failures
    with _lock:
        first = time.monotonic() >= _down_until
        _down_until = time.monotonic() + RETRY_SECONDS
        _failures += 1
    if first:
        log.warning(
            "The cache (Redis) is unreachable: rate limits count in this process for %ss (%s)",
            RETRY_SECONDS,
            error,
        )


class ResilientRedisCache(RedisCache):
    """Django's ``RedisCache``; when Redis cannot be reached, a ``LocMemCache`` answers."""

    def __init__(self, server, params):
        super().__init__(server, params)
        # Local-memory caches of the same name share their storage within the process.
        self._fallback = LocMemCache(f"heed-fallback-{id(type(self))}", params)

    def _either(self, name: str, *args, **kwargs):
        if time.monotonic() < _down_until:
            return getattr(self._fallback, name)(*args, **kwargs)
        try:
            return getattr(super(), name)(*args, **kwargs)
        except _UNREACHABLE as error:
            _trip(error)
            return getattr(self._fallback, name)(*args, **kwargs)

    def add(self, *args, **kwargs):
        return self._either("add", *args, **kwargs)

    def get(self, *args, **kwargs):
        return self._either("get", *args, **kwargs)

    def set(self, *args, **kwargs):
        return self._either("set", *args, **kwargs)

    def touch(self, *args, **kwargs):
        return self._either("touch", *args, **kwargs)

    def delete(self, *args, **kwargs):
        return self._either("delete", *args, **kwargs)

    def get_many(self, *args, **kwargs):
        return self._either("get_many", *args, **kwargs)

    def has_key(self, *args, **kwargs):
        return self._either("has_key", *args, **kwargs)

    def incr(self, *args, **kwargs):
        return self._either("incr", *args, **kwargs)

    def set_many(self, *args, **kwargs):
        return self._either("set_many", *args, **kwargs)

    def delete_many(self, *args, **kwargs):
        return self._either("delete_many", *args, **kwargs)

    def clear(self):
        self._fallback.clear()
        return self._either("clear")
