"""The daily rollup with several writers at once (committed rows, several connections): two
catch-ups or rebuilds of the same days never write a day twice, and a reader sees a day either
before or after its recomputation, never half of it. PostgreSQL only: SQLite serialises whole
database writes."""

from __future__ import annotations

import pytest

from reporting.models import DailyFigures, DailyProducts, DailyStays
from reporting.rollup import rollup_rebuild, rollup_refresh
from tests.factories import CustomerFactory, receive_case, walk

from ..databases import postgresql_only
from ..threads import run_together

pytestmark = [
    pytest.mark.concurrency,
    pytest.mark.pg,
    pytest.mark.django_db(transaction=True),
    postgresql_only("several writers at once"),
]


def counts() -> dict[str, int]:
    return {m.__name__: m.objects.count() for m in (DailyFigures, DailyStays, DailyProducts)}


def test_refreshes_of_the_same_days_at_once_write_each_day_once(agent, after_sales, handler):
    for n, to in enumerate(["receive", "analyse", "act", "closed"] * 2):
        case = receive_case(by=agent, customer=CustomerFactory(), product=f"P{n % 2}")
        walk(case, to=to, by=agent, department=after_sales, person=handler)
    rollup_rebuild()
    alone = counts()
    days = list(DailyFigures.objects.values_list("day", flat=True).distinct())

    def refresh(i, barrier):
        barrier.wait()
        return rollup_refresh(days=days)

    results, errors = run_together(4, refresh)

    assert errors == []
    assert results == [len(days)] * 4
    assert counts() == alone
