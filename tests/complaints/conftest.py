"""What the tests of the core share beyond the cast (tests/conftest.py)."""

from __future__ import annotations

import pytest

from complaints.models import Case

from ..caches import cache_clear
from ..factories import walk


@pytest.fixture(autouse=True)
def _cache_cleared():
    """The customer's pages, the public form and the API count requests in the cache, which
    outlives a test: every test starts with nothing counted."""
    cache_clear()
    yield
    cache_clear()


@pytest.fixture
def at(case, agent, after_sales, handler):
    """``at(step)``: move the module's ``case`` forward to a step through the real lifecycle,
    the handler of After-sales responsible."""

    def move(step: str) -> Case:
        return walk(case, to=step, by=agent, department=after_sales, person=handler)

    return move
