"""Benchmark: time spent in each step (``reporting.steps.time_in_steps``) at 2,000 and 20,000
cases (``make bench``; not part of ``make test``).

Prints the query count and the median time for all cases in scope and for a narrow scope (one
channel received in one week), and on PostgreSQL the plan of the all-cases query. The query
count must be the same at both sizes; the time is reported, not asserted.
"""

import statistics
import time
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from complaints.models import Case, CaseEvent, Customer
from reporting import steps

pytestmark = [pytest.mark.bench, pytest.mark.django_db]

SEVEN = ["receive", "listen", "analyse", "decide", "act", "confirm", "follow_up", "closed"]
CHANNELS = ("phone", "email", "web", "walk_in")


def _grow_to(n: int, *, receiver) -> None:
    """Bulk-insert cases and their step events until there are ``n``: case i goes as far as
    step i % 8 (every eighth is closed), every 10th was sent back from confirm to decide and
    every 13th closed one was reopened once; stays last 1 to 50 hours. Received between
    400 and 40 days ago, in no particular order."""
    have = Case.objects.count()
    start = timezone.now() - timedelta(days=400)
    customers = Customer.objects.bulk_create(
        Customer(name=f"Customer {i}", phone=f"+86137{i:08d}") for i in range(have, n)
    )
    cases = Case.objects.bulk_create(
        (
            Case(
                reference=f"C209902-{i:05d}",
                customer=customer,
                channel=CHANNELS[i % 4],
                category="product_quality",
                urgency="yellow",
                description="Bench case",
                desired_outcome="A repair",
                receiver=receiver,
                owner=receiver,
                received_at=start + timedelta(seconds=i * 7919 % (360 * 86400)),
                step=SEVEN[i % 8],
                ending="rated" if SEVEN[i % 8] == "closed" else "",
            )
            for i, customer in zip(range(have, n), customers, strict=True)
        ),
        batch_size=1000,
    )
    events = []
    for i, case in zip(range(have, n), cases, strict=True):
        path = SEVEN[: i % 8 + 1]
        if i % 10 == 0 and len(path) > 6:
            path = [*path[:6], "decide", "act", *path[5:]]
        if i % 13 == 0 and path[-1] == "closed":
            path = [*path[:-1], "analyse", "decide", "act", "confirm", "follow_up", "closed"]
        at = case.received_at
        for k, step in enumerate(path):
            previous = path[k - 1] if k else ""
            kind = "received" if not k else "step"
            if (previous, step) == ("follow_up", "analyse"):
                kind = "reopened"
            events.append(CaseEvent(case=case, kind=kind, from_step=previous, to_step=step, at=at))
            at += timedelta(hours=1 + (i * 7 + k * 11) % 50)
    CaseEvent.objects.bulk_create(events, batch_size=2000)


def _measure(cases, runs: int = 5) -> tuple[int, float]:
    with CaptureQueriesContext(connection) as queries:
        steps.time_in_steps(cases=cases)
    times = []
    for _ in range(runs):
        begin = time.perf_counter()
        steps.time_in_steps(cases=cases)
        times.append((time.perf_counter() - begin) * 1000)
    return len(queries), statistics.median(times)


def test_time_in_steps_at_2000_and_20000_cases(agent):
    results = {}
    for size in (2000, 20000):
        _grow_to(size, receiver=agent)
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE")
        week = Case.objects.order_by("received_at")[size // 2].received_at
        scopes = {
            "all cases": Case.objects.all(),
            "one channel, one week": Case.objects.filter(
                channel="email", received_at__gte=week, received_at__lt=week + timedelta(7)
            ),
        }
        for name, cases in scopes.items():
            results[(size, name)] = _measure(cases)
    print(f"\nTime in steps on {connection.vendor}, {CaseEvent.objects.count()} events:")
    for (size, name), (count, ms) in results.items():
        print(f"  {name:<22} {size:>6} cases: {count} query, median {ms:7.1f} ms")
    if connection.vendor == "postgresql":
        with CaptureQueriesContext(connection) as queries:
            steps.time_in_steps(cases=Case.objects.all())
        with connection.cursor() as cursor:
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + queries[0]["sql"])
            print("\n".join(line for (line,) in cursor.fetchall()))
    for name in ("all cases", "one channel, one week"):
        assert results[(2000, name)][0] == results[(20000, name)][0] == 1
