"""Clearing the cache between tests without touching anyone else's keys."""

from django.conf import settings
from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache


def cache_clear() -> None:
    """Forget what this test process counted (rate limits, throttles). On Redis only the keys of
    this process's KEY_PREFIX go: ``cache.clear()`` is FLUSHDB, which would empty the database
    under every other test process, and any run, sharing REDIS_URL's database."""
    cache = caches["default"]
    if not isinstance(cache, RedisCache):
        cache.clear()  # in-process memory: this process's alone
        return
    fallback = getattr(cache, "_fallback", None)  # config.cache: what it counted with Redis away
    if fallback is not None:
        fallback.clear()
    prefix = settings.CACHES["default"]["KEY_PREFIX"]
    client = cache._cache.get_client(write=True)
    keys = list(client.scan_iter(match=f"{prefix}:*", count=1000))
    if keys:
        client.delete(*keys)
