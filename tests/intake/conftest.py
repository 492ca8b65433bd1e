"""Fixtures of the intake tests: the customer's pages count requests per address in the cache."""

import pytest
from django.core.cache import cache


@pytest.fixture(autouse=True)
def _cache_cleared():
    """Each test starts with no request counted, so rate-limit counters never leak between
    tests (the cache is in-process memory in tests, and outlives a test)."""
    cache.clear()
    yield
    cache.clear()
