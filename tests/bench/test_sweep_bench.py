"""Benchmark: the deadline sweep at 20,000 and 200,000 open cases (``make bench``; not part of
``make test``). PostgreSQL only: the claim is about its planner and the partial index.

The sweep must cost in proportion to the deadlines that are due, not to the cases that are open:
it reads through the partial index ``deadline_sweep_due``. The bench seeds open cases, each with
its three deadlines of the default 1/3/7-day policy, 1 % of them past the one-day limit to finish
Decide, and times one real sweep as the periodic task runs it (escalations, timeline events and
notifications written; the emails left to the workers), then the workers' part apart (the
emails rendered and sent to the test mailer) at

  * 20,000 open cases, 200 due;
  * 200,000 open cases, 2,000 due (1 %);
  * 200,000 open cases, 200 due (0.1 %): against the first, ten times the open cases for the
    same due ones.

It prints a table of the figures and ``EXPLAIN`` of the sweep's query at 200,000 cases (after
``ANALYZE``), and asserts that the query reads the partial index, not the whole table, and that
the number of queries depends on the due cases alone. Times are reported, not asserted.

Rows are written with PostgreSQL's ``COPY`` (built from the models' own fields and defaults), not
through the services: the sweep reads rows and does not care how they were made. Then ``VACUUM
ANALYZE``, as autovacuum would have done on tables this size. The test commits for real (each of
the sweep's batches is its own transaction, as in production, not a savepoint inside a test's
transaction) and the database is flushed afterwards. The one thing left out is publishing the
"send these now" task after each commit (``escalation.notifications._enqueue``): there is no
worker here, so the bench runs what that task runs (``notifications_deliver``) itself, timed.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta

import pytest
from django.core import mail
from django.db import connection, transaction
from django.db.models import Max
from django.utils import timezone

from complaints.models import Case, Customer, Step
from escalation.models import Deadline, Escalation, Milestone, Policy
from escalation.notifications import notifications_deliver
from escalation.policies import policy_for
from escalation.sweep import BATCH_SIZE, sweep

from .copy import copy_rows

pytestmark = [pytest.mark.bench, pytest.mark.django_db(transaction=True)]

URGENCY, CATEGORY = "yellow", "product_quality"
# Open steps before Decide is finished: all three deadlines of each case are still to be met.
OPEN_STEPS = (Step.RECEIVE, Step.LISTEN, Step.ANALYSE, Step.DECIDE)


def _grow_to(n: int, *, due: int, policy: Policy, customer, agent, handler, department) -> None:
    """Add open cases until there are ``n``, each with its round-0 deadlines; ``due`` of the new
    cases were received two days ago and are past their limit to finish Decide (their warnings
    already sent), the rest were received within the last 17 hours and have nothing due."""
    have = Case.objects.count()
    new = n - have
    late = {have + k * new // due for k in range(due)}  # spread evenly, exactly ``due``
    now = timezone.now()
    last_pk = Case.objects.aggregate(last=Max("pk"))["last"] or 0

    def received(i: int) -> datetime:
        if i in late:
            return now - timedelta(days=2, minutes=i % 60)
        return now - timedelta(minutes=i % 1000)

    copy_rows(
        Case,
        (
            {
                "reference": f"B{i:07d}",
                "received_at": received(i),
                "step": OPEN_STEPS[i % len(OPEN_STEPS)],
            }
            for i in range(have, n)
        ),
        customer=customer,
        receiver=agent,
        owner=agent,
        department=department,
        responsible_person=handler,
        channel="phone",
        # One urgency and category, so one policy for all (that of ``policy``), and the same mix
        # of due cases, query for query, at every size.
        urgency=URGENCY,
        category=CATEGORY,
        description="Bench case",
        desired_outcome="A repair",
        validity="valid",
    )
    # Read before the COPY starts: the connection serves nothing else while it runs.
    cases = list(Case.objects.filter(pk__gt=last_pk).values_list("pk", "received_at"))
    late_before = now - timedelta(days=1)

    def deadlines():
        for pk, received_at in cases:
            overdue = received_at < late_before
            for milestone in Milestone.values:
                within = policy.within(milestone, urgency=URGENCY)
                due_at = received_at + within
                warn_at = received_at + within * policy.warn_at_percent / 100
                warn_before_at = due_at - policy.warn_before
                row = {
                    "case_id": pk,
                    "milestone": milestone,
                    "starts_at": received_at,
                    "due_at": due_at,
                    "warn_at": warn_at,
                    "warn_before_at": warn_before_at,
                }
                if milestone == Milestone.RESPONDED:
                    # The cases are at Decide: past Listen, so someone spoke with the customer.
                    row |= {"met_at": received_at + within / 2, "next_check_at": None}
                elif overdue and milestone == Milestone.DECIDED:
                    row |= {
                        "warned_at": warn_at,
                        "warned_before_at": warn_before_at,
                        "next_check_at": due_at,
                    }
                else:
                    row["next_check_at"] = min(due_at, warn_at, warn_before_at)
                yield row

    copy_rows(
        Deadline,
        deadlines(),
        policy=policy,
        policy_version=policy.version,
        clock=policy.clock,
        round=0,
    )


def _arm(count: int) -> None:
    """Make ``count`` more cases due, as if two days had passed for them: their Decide deadline
    is now past, with nothing else changed."""
    now = timezone.now()
    pks = list(
        Deadline.objects.filter(
            milestone=Milestone.DECIDED, breached_at__isnull=True, next_check_at__gt=now
        )
        .order_by("pk")
        .values_list("pk", flat=True)[:count]
    )
    Deadline.objects.filter(pk__in=pks).update(
        due_at=now - timedelta(hours=1),
        warned_at=now - timedelta(hours=7),
        warned_before_at=now - timedelta(hours=3),
        next_check_at=now - timedelta(hours=1),
    )


def _due_count() -> int:
    return Deadline.objects.filter(next_check_at__lte=timezone.now()).count()


class _QueryCounter:
    """Counts the queries run (``CaptureQueriesContext`` keeps only the last 9,000; a sweep of
    2,000 due cases runs more), and keeps the first that locks a batch of due deadlines: the
    sweep's own query, as it sends it."""

    def __init__(self) -> None:
        self.count = 0
        self.deadline_query: tuple[str, tuple] | None = None

    def __call__(self, execute, sql, params, many, context):
        self.count += 1
        if (
            self.deadline_query is None
            and sql.startswith("SELECT")
            and "FOR UPDATE" in sql
            and f'FROM "{Deadline._meta.db_table}"' in sql
        ):
            self.deadline_query = (sql, tuple(params or ()))
        return execute(sql, params, many, context)


def _timed_sweep(label: str, results: list | None = None) -> _QueryCounter:
    open_cases = Case.objects.exclude(step=Step.CLOSED).count()
    due = _due_count()
    sent_before = len(mail.outbox)
    queries = _QueryCounter()
    with connection.execute_wrapper(queries):
        start = time.perf_counter()
        result = sweep(workers_send=True)  # as the periodic task runs it
        seconds = time.perf_counter() - start
    assert result.count("escalate") == due, "every due deadline was a breach to escalate"
    assert result.count("warn") == result.count("remind") == 0
    assert result.sent == 0, "the sweep left its emails to the workers"
    assert _due_count() == 0, "a due deadline was left behind"
    # What the workers' deliver_notifications tasks then do, timed apart.
    start = time.perf_counter()
    sent = 0
    while batch := notifications_deliver():
        sent += batch
    email_seconds = time.perf_counter() - start
    assert sent == len(mail.outbox) - sent_before > 0
    if results is not None:
        results.append((label, open_cases, due, seconds, queries.count, sent, email_seconds))
    return queries


def _explain_sql(sql: str, params: tuple) -> str:
    with transaction.atomic(), connection.cursor() as cursor:  # FOR UPDATE needs a transaction
        cursor.execute(f"EXPLAIN {sql}", params)
        return "\n".join(row[0] for row in cursor.fetchall())


def test_sweep_time_follows_the_due_cases_not_the_open_ones(
    agent, handler, department_head, monkeypatch
):
    if connection.vendor != "postgresql":
        pytest.skip("the sweep benchmark measures PostgreSQL's plan and timing (set DATABASE_URL)")
    monkeypatch.setattr("escalation.notifications._enqueue", lambda ids: None)
    policy = policy_for(urgency=URGENCY, category=CATEGORY)  # the 1/3/7-day default
    customer = Customer.objects.create(name="Bench customer", phone="+8613900000000")
    department = department_head.department
    seed = {
        "policy": policy,
        "customer": customer,
        "agent": agent,
        "handler": handler,
        "department": department,
    }
    results: list = []
    seeding: list[tuple[int, float]] = []

    # Warm up (templates compiled, caches filled) on a few cases, so that the first measured
    # sweep is not charged for what only the first sweep of a process does.
    _grow_to(100, due=10, **seed)
    _timed_sweep("warm-up")

    start = time.perf_counter()
    _grow_to(20_000, due=200, **seed)
    seeding.append((20_000, time.perf_counter() - start))
    sweep_query = _timed_sweep("20k open, 1 % due", results).deadline_query
    assert sweep_query is not None, "the sweep locked no batch of deadlines"

    start = time.perf_counter()
    _grow_to(200_000, due=2_000, **seed)
    with connection.cursor() as cursor:
        for model in (Case, Deadline):
            cursor.execute(f"VACUUM ANALYZE {connection.ops.quote_name(model._meta.db_table)}")
    seeding.append((200_000, time.perf_counter() - start))

    # The sweep's query at 200k, before it runs: all that is due, and a locked batch exactly as
    # the sweep sent it (its only parameter is "now").
    now = timezone.now()
    sql, params = sweep_query
    assert len(params) == 1, f"expected the sweep's time as the only parameter: {params}"
    plans = {
        "all due": Deadline.objects.filter(next_check_at__lte=now).explain(),
        "the sweep's batch": _explain_sql(sql, (now,)),
    }
    _timed_sweep("200k open, 1 % due", results)
    _arm(200)
    _timed_sweep("200k open, 0.1 % due", results)

    print(f"\nDeadline sweep benchmark on {connection.vendor} (batches of {BATCH_SIZE}):")
    for size, seconds in seeding:
        print(f"  seeding to {size:>7,} open cases ({3 * size:,} deadlines): {seconds:6.1f} s")
    print(
        f"  {'':<22} {'open':>8} {'due':>6} {'sweep s':>8} {'queries':>8} "
        f"{'ms/due case':>11} {'queries/due':>11} {'emails':>7} {'workers s':>9} {'ms/email':>8}"
    )
    for label, open_cases, due, seconds, queries, sent, email_seconds in results:
        print(
            f"  {label:<22} {open_cases:>8,} {due:>6,} {seconds:>8.2f} {queries:>8,} "
            f"{1000 * seconds / due:>11.2f} {queries / due:>11.2f} {sent:>7,} "
            f"{email_seconds:>9.2f} {1000 * email_seconds / sent:>8.2f}"
        )
    small, _large, large_few = results
    print(
        f"  200k vs 20k open, 200 due each: {large_few[3] / small[3]:.2f} x the time, "
        f"{large_few[4] / small[4]:.2f} x the queries"
    )
    for name, plan in plans.items():
        print(f"  EXPLAIN ({name}) at 200k:")
        for line in plan.splitlines():
            print(f"    {line}")

    for name, plan in plans.items():
        assert "deadline_sweep_due" in plan, f"{name}: the partial index is not used\n{plan}"
        assert f"Seq Scan on {Deadline._meta.db_table}" not in plan, f"{name}: {plan}"
    # The same due cases cost the same queries, whether 20,000 or 200,000 cases are open.
    assert small[4] == large_few[4]
    assert Escalation.objects.count() == 10 + sum(due for _l, _o, due, *_rest in results)
