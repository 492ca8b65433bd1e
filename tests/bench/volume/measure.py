"""Timing a request as the volume benchmarks report it: the median server time in-process, its
query count, and the plan of its slowest query (``EXPLAIN (ANALYZE, BUFFERS)``).

Templates render as in production while timed: the test environment instruments every
template render (a signal and a copy of the context, for ``response.context``), which at the
few hundred renders of a page with a filter form (each select option is a template) doubled
its time."""

from __future__ import annotations

import statistics
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from django.db import connection
from django.template.base import PartialTemplate, Template
from django.test.utils import CaptureQueriesContext, _TestState


@dataclass
class Figure:
    name: str
    ms: float
    queries: int
    status: int
    savepoints: int = 0
    slowest_sql: str = ""
    slowest_params: tuple = ()
    plan: str = field(default="", repr=False)


def measure(name: str, request, *, runs: int = 7, expect: int = 200) -> Figure:
    """``request()`` once for its queries, then ``runs`` times for the median time."""
    with CaptureQueriesContext(connection) as captured:
        response = request()
        # Read inside: the request's start resets the connection's log the context reads.
        queries = list(captured.captured_queries)
    assert response.status_code == expect, (name, response.status_code)
    times = []
    with _rendering_as_in_production():
        for _ in range(runs):
            start = time.perf_counter()
            again = request()
            times.append((time.perf_counter() - start) * 1000)
            assert again.status_code == expect, (name, again.status_code)
    slowest = max(queries, key=lambda q: float(q["time"]), default=None)
    return Figure(
        name=name,
        ms=statistics.median(times),
        queries=len(queries),
        status=response.status_code,
        # The test's transaction makes every atomic block a savepoint (in production the
        # outer one is BEGIN and COMMIT, not logged as queries).
        savepoints=sum(q["sql"].startswith(("SAVEPOINT", "RELEASE")) for q in queries),
        slowest_sql=slowest["sql"] if slowest else "",
    )


@contextmanager
def _rendering_as_in_production() -> Iterator[None]:
    saved = _TestState.saved_data
    instrumented = Template._render, PartialTemplate._render
    Template._render = saved.template_render
    PartialTemplate._render = saved.partial_template_render
    try:
        yield
    finally:
        Template._render, PartialTemplate._render = instrumented


def explain(sql: str) -> str:
    """The plan of a query as captured (its parameters already in the text)."""
    if not sql.lstrip().upper().startswith("SELECT"):
        return ""
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}")
        return "\n".join(row[0] for row in cursor.fetchall())


def report(title: str, figures: list[Figure], *, plans: bool = True) -> None:
    print(f"\n{title}")
    width = max(len(f.name) for f in figures)
    for f in figures:
        apart = f" ({f.queries - f.savepoints} without savepoints)" if f.savepoints else ""
        print(f"  {f.name:<{width}}  {f.ms:8.1f} ms  {f.queries:>3} queries{apart}")
    if plans:
        for f in figures:
            plan = explain(f.slowest_sql)
            if plan:
                print(f"\n  -- {f.name}: its slowest query\n  {f.slowest_sql[:600]}")
                print("  " + plan.replace("\n", "\n  "))
