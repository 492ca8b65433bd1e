"""Time spent in each of the seven steps (issue 6): how many stays each step had, and their
median and 90th-percentile length, computed by the database in one query from the case
timeline (``complaints.models.CaseEvent``).

Definitions, the same on PostgreSQL and SQLite:

- A **stay** in a step runs from the event that moved the case into it (``received`` →
  receive; ``step`` or ``reopened`` → its ``to_step``) to the case's next such event (events
  ordered by ``at``, then id). A case that goes back (confirm → decide; follow_up → analyse
  on reopening) has several stays in a step, and each one counts.
- Only **finished** stays are measured. A stay still running at ``now`` (the case is in that
  step now) has no length yet; counting it up to ``now`` would make the figure drift with the
  clock and mix half-lengths with whole ones, so it is left out of the percentiles and shown in
  its own column instead ("still in the step"), which keeps the exclusion visible.
- ``now`` is the moment the figures are taken at: events after it are ignored, so a stay that
  ended after ``now`` counts as still running (the half-yearly summary can ask for the figures
  as they stood on 30 June).
- Percentiles by **nearest rank**: of n lengths in ascending order, the p-th percentile is the
  one at rank ceil(p·n/100). The median of 10 stays is the 5th, their 90th percentile the 9th;
  always a length that occurred, never an interpolation. PostgreSQL computes it with
  ``percentile_disc``, which is this definition (and about twice as fast as windows there);
  SQLite, which has no percentile aggregate, with ROW_NUMBER and COUNT windows. The tests'
  hand-computed values run on both.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from django.core.exceptions import EmptyResultSet
from django.db import connections
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from complaints.lifecycle import ORDER
from complaints.models import Case, CaseEvent, Step

from .tables import Column, Row, Table

if TYPE_CHECKING:
    from .figures import Figures

# The seven steps, in lifecycle order: one row each, with or without stays.
STEPS: list[str] = [step for step in ORDER if step != Step.CLOSED]
# The events that move a case into a step (their ``to_step``); no other kind sets one.
ENTERING = (CaseEvent.Kind.RECEIVED, CaseEvent.Kind.STEP, CaseEvent.Kind.REOPENED)
PERCENTILES = {"median": 50, "p90": 90}

# A stay's length in seconds, from ``started`` to ``ended``. SQLite stores datetimes as UTC
# text; julianday() keeps about 0.05 ms, so lengths are rounded to the millisecond there.
_SECONDS = {
    "postgresql": "EXTRACT(EPOCH FROM (ended - started))",
    "sqlite": "ROUND((julianday(ended) - julianday(started)) * 86400.0, 3)",
}


def time_in_steps(*, cases: QuerySet[Case] | Figures, now: datetime | None = None) -> Table:
    """The number of finished stays in each of the seven steps and their median and
    90th-percentile length in hours, for the cases of ``cases`` (the caller's scope and the
    dashboard's filters; live at ``now``, or the rollup's figures). One query, whatever the
    number of cases."""
    table = Table(
        key="time_in_steps",
        title=_("Time spent in each step"),
        columns=[
            Column("step", _("Step")),
            Column("spells", _("Finished stays"), "count"),
            Column("median", _("Median (hours)"), "hours"),
            Column("p90", _("90th percentile (hours)"), "hours"),
            Column("running", _("Still in the step"), "count"),
        ],
        note=_(
            "A stay runs from the move into a step to the move out of it; a case sent back "
            "has several stays in a step. Stays still running are not measured. Percentiles "
            "by nearest rank: the median of 10 stays is the 5th shortest, the 90th "
            "percentile the 9th."
        ),
    )
    found = {step: (0, None, None, 0) for step in STEPS}
    found.update(
        stays_by_step(cases=cases, now=now) if isinstance(cases, QuerySet) else cases.stays()
    )
    for step in STEPS:
        spells, median, p90, running = found[step]
        table.rows.append(
            Row(
                values={
                    # A plain string: exports (csv, openpyxl) take no lazy text.
                    "step": str(Step(step).label),
                    "spells": spells,
                    "median": _hours(median),
                    "p90": _hours(p90),
                    "running": running,
                },
                # The cases with a finished stay in the step: those that left it.
                cases={"left_step": step} if spells else None,
            )
        )
    return table


def _hours(seconds: Decimal | float | None) -> float | None:
    # The database gives Decimal (PostgreSQL) or float (SQLite) seconds; 0.01 h is 36 s.
    return None if seconds is None else round(float(seconds) / 3600, 2)


def stays_cte(*, cases: QuerySet[Case], now: datetime) -> tuple[str, list] | None:
    """``WITH entered AS (…), stays AS (…)``: the stays of ``cases`` as of ``now``, one row
    each (``case_id``, ``step``, ``seconds``: NULL while running), and its parameters; None when
    ``cases`` can match nothing. What the live figures and the rollup both read."""
    connection = connections[cases.db]
    try:
        scope_sql, scope_params = (
            cases.order_by().values("pk").query.get_compiler(using=cases.db).as_sql()
        )
    except EmptyResultSet:  # cases.none(), or a filter that can match nothing
        return None
    qn = connection.ops.quote_name
    field = CaseEvent._meta.get_field
    events = qn(CaseEvent._meta.db_table)
    id_, case_id, at, kind, to_step = (
        qn(field(name).column) for name in ("id", "case", "at", "kind", "to_step")
    )
    # Identifiers are quoted from the models' metadata and the scope is Django's own compiled
    # subquery; every value (kinds, now, the scope's parameters) is a query parameter, and the
    # only other text formatted in is this module's constants (PERCENTILES, _SECONDS).
    #
    # entered: the step-entering events of the cases in scope, each with the time of the
    # case's next one (LEAD over the case's events by at, then id). stays: their lengths in
    # seconds (NULL: still running); closed is not a step.
    #
    # EXPLAIN ANALYZE on PostgreSQL 15 (tests/bench/test_steps_bench.py): with every case in
    # scope, one pass over the events in case order (index scan on case_id, merge-joined to
    # the scope), an incremental sort by (at, id) within each case, LEAD, one sort by step
    # for the percentiles. 20,000 cases (92,000 events): about 0.2 s; 200,000 cases (925,000
    # events): about 2 s, linear. A narrow scope (1,000 cases) is a nested loop over the same
    # index: under 10 ms. The planner takes the foreign key's case_id index rather than
    # event_case_at; both give the case order, and ties on ``at`` need the id sort anyway.
    sql = f"""
        WITH entered AS (
            SELECT e.{case_id} AS case_id,
                   e.{to_step} AS step,
                   e.{at} AS started,
                   LEAD(e.{at}) OVER (
                       PARTITION BY e.{case_id}
                       ORDER BY e.{at}, e.{id_}
                   ) AS ended
              FROM {events} e
             WHERE e.{kind} IN (%s, %s, %s)
               AND e.{at} <= %s
               AND e.{case_id} IN ({scope_sql})
        ),
        stays AS (
            SELECT case_id, step, {_SECONDS[connection.vendor]} AS seconds
              FROM entered
             WHERE step <> %s
        )
    """  # noqa: S608 — see the comment above: no value is formatted into the text.
    params = [
        *ENTERING,
        connection.ops.adapt_datetimefield_value(now),
        *scope_params,
        Step.CLOSED,
    ]
    return sql, params


def stays_by_step(*, cases: QuerySet[Case], now: datetime | None = None) -> dict[str, tuple]:
    """{step: (finished stays, median seconds, p90 seconds, stays still running)} for the
    steps that had any stay, from one query."""
    cte = stays_cte(cases=cases, now=now or timezone.now())
    if cte is None:
        return {}
    entered, params = cte
    connection = connections[cases.db]
    if connection.vendor == "postgresql":
        # percentile_disc(f) is the first value whose rank reaches f·n: nearest rank. The
        # aggregates over the same ORDER BY share one sort per step, and skip NULLs.
        percentiles = "".join(
            f"percentile_disc({p / 100}) WITHIN GROUP (ORDER BY seconds) AS {name}, "
            for name, p in PERCENTILES.items()
        )
        source = "stays"
    else:
        # The same by hand: each finished stay's rank by length (running ones last) and the
        # number of finished stays; nearest rank ceil(p·n/100) in integer arithmetic (SQLite
        # has no ceil() built in).
        percentiles = "".join(
            f"MAX(CASE WHEN rn = (n * {p} + 99) / 100 THEN seconds END) AS {name}, "
            for name, p in PERCENTILES.items()
        )
        source = """(
            SELECT step, seconds,
                   ROW_NUMBER() OVER (PARTITION BY step ORDER BY seconds NULLS LAST) AS rn,
                   COUNT(seconds) OVER (PARTITION BY step) AS n
              FROM stays
        ) AS ranked"""
    sql = f"""{entered}
        SELECT step, COUNT(seconds) AS spells, {percentiles}
               COUNT(*) - COUNT(seconds) AS running
          FROM {source}
         GROUP BY step
    """  # noqa: S608 — as in stays_cte: no value is formatted into the text.
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return {step: tuple(rest) for step, *rest in cursor.fetchall()}
