"""Benchmark: the managers' dashboard (``GET /reports/``) for one year over 1,000,000 cases
(issue 6; ``make bench``, not part of ``make test``). PostgreSQL only: the question is what
PostgreSQL's planner does with the dashboard's queries at this size.

The data: 1,000,000 cases received evenly over the last 365 days from 300,000 customers (most of
them a few times a year, a tenth of them again and again: over half the cases are repeats within
90 days, more than usual, which makes that figure harder), with realistic mixes of channel,
category, urgency, 40 products, 8 responsible departments, validity, root cause, remedies and
their value, ratings; each case has walked its path through the seven steps as far as its
received time and its stays allow (a stay in each step drawn per case; red cases move faster):
most old cases are closed, recent ones are open, 2 % are stuck for good. Of those found valid,
5 % were sent back from Confirm to Decide and 4 % reopened after follow-up (a second round of
deadlines, the first round's unmet ones superseded); those found not valid skip Act. Each case
has its timeline (the moves, plus customer messages and internal notes: about nine million
events), its deadlines of the policy for its urgency and category (three per round: met, met
late, breached, still open, as the sweep would have left them), an escalation per breach (and
per reopening, and a few manual ones), and some approvals and external reviews. Every value is a
deterministic function of the case's number (``hashint8``), so two runs build the same data
relative to their start.

How it is built, fast (two to three minutes on two cores): set-based ``INSERT … SELECT … FROM
generate_series`` through ``connection.cursor()``, not the ORM; the secondary indexes of the big
tables are dropped first and made again afterwards from their own definitions (what pg_restore
does), and the foreign-key triggers are off while loading (``session_replication_role``; the
rows are built consistent, and a check at the end counts orphans). Then ``VACUUM ANALYZE``, as
autovacuum would have done on tables this size. The test commits for real; pytest-django
flushes the database afterwards.

What it measures, as a quality manager (every case), with the daily rollup built
(``reporting.rollup``: the time its first build takes, and its size): one year, one month, one
department over one year, and two filters whose time in each step and products the rollup
does not keep (computed from the cases). For each, the number of queries, the median of three
whole requests (after one warm-up that is also profiled), and the five slowest queries of the
warm-up request, each named by the dashboard table (or function) that ran it, its time and the
scans of its plan (``EXPLAIN (ANALYZE, BUFFERS)``; the whole plans are printed for one year).
Then the year's tables from the rollup against the same tables computed from the cases: all
equal, and the time-in-step percentiles within 1 %; and the catch-up's time after a busy
minute (300 cases of the last ten days changed). The query count must be the same for a year
and a month; times are reported, not asserted.
"""

from __future__ import annotations

import contextlib
import importlib
import re
import statistics
import sys
import time
from collections.abc import Iterable
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.apps import apps as global_apps
from django.core.management.color import no_style
from django.db import DatabaseError, connection
from django.db.models import Count
from django.http import QueryDict
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from complaints.lifecycle import ORDER
from complaints.models import Case, CaseEvent, Category, Customer, Department, Step, Urgency
from complaints.roles import Role
from escalation.models import (
    MILESTONE_STEP,
    Approval,
    AuthorityLimit,
    Deadline,
    Escalation,
    ExternalReview,
    Milestone,
)
from escalation.policies import policy_for
from reporting.dashboard import TABLES, scope_for, table_for
from reporting.figures import LiveFigures
from reporting.models import DailyFigures, DailyProducts, DailyStays, RollupState
from reporting.rollup import rollup_catch_up, rollup_rebuild
from reporting.rollup_figures import RollupFigures
from reporting.steps import time_in_steps

from ..factories import staff

pytestmark = [
    pytest.mark.bench,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="measures PostgreSQL's plans at 1,000,000 cases (set DATABASE_URL to PostgreSQL)",
    ),
]

CASES = 1_000_000
CUSTOMERS = 300_000
DAYS = 365
ROOT = Path(__file__).resolve().parents[2]

DEPARTMENTS = [
    ("After-sales service", "bench-after-sales"),
    ("Logistics", "bench-logistics"),
    ("Manufacturing", "bench-manufacturing"),
    ("Quality assurance", "bench-quality"),
    ("Sales", "bench-sales"),
    ("Customer service", "bench-customer-service"),
    ("Installation", "bench-installation"),
    ("Billing", "bench-billing"),
]
PRODUCTS = [
    f"{family} {model}"
    for family in (
        "Washing machine",
        "Refrigerator",
        "Air conditioner",
        "Dishwasher",
        "Television",
        "Microwave oven",
        "Water heater",
        "Vacuum cleaner",
    )
    for model in ("A100", "B200", "C300", "D400", "E500")
]
# Weights of each mix (relative).
CHANNELS = {
    "phone": 34,
    "web_form": 20,
    "email": 14,
    "social_media": 11,
    "dealer": 10,
    "walk_in": 8,
    "letter": 3,
}
CATEGORIES = {
    "product_quality": 38,
    "service_process": 18,
    "service_attitude": 12,
    "price_billing": 10,
    "customer_misuse": 7,
    "misleading_promotion": 6,
    "other": 6,
    "safety": 3,
}
URGENCIES = {"green": 50, "yellow": 40, "red": 10}
VALIDITIES = {"valid": 70, "partly": 15, "not_valid": 15}
# Of the complaints found valid or partly valid; not valid ones are a misunderstanding.
ROOT_CAUSES = {"process": 30, "people": 25, "equipment": 18, "materials": 17, "environment": 10}
# Remedy mixes of valid complaints: weight, and the range of their value (None: no money).
REMEDIES: dict[str, tuple[int, tuple[int, int] | None]] = {
    '["apology", "repair"]': (24, None),
    '["repair"]': (14, None),
    '["replacement"]': (12, (200, 3000)),
    '["apology", "voucher"]': (10, (20, 200)),
    '["partial_refund"]': (9, (20, 800)),
    '["apology"]': (8, None),
    '["full_refund"]': (6, (100, 5000)),
    '["apology", "compensation"]': (6, (50, 2000)),
    '["repair", "service_extension"]': (6, None),
    '["gift"]': (5, (10, 100)),
}
RATINGS = {5: 45, 4: 30, 3: 13, 2: 7, 1: 5}
HANDLING_RATINGS = {5: 40, 4: 33, 3: 15, 2: 7, 1: 5}
# Hours a case stays in each step: lo + (hi - lo) * r³ (most stays short, a few long), times
# 0.35 for red cases.
STAYS = {
    Step.RECEIVE: (0.05, 2),
    Step.LISTEN: (0.25, 8),
    Step.ANALYSE: (0.5, 16),
    Step.DECIDE: (0.5, 16),
    Step.ACT: (2, 72),
    Step.CONFIRM: (1, 36),
    Step.FOLLOW_UP: (24, 168),
}
_R, _L, _A, _D, _ACT, _C, _F, _X = ORDER
# The paths a case can take (its moves' to_step in order), by number.
PATHS = {
    0: [_R, _L, _A, _D, _ACT, _C, _F, _X],  # the usual
    1: [_R, _L, _A, _D, _C, _F, _X],  # not valid: an explanation, no Act
    2: [_R, _L, _A, _D, _ACT, _C, _D, _ACT, _C, _F, _X],  # refused at Confirm once
    3: [_R, _L, _A, _D, _ACT, _C, _F, _A, _D, _ACT, _C, _F, _X],  # reopened once
}


# ---------------------------------------------------------------- SQL helpers


def _r(salt: int) -> str:
    """A deterministic pseudo-random number in [0, 1) for case (or customer) number ``i``."""
    return f"((hashint8(i::bigint * 128 + {salt}) & 2147483647)::float8 / 2147483648.0)"


def _lit(value) -> str:
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    return repr(value)


def _pick(salt: int, weights: dict) -> str:
    """One of ``weights``' keys, drawn with their weights."""
    total, running, whens = sum(weights.values()), 0, []
    *first, last = weights
    for value in first:
        running += weights[value]
        whens.append(f"WHEN {_r(salt)} < {running / total!r} THEN {_lit(value)}")
    return f"(CASE {' '.join(whens)} ELSE {_lit(last)} END)"


def _insert(cursor, model, exprs: dict[str, str], source: str, params: dict | None = None) -> int:
    """``INSERT INTO`` the model's table ``SELECT`` ``exprs`` (column → SQL) ``FROM source``;
    every other column gets the field's default (what a save would write), so a field added to
    the model later needs no change here. The primary key only if given."""
    columns, values, defaults = [], [], dict(params or {})
    template = model()
    for f in model._meta.concrete_fields:
        if f.column in exprs:
            values.append(exprs[f.column])
        elif f.primary_key:
            continue
        else:
            name = f"default_{f.column}"
            defaults[name] = f.get_db_prep_save(f.pre_save(template, True), connection)
            values.append(f"%({name})s")
        columns.append(connection.ops.quote_name(f.column))
    unknown = set(exprs) - {f.column for f in model._meta.concrete_fields}
    assert not unknown, unknown
    table = connection.ops.quote_name(model._meta.db_table)
    cursor.execute(
        f"INSERT INTO {table} ({', '.join(columns)}) SELECT {', '.join(values)} FROM {source}",
        defaults,
    )
    return cursor.rowcount


def _secondary_indexes(cursor, tables: Iterable[str]) -> list[tuple[str, str]]:
    """(name, CREATE INDEX statement) of the indexes of ``tables`` that back no constraint."""
    cursor.execute(
        """
        SELECT i.indexname, i.indexdef
          FROM pg_indexes i
         WHERE i.schemaname = current_schema() AND i.tablename = ANY(%s)
           AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)
        """,
        [list(tables)],
    )
    return cursor.fetchall()


def _milestones() -> list[tuple]:
    """(path, round, milestone, slot, start position, met position, superseded position) of
    every deadline of every path, from the lifecycle's own definitions: a round starts at
    receipt or at a reopening; a milestone is met by the first move of its round beyond its
    step (``escalation.deadlines.deadlines_meet``); one still unmet when the next round starts
    is superseded. Positions count from 1 (the ``received`` event)."""
    rows = []
    for t, path in PATHS.items():
        starts = [1] + [k for k in range(2, len(path) + 1) if _kind(path, k) == "reopened"]
        for round_, start in enumerate(starts):
            end = starts[round_ + 1] - 1 if round_ + 1 < len(starts) else len(path)
            for slot, milestone in enumerate(Milestone.values):
                beyond = ORDER.index(MILESTONE_STEP[milestone])
                if milestone == Milestone.RESPONDED and round_ > 0:
                    # A reopened round's first response: no contact is generated, so only the
                    # closing answers it (deadlines_meet).
                    beyond = ORDER.index("follow_up")
                met = next(
                    (k for k in range(start, end + 1) if ORDER.index(path[k - 1]) > beyond), None
                )
                superseded = end + 1 if met is None and end < len(path) else None
                per_round = len(Milestone.values)
                rows.append(
                    (t, round_, milestone, round_ * per_round + slot + 1, start, met, superseded)
                )
    return rows


def _kind(path: list[str], k: int) -> str:
    if k == 1:
        return "received"
    return "reopened" if (path[k - 2], path[k - 1]) == (_F, _A) else "step"


# ---------------------------------------------------------------- the data


def _seed(cursor, *, now: datetime, receivers: list[int], departments: list[int]) -> None:
    """``bench_seed``: one row per case with every draw, its path, the time of each of its
    moves (``times``, planned, some in the future) and how many it has made by ``now``."""
    stays = {}
    for t, path in PATHS.items():
        hours = [
            f"({STAYS[step][0]} + {STAYS[step][1] - STAYS[step][0]} * power({_r(40 + k)}, 3))"
            for k, step in enumerate(path[:-1], start=1)
        ]
        times = ["received_at"] + [
            f"received_at + make_interval(secs => 3600 * speed * ({' + '.join(hours[:k])}))"
            for k in range(1, len(path))
        ]
        stays[t] = f"WHEN {t} THEN ARRAY[{', '.join(times)}]"
    remedy_types = ", ".join(_lit(mix) for mix in REMEDIES)
    remedy_values = " ".join(
        f"WHEN {k} THEN round(({lo} + {hi - lo} * power(r_value, 2))::numeric, 2)"
        for k, (_w, money) in enumerate(REMEDIES.values(), start=1)
        if money
        for lo, hi in [money]
    )
    lengths = " ".join(f"WHEN {t} THEN {len(path)}" for t, path in PATHS.items())
    cursor.execute(
        f"""
        CREATE TEMP TABLE bench_seed AS
        WITH base AS MATERIALIZED (
            SELECT i,
                   %(case_base)s + i AS id,
                   %(start)s::timestamptz
                       + make_interval(secs => (i - 1 + {_r(0)}) * %(seconds_per_case)s)
                       AS received_at,
                   %(customer_base)s + CASE
                       WHEN {_r(1)} < 0.7 THEN 1 + floor({_r(2)} * %(customers)s)
                       ELSE 1 + floor({_r(2)} * %(customers)s / 10) END AS customer_id,
                   (%(receivers)s::bigint[])[1 + mod(i, %(n_receivers)s)] AS receiver_id,
                   {_pick(3, CHANNELS)} AS channel,
                   {_pick(4, CATEGORIES)} AS category,
                   {_pick(5, URGENCIES)} AS urgency,
                   CASE WHEN {_r(6)} < 0.03 THEN ''
                        ELSE (%(products)s::text[])[
                            1 + floor(power({_r(7)}, 1.7) * %(n_products)s)::int]
                        END AS product,
                   (%(departments)s::bigint[])[
                       1 + floor(power({_r(8)}, 1.4) * %(n_departments)s)::int] AS department_id,
                   {_pick(9, VALIDITIES)} AS validity,
                   {_pick(10, ROOT_CAUSES)} AS root_cause,
                   {_pick(11, {k: w for k, (w, _m) in enumerate(REMEDIES.values(), start=1)})}
                       AS remedy,
                   {_r(12)} AS r_value,
                   {_pick(13, RATINGS)} AS rating,
                   {_pick(14, HANDLING_RATINGS)} AS handling,
                   {_r(15)} AS r_comment,
                   {_r(16)} AS r_stuck,
                   {_r(17)} AS r_stuck_at,
                   {_r(18)} AS r_message,
                   {_r(19)} AS r_note,
                   {_r(20)} AS r_path,
                   {_r(21)} AS r_pending,
                   {_r(22)} AS r_review,
                   {_r(23)} AS r_manual,
                   {_r(24)} AS r_ack
              FROM generate_series(1, %(cases)s) AS i
        ),
        shaped AS MATERIALIZED (
            SELECT base.*,
                   CASE WHEN validity = 'not_valid' THEN 1
                        WHEN r_path < 0.05 THEN 2
                        WHEN r_path < 0.09 THEN 3
                        ELSE 0 END AS t,
                   CASE WHEN urgency = 'red' THEN 0.35 ELSE 1.0 END AS speed,
                   CASE WHEN validity = 'not_valid' THEN '["explanation"]'
                        ELSE (ARRAY[{remedy_types}])[remedy] END AS remedy_types,
                   CASE WHEN validity <> 'not_valid' THEN CASE remedy {remedy_values} END
                        END AS remedy_value
              FROM base
        ),
        timed AS MATERIALIZED (
            SELECT shaped.*,
                   CASE t {" ".join(stays.values())} END AS times,
                   CASE t {lengths} END AS length
              FROM shaped
        )
        SELECT timed.*,
               LEAST(
                   CASE WHEN r_stuck < 0.02 THEN 1 + floor(r_stuck_at * (length - 1))::int
                        ELSE length END,
                   (SELECT count(*) FROM unnest(times) AS x WHERE x <= %(now)s)
               )::int AS reached
          FROM timed
        """,
        {
            "case_base": _next_id(cursor, Case),
            "customer_base": _next_id(cursor, Customer) - 1,
            "start": now - timedelta(days=DAYS),
            "seconds_per_case": DAYS * 86400 / CASES,
            "customers": CUSTOMERS,
            "receivers": receivers,
            "n_receivers": len(receivers),
            "products": PRODUCTS,
            "n_products": len(PRODUCTS),
            "departments": departments,
            "n_departments": len(departments),
            "cases": CASES,
            "now": now,
        },
    )
    cursor.execute(
        "CREATE TEMP TABLE bench_path (t int, k int, to_step text, from_step text, kind text)"
    )
    cursor.executemany(
        "INSERT INTO bench_path VALUES (%s, %s, %s, %s, %s)",
        [
            (t, k, step, path[k - 2] if k > 1 else "", _kind(path, k))
            for t, path in PATHS.items()
            for k, step in enumerate(path, start=1)
        ],
    )
    cursor.execute(
        "CREATE TEMP TABLE bench_milestone "
        "(t int, round int, milestone text, slot int, start_pos int, met_pos int, sup_pos int)"
    )
    cursor.executemany(
        "INSERT INTO bench_milestone VALUES (%s, %s, %s, %s, %s, %s, %s)", _milestones()
    )


def _next_id(cursor, model) -> int:
    cursor.execute(f"SELECT COALESCE(MAX(id), 0) + 1 FROM {model._meta.db_table}")
    return cursor.fetchone()[0]


def _policies(cursor) -> None:
    """``bench_policy``: the policy of each urgency and category, as intake would pick it. The
    deadlines are computed in calendar time (both seeded policies count calendar time)."""
    cursor.execute(
        "CREATE TEMP TABLE bench_policy (urgency text, category text, policy_id bigint, "
        "version int, clock text, responded interval, decided interval, acted interval, "
        "closed interval, warn_pct float8, warn_before interval)"
    )
    rows = []
    for urgency in Urgency.values:
        for category in Category.values:
            p = policy_for(urgency=urgency, category=category)
            rows.append(
                (
                    urgency,
                    category,
                    p.pk,
                    p.version,
                    p.clock,
                    p.within(Milestone.RESPONDED, urgency=urgency),
                    p.decided_within,
                    p.acted_within,
                    p.closed_within,
                    p.warn_at_percent,
                    p.warn_before,
                )
            )
    cursor.executemany(
        "INSERT INTO bench_policy VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)", rows
    )


def _generate(*, now: datetime, receivers: list[int], departments: list[int], manager: int):
    """Everything: customers, cases, deadlines, escalations, events, approvals, reviews.
    Returns {table: rows} and prints how long each part took."""
    counts: dict[str, int] = {}
    laps: list[tuple[str, float]] = []
    big = [m._meta.db_table for m in (Customer, Case, CaseEvent, Deadline, Escalation)]
    params = {"now": now, "manager": manager}

    def lap(name: str, begin: float) -> float:
        laps.append((name, time.perf_counter() - begin))
        return time.perf_counter()

    with connection.cursor() as cursor:
        begin = time.perf_counter()
        for setting in ("work_mem = '256MB'", "maintenance_work_mem = '512MB'"):
            cursor.execute(f"SET {setting}")
        cursor.execute("SET synchronous_commit = off")
        # No foreign-key triggers while loading (the rows are built consistent and checked
        # at the end). Needs a superuser; without one the load is slower.
        with contextlib.suppress(DatabaseError):
            cursor.execute("SET session_replication_role = replica")
        indexes = _secondary_indexes(cursor, big)
        for name, _definition in indexes:
            cursor.execute(f"DROP INDEX {connection.ops.quote_name(name)}")
        _policies(cursor)
        _seed(cursor, now=now, receivers=receivers, departments=departments)
        begin = lap("seed (draws, paths, move times)", begin)

        counts["customers"] = _insert(
            cursor,
            Customer,
            {
                "id": "%(customer_base)s + i",
                "name": "'Bench customer ' || i",
                "phone": "'+86150' || lpad(i::text, 8, '0')",
                "email": "CASE WHEN mod(i, 3) = 0 THEN 'customer' || i || '@example.com' "
                "ELSE '' END",
                "type": f"{_pick(1, {'new': 60, 'regular': 35, 'vip': 5})}",
                "created_at": "%(start)s::timestamptz - make_interval(days => mod(i, 700))",
            },
            "generate_series(1, %(customers)s) AS i",
            {
                "customer_base": _next_id(cursor, Customer) - 1,
                "customers": CUSTOMERS,
                "start": now - timedelta(days=DAYS),
            },
        )
        begin = lap("customers", begin)

        counts["deadlines"] = _insert(
            cursor,
            Deadline,
            {
                "id": "%(deadline_base)s + (s.i - 1) * 6 + m.slot",
                "case_id": "s.id",
                "round": "m.round",
                "milestone": "m.milestone",
                "policy_id": "p.policy_id",
                "policy_version": "p.version",
                "clock": "p.clock",
                "starts_at": "a.starts_at",
                "due_at": "b.due_at",
                "warn_at": "b.warn_at",
                "warn_before_at": "b.warn_before_at",
                "warned_at": "c.warned_at",
                "warned_before_at": "c.warned_before_at",
                "met_at": "b.met_at",
                "breached_at": "c.breached_at",
                "superseded_at": "b.superseded_at",
                "next_check_at": """CASE WHEN b.met_at IS NULL AND b.superseded_at IS NULL
                    AND c.breached_at IS NULL THEN LEAST(b.due_at,
                        CASE WHEN c.warned_at IS NULL THEN b.warn_at END,
                        CASE WHEN c.warned_before_at IS NULL THEN b.warn_before_at END) END""",
            },
            """bench_seed s
            JOIN bench_milestone m ON m.t = s.t AND m.start_pos <= s.reached
            JOIN bench_policy p ON p.urgency = s.urgency AND p.category = s.category
            CROSS JOIN LATERAL (
                SELECT s.times[m.start_pos] AS starts_at,
                       CASE m.milestone WHEN 'responded' THEN p.responded
                            WHEN 'decided' THEN p.decided
                            WHEN 'acted' THEN p.acted ELSE p.closed END AS within
            ) a
            CROSS JOIN LATERAL (
                SELECT a.starts_at + a.within AS due_at,
                       a.starts_at + a.within * (p.warn_pct / 100) AS warn_at,
                       CASE WHEN a.within > p.warn_before
                            THEN a.starts_at + a.within - p.warn_before END AS warn_before_at,
                       CASE WHEN m.met_pos <= s.reached THEN s.times[m.met_pos] END AS met_at,
                       CASE WHEN m.sup_pos <= s.reached THEN s.times[m.sup_pos] END
                           AS superseded_at
            ) b
            CROSS JOIN LATERAL (
                -- What the sweep saw: open at the time, and the time has come.
                SELECT LEAST(%(now)s::timestamptz, COALESCE(b.met_at, 'infinity'),
                             COALESCE(b.superseded_at, 'infinity')) AS open_until
            ) o
            CROSS JOIN LATERAL (
                SELECT CASE WHEN b.due_at + interval '1 minute' <= o.open_until
                            THEN b.due_at END AS breached_at,
                       CASE WHEN b.warn_at <= o.open_until THEN b.warn_at END AS warned_at,
                       CASE WHEN b.warn_before_at <= o.open_until
                            THEN b.warn_before_at END AS warned_before_at
            ) c""",
            params | {"deadline_base": _next_id(cursor, Deadline) - 1},
        )
        begin = lap("deadlines", begin)

        # One escalation per breach (the sweep's), per reopening, and a few manual ones; each
        # one tier up from where the case was, up to the general manager.
        cursor.execute(
            """
            CREATE TEMP TABLE bench_escalation AS
            SELECT e.*, row_number() OVER (PARTITION BY case_id ORDER BY at, reason) AS n
              FROM (
                SELECT d.case_id, d.id AS deadline_id, d.milestone, d.round,
                       'overdue' AS reason, d.breached_at AS at, NULL::bigint AS by_id
                  FROM escalation_deadline d WHERE d.breached_at IS NOT NULL
                UNION ALL
                SELECT s.id, NULL, '', 1, 'dissatisfied', s.times[8], s.receiver_id
                  FROM bench_seed s WHERE s.t = 3 AND s.reached >= 8
                UNION ALL
                SELECT s.id, NULL, '', 0, 'manual', s.received_at + interval '2 hours',
                       %(manager)s
                  FROM bench_seed s
                 WHERE s.r_manual < 0.003 AND s.received_at + interval '2 hours' <= %(now)s
              ) e
            """,
            params,
        )
        counts["escalations"] = _insert(
            cursor,
            Escalation,
            {
                "case_id": "e.case_id",
                "deadline_id": "e.deadline_id",
                "milestone": "e.milestone",
                "round": "e.round",
                "from_tier": "LEAST(3, e.n - 1)",
                "to_tier": "LEAST(3, e.n)",
                "reason": "e.reason",
                "at": "e.at",
                "by_id": "e.by_id",
                "acknowledged_at": "e.acknowledged_at",
                "acknowledged_by_id": "CASE WHEN e.acknowledged_at IS NOT NULL "
                "THEN %(manager)s END",
                "next_notify_at": "CASE WHEN e.acknowledged_at IS NULL "
                "THEN e.at + interval '4 hours' END",
            },
            """(SELECT x.*,
                       CASE WHEN x.at + interval '8 hours' <= %(now)s
                            THEN x.at + make_interval(mins => 30 + mod(x.case_id, 420)::int)
                            END AS acknowledged_at
                  FROM bench_escalation x) e
            ORDER BY e.at""",
            params,
        )
        cursor.execute(
            """
            CREATE TEMP TABLE bench_extra AS
            SELECT case_id, max(tier) AS tier, min(due_at) AS due_at
              FROM (SELECT case_id, LEAST(3, n) AS tier, NULL::timestamptz AS due_at
                      FROM bench_escalation
                    UNION ALL
                    SELECT case_id, 0, due_at FROM escalation_deadline
                     WHERE met_at IS NULL AND superseded_at IS NULL) x
             GROUP BY case_id
            """
        )
        cursor.execute("CREATE UNIQUE INDEX ON bench_extra (case_id)")
        begin = lap("escalations", begin)

        analysed = "s.reached >= 4"
        decided = "s.reached >= 5"
        acted = "s.validity <> 'not_valid' AND s.reached >= 6"
        closed = "p.to_step = 'closed'"
        reopened = "(s.t = 3 AND s.reached >= 8)"
        counts["cases"] = _insert(
            cursor,
            Case,
            {
                "id": "s.id",
                "reference": "'C' || to_char(s.received_at AT TIME ZONE 'UTC', 'YYYYMM') || '-'"
                " || lpad(s.i::text, 7, '0')",
                "customer_id": "s.customer_id",
                "channel": "s.channel",
                "category": "s.category",
                "product": "s.product",
                "order_number": "'SO-' || s.i",
                "quantity": "CASE WHEN mod(s.i, 5) = 0 THEN NULL ELSE 1 + mod(s.i, 3) END",
                "description": "'Bench case ' || s.i || '. ' || repeat('The appliance stopped "
                "working after a week and the service visit came two days late. ', 3)",
                "desired_outcome": "'A repair or a replacement, and an apology for the delay.'",
                "urgency": "s.urgency",
                "received_at": "s.received_at",
                "receiver_id": "s.receiver_id",
                "owner_id": "s.receiver_id",
                "customer_account": "CASE WHEN s.reached >= 3 THEN 'In the customer''s words: "
                "' || repeat('it broke again and nobody called back. ', 3) ELSE '' END",
                "emotion": "CASE WHEN s.reached >= 3 THEN 'Angry; wants it fixed this week' "
                "ELSE '' END",
                "understanding_confirmed": "s.reached >= 3",
                "validity": f"CASE WHEN {analysed} THEN s.validity ELSE '' END",
                "root_cause_category": f"CASE WHEN NOT ({analysed}) THEN '' "
                "WHEN s.validity = 'not_valid' THEN 'misunderstanding' ELSE s.root_cause END",
                "root_cause_analysis": f"CASE WHEN {analysed} THEN repeat('Why? The part was "
                "not checked at the warehouse. ', 4) ELSE '' END",
                "department_id": f"CASE WHEN {analysed} THEN s.department_id END",
                "remedy_types": f"(CASE WHEN {decided} THEN s.remedy_types ELSE '[]' END)::jsonb",
                "remedy_value": f"CASE WHEN {decided} THEN s.remedy_value END",
                "remedy_plan": f"CASE WHEN {decided} THEN 'Send a technician; offer the "
                "remedy agreed.' ELSE '' END",
                "remedy_approved_by_id": f"CASE WHEN {decided} AND s.remedy_value > "
                "%(handler_ceiling)s THEN %(manager)s END",
                "actions_taken": f"CASE WHEN {acted} THEN 'Technician visited; part replaced."
                "' ELSE '' END",
                "report": f"CASE WHEN {acted} THEN repeat('Investigation: the batch had a "
                "faulty seal; supplier informed. ', 4) ELSE '' END",
                "customer_agreed": f"CASE WHEN p.to_step IN ('follow_up', 'closed') OR "
                f"{reopened} THEN true WHEN s.t = 2 AND s.reached BETWEEN 7 AND 9 THEN false "
                "END",
                "agreement_note": "CASE WHEN s.t = 2 AND s.reached >= 7 THEN 'Refused the "
                "first offer.' ELSE '' END",
                "follow_up_satisfied": f"CASE WHEN {closed} THEN true WHEN {reopened} "
                "THEN false END",
                "satisfaction_rating": f"CASE WHEN {closed} THEN s.rating WHEN {reopened} "
                "THEN 1 + (s.r_comment < 0.5)::int END",
                "handling_rating": f"CASE WHEN {closed} THEN s.handling END",
                "follow_up_comment": f"CASE WHEN {reopened} THEN 'Not satisfied: the fault "
                f"came back.' WHEN {closed} AND s.r_comment < CASE WHEN s.rating <= 2 "
                "THEN 0.6 ELSE 0.08 END THEN 'The technician was late again.' ELSE '' END",
                "step": "p.to_step",
                "ending": f"CASE WHEN {closed} THEN 'rated' ELSE '' END",
                "tier": "COALESCE(x.tier, 0)",
                "due_at": "x.due_at",
                "reopen_count": f"{reopened}::int",
                "version": "s.reached",
                "created_at": "s.received_at",
                "updated_at": "s.times[s.reached]",
                "closed_at": f"CASE WHEN {closed} THEN s.times[s.reached] END",
            },
            """bench_seed s
            JOIN bench_path p ON p.t = s.t AND p.k = s.reached
            LEFT JOIN bench_extra x ON x.case_id = s.id
            ORDER BY s.i""",
            params | {"handler_ceiling": _ceiling(0)},
        )
        begin = lap("cases", begin)

        # The timeline, in the order it was written (by time, as the ids go): the moves,
        # a message to the customer in half the cases, an internal note in a third.
        counts["events"] = _insert(
            cursor,
            CaseEvent,
            {
                "case_id": "e.case_id",
                "at": "e.at",
                "kind": "e.kind",
                "from_step": "e.from_step",
                "to_step": "e.to_step",
                "actor_id": "e.actor_id",
                "note": "e.note",
                "customer_visible": "e.customer_visible",
            },
            """(SELECT s.id AS case_id, s.times[p.k] AS at, p.kind, p.from_step, p.to_step,
                       s.receiver_id AS actor_id, '' AS note, p.kind = 'received'
                       AS customer_visible
                  FROM bench_seed s JOIN bench_path p ON p.t = s.t AND p.k <= s.reached
                UNION ALL
                SELECT s.id, s.times[2] + interval '20 minutes', 'message', '', '',
                       s.receiver_id, 'We have your complaint and are looking into it.', true
                  FROM bench_seed s
                 WHERE s.r_message < 0.5 AND s.reached >= 2
                   AND s.times[2] + interval '20 minutes' <= %(now)s
                UNION ALL
                SELECT s.id, s.times[3] + interval '1 hour', 'note', '', '', s.receiver_id,
                       'Asked the warehouse for the batch number.', false
                  FROM bench_seed s
                 WHERE s.r_note < 0.33 AND s.reached >= 3
                   AND s.times[3] + interval '1 hour' <= %(now)s
            ) e ORDER BY e.at""",
            params,
        )
        begin = lap("events", begin)

        # Remedies above the handler's authority: approved in Decide; a quarter of the cases
        # now in Decide wait for an approval.
        counts["approvals"] = _insert(
            cursor,
            Approval,
            {
                "case_id": "s.id",
                "round": "(s.t = 3 AND s.reached >= 8)::int",
                "value": "COALESCE(s.remedy_value, 1000)",
                "remedy_types": "s.remedy_types::jsonb",
                "tier": "CASE WHEN COALESCE(s.remedy_value, 1000) > %(head_ceiling)s "
                "THEN 2 ELSE 1 END",
                "status": "CASE WHEN s.reached >= 5 THEN 'approved' ELSE 'pending' END",
                "requested_by_id": "s.receiver_id",
                "requested_at": "s.times[4] + interval '1 hour'",
                "decided_by_id": "CASE WHEN s.reached >= 5 THEN %(manager)s END",
                "decided_at": "CASE WHEN s.reached >= 5 THEN s.times[5] END",
            },
            """bench_seed s JOIN bench_path p ON p.t = s.t AND p.k = s.reached
             WHERE s.validity <> 'not_valid' AND s.times[4] + interval '1 hour' <= %(now)s
               AND ((s.reached >= 5 AND s.remedy_value > %(handler_ceiling)s)
                    OR (p.to_step = 'decide' AND s.r_pending < 0.25))
             ORDER BY s.i""",
            params | {"handler_ceiling": _ceiling(0), "head_ceiling": _ceiling(1)},
        )
        counts["external reviews"] = _insert(
            cursor,
            ExternalReview,
            {
                "case_id": "s.id",
                "reviewer": "'Consumer association'",
                "reason": "'The customer disputes the remedy.'",
                "referred_by_id": "%(manager)s",
                "referred_at": "s.received_at + interval '4 days'",
                "outcome": "CASE WHEN s.received_at + interval '24 days' <= %(now)s "
                "THEN 'The remedy stands.' ELSE '' END",
                "outcome_at": "CASE WHEN s.received_at + interval '24 days' <= %(now)s "
                "THEN s.received_at + interval '24 days' END",
                "outcome_by_id": "CASE WHEN s.received_at + interval '24 days' <= %(now)s "
                "THEN %(manager)s END",
            },
            """bench_seed s
             WHERE s.r_review < 0.002 AND s.reached >= 5
               AND s.received_at + interval '4 days' <= %(now)s""",
            params,
        )
        begin = lap("approvals, external reviews", begin)

        cursor.execute("SET session_replication_role = DEFAULT")
        for _name, definition in indexes:
            cursor.execute(definition)
        begin = lap(f"{len(indexes)} secondary indexes made again", begin)
        # The repeat flag (Case.repeat_of), as the data migration fills it on an upgraded
        # database: one UPDATE.
        importlib.import_module("complaints.migrations.0010_repeats_and_merging").repeats_fill(
            global_apps, None
        )
        begin = lap("repeat flags", begin)
        for sql in connection.ops.sequence_reset_sql(
            no_style(), [Customer, Case, CaseEvent, Deadline, Escalation, Approval, ExternalReview]
        ):
            cursor.execute(sql)
        for temp in ("seed", "path", "milestone", "policy", "escalation", "extra"):
            cursor.execute(f"DROP TABLE bench_{temp}")
        for setting in ("work_mem", "maintenance_work_mem", "synchronous_commit"):
            cursor.execute(f"RESET {setting}")
        cursor.execute(
            "VACUUM (ANALYZE) "
            + ", ".join(
                m._meta.db_table
                for m in (Customer, Case, CaseEvent, Deadline, Escalation, Approval, ExternalReview)
            )
        )
        lap("VACUUM ANALYZE", begin)
        # The foreign keys were not checked while loading: count the rows they would refuse.
        cursor.execute(
            """SELECT (SELECT count(*) FROM complaints_case c WHERE NOT EXISTS
                         (SELECT 1 FROM complaints_customer u WHERE u.id = c.customer_id))
                    + (SELECT count(*) FROM escalation_deadline d WHERE NOT EXISTS
                         (SELECT 1 FROM complaints_case c WHERE c.id = d.case_id))
                    + (SELECT count(*) FROM escalation_escalation e WHERE NOT EXISTS
                         (SELECT 1 FROM escalation_deadline d WHERE d.id = e.deadline_id)
                         AND e.deadline_id IS NOT NULL)"""
        )
        assert cursor.fetchone()[0] == 0
    return counts, laps


def _ceiling(tier: int) -> Decimal:
    ceiling = AuthorityLimit.objects.filter(tier=tier).values_list("ceiling", flat=True).first()
    return ceiling if ceiling is not None else Decimal("1e9")


# ---------------------------------------------------------------- measuring


class _Profile:
    """``connection.execute_wrapper``: each query's time, text and the figure it belongs to
    (the dashboard table being computed, else the innermost function of the project)."""

    def __init__(self) -> None:
        self.queries: list[tuple[float, str, object, str]] = []

    def __call__(self, execute, sql, params, many, context):
        begin = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            ms = (time.perf_counter() - begin) * 1000
            self.queries.append((ms, sql, params, _named(_label(sys._getframe(1)), sql)))


def _label(frame) -> str:
    innermost, in_template = None, False
    while frame is not None:
        code = frame.f_code
        path = Path(code.co_filename)
        if code.co_name == "table_for" and path.parts[-2:] == ("reporting", "dashboard.py"):
            return f"table {frame.f_locals.get('key')}"
        if "django" in path.parts and "template" in path.parts:
            in_template = True
        if (
            innermost is None
            and ROOT in path.parents
            and not {".venv", "tests"} & set(path.relative_to(ROOT).parts)
        ):
            module = ".".join(path.relative_to(ROOT).with_suffix("").parts)
            innermost = f"{module}.{code.co_name}"
            dimension = frame.f_locals.get("dimension")
            if dimension:
                innermost += f" [{dimension}]"
            if in_template:
                innermost += " (evaluated in the template)"
        frame = frame.f_back
    return innermost or "Django (session, user)"


def _named(label: str, sql: str) -> str:
    """A table's query is named by its table; any other also by the table it reads."""
    if label.startswith("table "):
        return label
    found = re.search(r'FROM "(\w+)"', sql)
    return f"{label} — {found.group(1)}" if found else label


_SCANS = re.compile(
    r"((?:Parallel )?(?:Seq Scan|Index Scan|Index Only Scan|Bitmap Heap Scan|Bitmap Index Scan)"
    r"(?: Backward)?(?: using \S+)? on \S+)"
)


def _explain(sql: str, params) -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, params)
        return [line for (line,) in cursor.fetchall()]


def _scans(plan: list[str]) -> str:
    found: dict[str, int] = {}
    for line in plan:
        for scan in _SCANS.findall(line):
            found[scan] = found.get(scan, 0) + 1
    return "; ".join(f"{scan}" + (f" x{n}" if n > 1 else "") for scan, n in found.items())


def _measure(client, url: str, *, plans: bool, runs: int = 3) -> dict:
    """Profile one request (it also warms the caches), then time ``runs`` more."""
    profile = _Profile()
    with CaptureQueriesContext(connection) as captured, connection.execute_wrapper(profile):
        assert client.get(url).status_code == 200
    count = len(captured)
    times = []
    for _ in range(runs):
        begin = time.perf_counter()
        response = client.get(url)
        times.append(time.perf_counter() - begin)
        assert response.status_code == 200
    slowest = sorted(profile.queries, key=lambda q: -q[0])[:5]
    explained = []
    for ms, sql, params, label in slowest:
        plan = _explain(sql, params)
        explained.append((ms, label, _scans(plan), plan if plans else None, sql))
    return {
        "queries": count,
        "each": [(ms, label) for ms, _sql, _params, label in profile.queries],
        "median": statistics.median(times),
        "runs": times,
        "sql_total": sum(q[0] for q in profile.queries) / 1000,
        "slowest": explained,
    }


# ---------------------------------------------------------------- the benchmark


def test_dashboard_for_one_year_over_a_million_cases(client):
    departments = Department.objects.bulk_create(
        Department(name=name, code=code) for name, code in DEPARTMENTS
    )
    receivers = [
        staff(Role.AGENT, department=departments[k % len(departments)], username=f"bench{k}")
        for k in range(16)
    ]
    manager = staff(Role.QUALITY_MANAGER, username="bench-quality")
    now = timezone.now()

    begin = time.perf_counter()
    counts, laps = _generate(
        now=now,
        receivers=[r.pk for r in receivers],
        departments=[d.pk for d in departments],
        manager=manager.pk,
    )
    generated = time.perf_counter() - begin
    size = {}
    with connection.cursor() as cursor:
        for model in (Case, CaseEvent, Deadline):
            table = model._meta.db_table
            cursor.execute(
                "SELECT pg_size_pretty(pg_table_size(%s)), pg_size_pretty(pg_indexes_size(%s))",
                [table, table],
            )
            size[table] = cursor.fetchone()

    print(f"\nDashboard benchmark on PostgreSQL {connection.pg_version // 10000}:")
    print(
        f"  generated in {generated:.0f} s: " + ", ".join(f"{n:,} {t}" for t, n in counts.items())
    )
    for name, seconds in laps:
        print(f"    {name:<36} {seconds:6.1f} s")
    for table, (heap, indexes) in size.items():
        print(f"    {table:<36} {heap} table, {indexes} indexes")
    steps = dict(Case.objects.values_list("step").annotate(n=Count("pk")).order_by())
    print("  cases by step: " + ", ".join(f"{s} {steps.get(s, 0):,}" for s in ORDER))

    # The daily rollup (reporting.rollup), built as the first catch-up would, then vacuumed
    # and analysed as autovacuum would after that many new rows.
    begin = time.perf_counter()
    built = rollup_rebuild(force=True)
    build_time = time.perf_counter() - begin
    with connection.cursor() as cursor:
        for model in (DailyFigures, DailyStays, DailyProducts):
            cursor.execute(f"VACUUM (ANALYZE) {model._meta.db_table}")
    print(f"\n  Rollup built in {build_time:.0f} s ({built.days} days):")
    with connection.cursor() as cursor:
        for model in (DailyFigures, DailyStays, DailyProducts):
            table = model._meta.db_table
            cursor.execute("SELECT pg_size_pretty(pg_total_relation_size(%s))", [table])
            print(f"    {table:<36} {model.objects.count():>10,} rows, {cursor.fetchone()[0]}")

    client.force_login(manager)
    today = timezone.localdate(now)
    biggest = (
        Case.objects.filter(department__isnull=False)
        .values("department")
        .annotate(n=Count("pk"))
        .order_by("-n")
        .first()
    )
    year = f"received_after={today - timedelta(days=DAYS)}&received_before={today}"
    month = f"received_after={today - timedelta(days=30)}&received_before={today}"
    scenarios = {
        "one year": (f"/reports/?{year}", True),
        "one month": (f"/reports/?{month}", False),
        "one department, one year": (
            f"/reports/?{year}&department={biggest['department']}",
            False,
        ),
        # Filters whose time in steps and products the rollup does not keep (live).
        "one category, one year": (f"/reports/?{year}&category=safety", False),
        "category and channel, one year": (
            f"/reports/?{year}&category=product_quality&channel=phone",
            False,
        ),
    }
    results = {}
    for name, (url, plans) in scenarios.items():
        in_scope = Case.objects.filter(
            received_at__date__gte=today - timedelta(days=DAYS if "year" in name else 30)
        )
        if "department" in name:
            in_scope = in_scope.filter(department=biggest["department"])
        if "category" in name:
            in_scope = in_scope.filter(
                category="safety" if "one category" in name else "product_quality"
            )
        if "channel" in name:
            in_scope = in_scope.filter(channel="phone")
        results[name] = _measure(client, url, plans=plans) | {"cases": in_scope.count()}

    print("\n  Whole request from the rollup (median of 3, after a profiled warm-up):")
    for name, r in results.items():
        runs = ", ".join(f"{t:.2f}" for t in r["runs"])
        print(
            f"    {name:<32} {r['cases']:>9,} cases  {r['queries']} queries  "
            f"median {r['median']:6.2f} s  (runs {runs}; SQL in the warm-up {r['sql_total']:.2f} s)"
        )
    for name, r in results.items():
        print(f"\n  Each query of the warm-up request, {name} (ms):")
        for ms, label in r["each"]:
            print(f"    {ms:9.1f}  {label}")
        print(f"  The five slowest, {name}, and the scans of their plans:")
        for ms, label, scans, _plan, _sql in r["slowest"]:
            print(f"    {ms:9.0f} ms  {label}\n                 {scans}")
    print("\n  Their plans, one year (EXPLAIN (ANALYZE, BUFFERS), run again):")
    for ms, label, _scans, plan, sql in results["one year"]["slowest"]:
        print(f"\n  --- {label} ({ms:.0f} ms in the request)\n  {sql[:400]}…")
        print("\n".join(f"    {line}" for line in plan))

    # The rollup against the cases themselves, for the year: every table the same, but the
    # time in each step, whose percentiles are read from buckets (reporting.rollup).
    data = QueryDict(year, mutable=True)
    scope = scope_for(user=manager, data=data)
    assert isinstance(scope.figures, RollupFigures)
    live = LiveFigures(scope.cases, now=scope.figures.as_of)
    begin = time.perf_counter()
    differing = [
        key
        for key in TABLES
        if key != "time_in_steps"
        and [r.values for r in table_for(scope, key).rows]
        != [r.values for r in TABLES[key](live, scope.bucket).rows]
    ]
    print(f"\n  Rollup against the cases, one year ({time.perf_counter() - begin:.0f} s live):")
    print(f"    tables that differ (time in steps aside): {differing or 'none'}")
    rolled = {r.values["step"]: r.values for r in table_for(scope, "time_in_steps").rows}
    exact = {r.values["step"]: r.values for r in time_in_steps(cases=live).rows}
    worst = 0.0
    for step, values in rolled.items():
        for column in ("median", "p90"):
            a, b = values[column], exact[step][column]
            if a is not None and b:
                worst = max(worst, abs(a - b) / b)
        print(
            f"    {step:<10} stays {values['spells']:>9,}/{exact[step]['spells']:<9,} "
            f"median {values['median']}/{exact[step]['median']} h  "
            f"p90 {values['p90']}/{exact[step]['p90']} h  (rollup/exact)"
        )
    print(f"    largest difference of a percentile: {worst:.3%}")

    # A busy minute: 300 cases of the last ten days get an event each (as notes, messages
    # and moves would), then the catch-up recomputes their days.
    touched = list(
        Case.objects.filter(received_at__gte=now - timedelta(days=10))
        .order_by("?")
        .values_list("pk", flat=True)[:300]
    )
    later = timezone.now()
    CaseEvent.objects.bulk_create(
        CaseEvent(case_id=pk, kind=CaseEvent.Kind.NOTE, note="Called back.", at=later)
        for pk in touched
    )
    RollupState.objects.update(fresh_as_of=later - timedelta(seconds=60))
    begin = time.perf_counter()
    caught = rollup_catch_up()
    print(
        f"\n  Catch-up after 300 cases of the last 10 days changed: {caught.days} days "
        f"recomputed in {time.perf_counter() - begin:.1f} s"
    )

    assert differing == []
    assert worst < 0.01
    assert results["one year"]["queries"] == results["one month"]["queries"]
