"""Benchmark: the case list pages and the API's case list at 50 and 5,000 cases (``make bench``;
not part of ``make test``).

Prints the query count and the median server time of "All cases", "My cases" and
``GET /api/v1/cases/`` (pages of 25 and of 100) at each size.
The query count must be the same at both sizes; the time is reported, not asserted.
"""

import statistics
import time

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from complaints.models import Case, Customer

pytestmark = [pytest.mark.bench, pytest.mark.django_db]


def _grow_to(n: int, *, receiver) -> None:
    """Bulk-insert cases (and their customers) until there are ``n``: the list page reads
    rows, it does not care how they were made."""
    have = Case.objects.count()
    now = timezone.now()
    customers = Customer.objects.bulk_create(
        Customer(name=f"Customer {i}", phone=f"+86139{i:08d}") for i in range(have, n)
    )
    Case.objects.bulk_create(
        (
            Case(
                reference=f"C209901-{i:05d}",
                customer=customer,
                channel="phone",
                category="product_quality",
                urgency=("red", "yellow", "green")[i % 3],
                description="Bench case",
                desired_outcome="A repair",
                receiver=receiver,
                owner=receiver,
                received_at=now - timezone.timedelta(hours=i % 400),
                step=("receive", "listen", "analyse", "decide", "act")[i % 5],
            )
            for i, customer in zip(range(have, n), customers, strict=True)
        ),
        batch_size=1000,
    )


def _measure(client, url: str, runs: int = 7) -> tuple[int, float]:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    count = len(queries)  # now: the context reads the live query log, which requests reset
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        client.get(url)
        times.append((time.perf_counter() - start) * 1000)
    return count, statistics.median(times)


def test_case_list_pages_at_50_and_5000_cases(client, agent):
    client.force_login(agent)
    results = {}
    for size in (50, 5000):
        _grow_to(size, receiver=agent)
        for name, url in (
            ("All cases", "/cases/"),
            ("My cases", "/"),
            ("API 25", "/api/v1/cases/"),
            ("API 100", "/api/v1/cases/?page_size=100"),
        ):
            results[(size, name)] = _measure(client, url)
    print(f"\nCase list benchmark on {connection.vendor}:")
    for (size, name), (count, ms) in results.items():
        print(f"  {name:<10} {size:>5} cases: {count:>2} queries, median {ms:6.1f} ms")
    for name in ("All cases", "My cases", "API 25", "API 100"):
        assert results[(50, name)][0] == results[(5000, name)][0]
