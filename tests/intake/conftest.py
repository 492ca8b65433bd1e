"""Fixtures of the intake tests: the customer's pages count requests per address in the cache."""

import pytest

from ..caches import cache_clear


@pytest.fixture(autouse=True)
def _cache_cleared():
    """Each test starts with no request counted, so rate-limit counters never leak between
    tests (the cache outlives a test)."""
    cache_clear()
    yield
    cache_clear()
