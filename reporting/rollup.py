"""The daily rollup: the dashboard's figures added up per day of receipt, kept by Celery, so
that a year of a million cases reads in well under a second (issue 6;
``tests/bench/test_dashboard_bench.py``). ``reporting.rollup_figures`` reads it; this module
writes it.

What is kept
------------
Per local day of receipt (in ``TIME_ZONE``) and per the department that answers for the cases
(the responsible one, or, for a case not analysed yet, none and the receiver's: what a
department head's scope holds), at five levels of detail (``models.Level``):

* ``DailyFigures``: one column per additive figure (cases, closed, reopened, repeats, ratings
  and their sums, satisfied, root causes, validity, remedies and their value in cents, each
  milestone's counted deadlines by state, escalations and the cases escalated by tier and
  reason) by
  department, and by department and category, channel or urgency, and by all four: so that the
  dashboard's category, channel and urgency filters, alone or together, and the volumes by
  channel and by category are read from rows kept by exactly those values.
* ``DailyStays``: the finished stays in each step in buckets of length, 16 to a doubling (each
  bucket's longest stay is at most 4.4 % longer than its shortest), with the count, the
  shortest and the longest; and the stays still running. The percentiles are read from them:
  the bucket that holds the stay of the nearest rank, and within it the length interpolated
  between its shortest and longest by rank — exact when the bucket holds one or two stays or
  the rank is its first or last, otherwise within the bucket's width (the benchmark measures the
  difference from the exact figure). For the whole organisation and per department.
* ``DailyProducts``: cases per product (lower-cased), for the whole organisation and per
  department.

Merged and every other figure of a case is kept on the day it was received, so a change to an
old case changes an old day.

How it is kept
--------------
``rollup_catch_up`` (every minute, Celery beat) recomputes the days of the cases that changed
since the last run — a case saved (``updated_at``), an event appended, a deadline whose due
time passed (it may now be breached: the sweep marks it; for ``SWEEP_LAG`` after the due time
the day is looked at again) — looking ``OVERLAP`` further back than the last run so that a
transaction that committed late is not missed. A day is recomputed whole, in one transaction
that holds the ``RollupState`` row's lock: readers see the old day or the new one, two runs
never write one day at once. ``rollup_rebuild`` (every night, and ``manage.py rollup_rebuild``)
recomputes the last ``REBUILD_DAYS`` days as a safety net, or everything; the first run, a
change of ``TIME_ZONE`` or of ``DEFINITION`` builds everything afresh, and until that is done
the dashboard computes its figures from the cases.

Every number is computed by the database: grouped queries over the cases, deadlines,
escalations and events of the days (a fixed number per batch of days, whatever the number of
cases); Python only files the groups into rows.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db import models as m
from django.db.models import Count, F, Max, Min, Q, Sum
from django.db.models.functions import Cast, Coalesce, Lower, Round, TruncDate
from django.utils import timezone

from complaints.models import (
    Case,
    CaseEvent,
    Ending,
    Remedy,
    RootCause,
    Step,
    Tier,
    Validity,
)
from escalation.models import Deadline, Escalation

from .figures import counted_deadlines, deadline_counts
from .filters import remedy_q, repeat_q
from .models import (
    DailyFigures,
    DailyProducts,
    DailyStays,
    Level,
    RollupState,
    figure_names,
)
from .steps import stays_cte

log = logging.getLogger(__name__)

# Raise when what the rows hold changes: the next run builds everything afresh.
DEFINITION = 2  # 2: the first-response milestone and how cases ended
BUCKETS_PER_DOUBLING = 16
# How far before the last run a run looks for changes (a transaction that committed late).
OVERLAP = timedelta(minutes=5)
# How long after a deadline's due time its day is looked at again (until the sweep has marked
# the breach, which needs no other change to the case when there is no tier left to escalate to).
SWEEP_LAG = timedelta(minutes=15)
# The nightly rebuild's reach.
REBUILD_DAYS = 400
# Days recomputed in one transaction (and one set of queries).
CHUNK_DAYS = 31
# A full build that started less than this long ago is still running: another run leaves it.
BUILD_TIMEOUT = timedelta(hours=2)

# The fields each level of DailyFigures keeps besides the day and the departments.
FIGURE_LEVELS: dict[str, tuple[str, ...]] = {
    Level.DEPARTMENT: (),
    Level.CATEGORY: ("category",),
    Level.CHANNEL: ("channel",),
    Level.URGENCY: ("urgency",),
    Level.CELL: ("category", "channel", "urgency"),
}
# The levels DailyStays and DailyProducts keep (the whole organisation is added up from the
# departments' rows, in the database).
SPREAD_LEVELS = (Level.ALL, Level.DEPARTMENT)


# ---------------------------------------------------------------- what a row holds


def _sum(expression, **extra) -> m.Expression:
    """A sum that is 0, not NULL, over no value."""
    return Coalesce(Sum(expression, **extra), m.Value(0), output_field=m.BigIntegerField())


def _cents(field: str, **extra) -> m.Expression:
    """The sum of a money field in cents, as an integer (SQLite sums decimals as floats)."""
    cents = m.ExpressionWrapper(F(field) * 100, output_field=m.DecimalField())
    return Cast(
        Round(Coalesce(Sum(cents, **extra), m.Value(0), output_field=m.DecimalField())),
        m.BigIntegerField(),
    )


def case_figures() -> dict[str, m.Aggregate]:
    """The figures counted over the cases themselves, by name."""
    remedied = ~Q(remedy_types=[])
    figures: dict[str, m.Aggregate] = {
        "cases": Count("pk"),
        "closed": Count("pk", filter=Q(step=Step.CLOSED)),
        "reopened": Count("pk", filter=Q(reopen_count__gt=0)),
        "repeats": Count("pk", filter=repeat_q()),
        "rated": Count("satisfaction_rating"),
        "rating_sum": _sum("satisfaction_rating"),
        "handling_rated": Count("handling_rating"),
        "handling_sum": _sum("handling_rating"),
        "answered": Count("follow_up_satisfied"),
        "satisfied": Count("pk", filter=Q(follow_up_satisfied=True)),
        "remedied": Count("pk", filter=remedied),
        "remedied_cents": _cents("remedy_value", filter=remedied),
    }
    for code in Ending.values:
        figures[f"ended_{code}"] = Count("pk", filter=Q(ending=code))
    for code in RootCause.values:
        figures[f"root_cause_{code}"] = Count("pk", filter=Q(root_cause_category=code))
    for code in Validity.values:
        figures[f"validity_{code}"] = Count("pk", filter=Q(validity=code))
    for code in Remedy.values:
        has = remedy_q(code)
        figures[f"remedy_{code}"] = Count("pk", filter=has)
        figures[f"remedy_cents_{code}"] = _cents("remedy_value", filter=has)
    return figures


def escalation_figures() -> dict[str, m.Aggregate]:
    """Escalations and the cases escalated, per tier gone to and reason."""
    figures: dict[str, m.Aggregate] = {}
    for tier in Tier.values:
        for reason in Escalation.Reason.values:
            on = Q(to_tier=tier, reason=reason)
            figures[f"escalations_{tier}_{reason}"] = Count("pk", filter=on)
            figures[f"escalated_cases_{tier}_{reason}"] = Count("case", filter=on, distinct=True)
    return figures


def _zone() -> ZoneInfo:
    return ZoneInfo(settings.TIME_ZONE)


def _keys(level: str, prefix: str = "") -> dict[str, m.Expression]:
    """What ``level`` groups by, for a queryset whose path to the case is ``prefix``."""
    keys: dict[str, m.Expression] = {"day": TruncDate(f"{prefix}received_at", tzinfo=_zone())}
    if level != Level.ALL:
        keys["dept"] = F(f"{prefix}department_id")
        keys["intake"] = m.Case(
            m.When(
                **{f"{prefix}department__isnull": True},
                then=F(f"{prefix}receiver__department_id"),
            ),
            default=None,
        )
    for field in FIGURE_LEVELS.get(level, ()):
        keys[f"by_{field}"] = F(f"{prefix}{field}")
    return keys


# ---------------------------------------------------------------- recomputing days


def _day_bounds(day: date) -> tuple[datetime, datetime]:
    """The day's first moment and the next day's, in TIME_ZONE (each placed on its own, so a
    day of a daylight-saving change is 23 or 25 hours)."""
    zone = _zone()
    return (
        datetime.combine(day, time.min, tzinfo=zone),
        datetime.combine(day + timedelta(days=1), time.min, tzinfo=zone),
    )


def _runs(days: list[date]) -> Iterable[tuple[date, date]]:
    """Consecutive days as (first, last) runs."""
    first = last = None
    for day in sorted(days):
        if last is not None and day == last + timedelta(days=1):
            last = day
            continue
        if first is not None:
            yield first, last
        first = last = day
    if first is not None:
        yield first, last


def _received_on(days: list[date], prefix: str = "") -> Q:
    """The cases received on ``days``, but those merged into another (no complaint of their
    own, as ``reporting.access.cases_reported_to`` has it): one range of received_at per run
    of days (the ``case_received`` index)."""
    q = Q()
    for first, last in _runs(days):
        q |= Q(
            **{
                f"{prefix}received_at__gte": _day_bounds(first)[0],
                f"{prefix}received_at__lt": _day_bounds(last)[1],
            }
        )
    return q & Q(**{f"{prefix}merged_into__isnull": True})


# A stay's bucket: 16 to a doubling of its length in seconds (a stay under a second is in the
# first); -1 for the stays still running.
_BUCKET = {
    # On PostgreSQL in double precision: LN of numeric is many times slower.
    "postgresql": "FLOOR(LN(GREATEST(seconds, 1)::float8) * {n} / LN(2))",
    "sqlite": "FLOOR(LN(MAX(seconds, 1)) * {n} / LN(2))",
}


def _insert_select(model, columns: list[str], select_sql: str, params: list) -> None:
    """``INSERT INTO`` the model's table ``SELECT`` …: rows written by the database from a
    query, never through Python (the stays are a hundred thousand rows a month at a million
    cases a year)."""
    qn = connection.ops.quote_name
    names = ", ".join(qn(model._meta.get_field(c).column) for c in columns)
    with connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {qn(model._meta.db_table)} ({names}) {select_sql}", params)


def _compiled(queryset) -> tuple[str, tuple]:
    return queryset.query.get_compiler(using=queryset.db).as_sql()


_KEY_COLUMNS = ["day", "level", "department", "intake_department"]
_FIGURE_KEYS = ["category", "channel", "urgency"]


def _write_figures(days: list[date]) -> None:
    """The figures of the cases received on ``days`` at every level, written by the database:
    the finest level (CELL) from one statement over three grouped queries (the cases, their
    counted deadlines, their escalations: each gives its own figures, 0 for the others'), then
    each coarser level added up from the cells (every figure is a count or a sum, and a case is
    in one cell)."""
    cases = Case.objects.filter(_received_on(days)).order_by()
    sources = [
        (cases, "", case_figures()),
        (counted_deadlines(cases).order_by(), "case__", deadline_counts()),
        (
            Escalation.objects.filter(_received_on(days, "case__")).order_by(),
            "case__",
            escalation_figures(),
        ),
    ]
    names = list(figure_names())
    qn = connection.ops.quote_name
    parts, params = [], []
    for queryset, prefix, figures in sources:
        sql, part_params = _compiled(
            queryset.values(**_keys(Level.CELL, prefix)).annotate(**figures)
        )
        columns = ", ".join(
            f"{qn(name) if name in figures else '0'} AS {qn(name)}" for name in names
        )
        parts.append(
            f"SELECT day, dept, intake, by_category, by_channel, by_urgency, {columns} "  # noqa: S608
            f"FROM ({sql}) AS part"
        )
        params.extend(part_params)
    sums = ", ".join(f"SUM({qn(name)})" for name in names)
    # As everywhere here: the names are the model's columns, the rest Django's compiled queries
    # with their parameters.
    _insert_select(
        DailyFigures,
        [*_KEY_COLUMNS, *_FIGURE_KEYS, *names],
        f"""SELECT day, %s, dept, intake, by_category, by_channel, by_urgency, {sums}
              FROM ({" UNION ALL ".join(parts)}) AS parts
             GROUP BY day, dept, intake, by_category, by_channel, by_urgency""",  # noqa: S608
        [Level.CELL, *params],
    )
    cells = DailyFigures.objects.filter(level=Level.CELL, day__in=days).order_by()
    for level, fields in FIGURE_LEVELS.items():
        if level == Level.CELL:
            continue
        sql, level_params = _compiled(
            cells.values(
                "day",
                dept=F("department_id"),
                intake=F("intake_department_id"),
                **{f"by_{field}": F(field) for field in fields},
            ).annotate(**{f"sum_{name}": Sum(name) for name in names})
        )
        kept = ", ".join(f"by_{field}" if field in fields else "''" for field in _FIGURE_KEYS)
        _insert_select(
            DailyFigures,
            [*_KEY_COLUMNS, *_FIGURE_KEYS, *names],
            f"SELECT day, %s, dept, intake, {kept}, "  # noqa: S608
            f"{', '.join(qn(f'sum_{name}') for name in names)} FROM ({sql}) AS cells",
            [level, *level_params],
        )


_STAY_COLUMNS = [
    *_KEY_COLUMNS,
    "step",
    "bucket",
    "stays",
    "shortest",
    "longest",
]


def _write_stays(days: list[date], now: datetime) -> None:
    """The departments' stay buckets of the cases received on ``days``, in one statement."""
    cases = Case.objects.filter(_received_on(days)).order_by()
    cte = stays_cte(cases=cases, now=now)
    if cte is None:
        return
    stays_sql, params = cte
    dims_sql, dims_params = _compiled(cases.values(case_pk=F("pk"), **_keys(Level.DEPARTMENT)))
    bucket = _BUCKET[connection.vendor].format(n=BUCKETS_PER_DOUBLING)
    # As in reporting.steps.stays_cte: identifiers from the models' metadata, Django's own
    # compiled subqueries, every value a parameter; the only text formatted in is this module's
    # constants.
    select = f"""{stays_sql}
        SELECT d.day, %s, d.dept, d.intake, s.step,
               CASE WHEN s.seconds IS NULL THEN %s ELSE {bucket} END,
               COUNT(*), MIN(s.seconds), MAX(s.seconds)
          FROM stays s
          JOIN ({dims_sql}) d ON d.case_pk = s.case_id
         GROUP BY d.day, d.dept, d.intake, s.step, 6
    """  # noqa: S608 — see the comment above.
    _insert_select(
        DailyStays,
        _STAY_COLUMNS,
        select,
        [*params, Level.DEPARTMENT, DailyStays.RUNNING, *dims_params],
    )


_PRODUCT_COLUMNS = [*_KEY_COLUMNS, "product", "label", "cases"]


def _write_products(days: list[date]) -> None:
    sql, params = _compiled(
        Case.objects.filter(_received_on(days))
        .order_by()
        .values(**_keys(Level.DEPARTMENT), key=Lower("product"))
        .annotate(shown=Max("product"), n=Count("pk"))
    )
    _insert_select(
        DailyProducts,
        _PRODUCT_COLUMNS,
        f"SELECT day, %s, dept, intake, key, shown, n FROM ({sql}) AS products",  # noqa: S608
        [Level.DEPARTMENT, *params],
    )


def _whole_organisation(days: list[date]) -> None:
    """The ALL level of stays and products, added up by the database from the departments'
    rows just written."""
    departments = Q(level=Level.DEPARTMENT, day__in=days)
    stays_sql, stays_params = _compiled(
        DailyStays.objects.filter(departments)
        .order_by()
        .values("day", "step", "bucket")
        .annotate(n=Sum("stays"), lo=Min("shortest"), hi=Max("longest"))
    )
    _insert_select(
        DailyStays,
        _STAY_COLUMNS,
        f"SELECT day, %s, NULL, NULL, step, bucket, n, lo, hi FROM ({stays_sql}) AS d",  # noqa: S608
        [Level.ALL, *stays_params],
    )
    products_sql, products_params = _compiled(
        DailyProducts.objects.filter(departments)
        .order_by()
        .values("day", "product")
        .annotate(shown=Max("label"), n=Sum("cases"))
    )
    _insert_select(
        DailyProducts,
        _PRODUCT_COLUMNS,
        f"SELECT day, %s, NULL, NULL, product, shown, n FROM ({products_sql}) AS d",  # noqa: S608
        [Level.ALL, *products_params],
    )


def _state_locked() -> RollupState:
    """The state row, locked for this transaction (made if missing)."""
    try:
        with transaction.atomic():
            RollupState.objects.get_or_create(pk=1, defaults={"time_zone": settings.TIME_ZONE})
    except IntegrityError:  # made by a run at the same time
        pass
    return RollupState.objects.select_for_update().get(pk=1)


def _refresh(days: list[date], *, now: datetime) -> None:
    """Recompute ``days`` whole, in one transaction under the state's lock."""
    with transaction.atomic():
        _state_locked()
        for model in (DailyFigures, DailyStays, DailyProducts):
            model.objects.filter(day__in=days).delete()
        _write_figures(days)
        _write_stays(days, now)
        _write_products(days)
        _whole_organisation(days)


def _chunks(days: Iterable[date]) -> Iterable[list[date]]:
    days = sorted(days)
    for start in range(0, len(days), CHUNK_DAYS):
        yield days[start : start + CHUNK_DAYS]


def rollup_refresh(*, days: Iterable[date], now: datetime | None = None) -> int:
    """Recompute the given days (``CHUNK_DAYS`` to a transaction). Returns how many."""
    now = now or timezone.now()
    count = 0
    for chunk in _chunks(set(days)):
        _refresh(chunk, now=now)
        count += len(chunk)
    return count


# ---------------------------------------------------------------- which days, and when


def usable(state: RollupState | None) -> bool:
    """The rollup holds every day, for this time zone and definition."""
    return bool(
        state
        and state.built_at
        and state.fresh_as_of
        and state.time_zone == settings.TIME_ZONE
        and state.definition == DEFINITION
    )


def rollup_state() -> RollupState | None:
    return RollupState.objects.filter(pk=1).first()


def changed_days(*, since: datetime, now: datetime) -> set[date]:
    """The days of receipt of the cases that changed since ``since``: saved, given an event,
    or with a deadline whose due time passed. One query (three index scans)."""
    day = {"day": TruncDate("received_at", tzinfo=_zone())}
    saved = Case.objects.filter(updated_at__gte=since)
    with_events = Case.objects.filter(
        pk__in=CaseEvent.objects.filter(at__gte=since).values("case_id")
    )
    due_passed = Case.objects.filter(
        pk__in=Deadline.objects.filter(
            met_at__isnull=True,
            superseded_at__isnull=True,
            due_at__gte=since - SWEEP_LAG,
            due_at__lte=now,
        ).values("case_id")
    )
    found = (
        saved.order_by()
        .values(**day)
        .union(with_events.order_by().values(**day), due_passed.order_by().values(**day))
        .order_by()  # not the cases' default order: the union has days only
    )
    return {row["day"] for row in found}


@dataclass
class Run:
    days: int
    full: bool = False


def rollup_catch_up(*, now: datetime | None = None) -> Run:
    """Take in what changed since the last run; build everything if the rollup cannot be used
    yet (the first run, another time zone or definition)."""
    now = now or timezone.now()
    state = rollup_state()
    if not usable(state):
        return rollup_rebuild(now=now)
    days = changed_days(since=state.fresh_as_of - OVERLAP, now=now)
    refreshed = rollup_refresh(days=days, now=now)
    RollupState.objects.filter(pk=1, fresh_as_of__lt=now).update(fresh_as_of=now)
    if refreshed:
        log.info("Rollup: %d days recomputed (%s to %s)", refreshed, min(days), max(days))
    return Run(days=refreshed)


def _building(state: RollupState, now: datetime) -> bool:
    """A full build of this time zone and definition started lately and has not finished."""
    return bool(
        state.built_at is None
        and state.fresh_as_of
        and now - state.fresh_as_of < BUILD_TIMEOUT
        and state.time_zone == settings.TIME_ZONE
        and state.definition == DEFINITION
    )


def rollup_rebuild(
    *, days_back: int | None = None, now: datetime | None = None, force: bool = False
) -> Run:
    """Recompute the last ``days_back`` days (the nightly safety net). Build every day afresh
    instead when ``days_back`` is None or the rollup cannot be used — unless another run is
    building it (``force`` builds anyway). While a full build runs, the dashboard computes its
    figures from the cases."""
    now = now or timezone.now()
    today = timezone.localdate(now, _zone())
    with transaction.atomic():
        state = _state_locked()
        full = days_back is None or not usable(state)
        if full:
            if _building(state, now) and not force:
                return Run(days=0, full=True)
            RollupState.objects.filter(pk=1).update(
                built_at=None,
                fresh_as_of=now,
                time_zone=settings.TIME_ZONE,
                definition=DEFINITION,
            )
            for model in (DailyFigures, DailyStays, DailyProducts):
                model.objects.all().delete()
    if full:
        first = Case.objects.aggregate(first=Min("received_at"))["first"]
        first_day = timezone.localdate(first, _zone()) if first else today
    else:
        first_day = today - timedelta(days=days_back - 1)
    count = rollup_refresh(
        days=(first_day + timedelta(days=n) for n in range((today - first_day).days + 1)),
        now=now,
    )
    if full:
        # What changed while it was built was read by the later chunks or is newer than
        # ``now``: the next catch-up looks from there.
        RollupState.objects.filter(pk=1).update(built_at=timezone.now(), fresh_as_of=now)
    log.info("Rollup: %d days %s", count, "built afresh" if full else "recomputed")
    return Run(days=count, full=full)
