"""The dashboard's figures read from the daily rollup (``reporting.rollup``): the same answers
as ``reporting.figures.LiveFigures`` gives for the same cases, from a few thousand rows instead
of a million cases. ``rollup_figures_for`` decides whether a reading can use it:

* the rollup has been built for this time zone and definition (``rollup.usable``);
* no product filter (products are kept per day and department only, for the volume by product
  and the early warning): with one, every figure is computed from the cases;
* the time in each step and the volume by product are kept per department, not per category,
  channel or urgency: with one of those filters, those two tables are computed from the cases,
  the others still read the rollup.

A department head reads the rows of their department (responsible, or not analysed yet and
received there): ``reporting.access.cases_reported_to``. The figures are as of the rollup's
last catch-up (a minute at most, while Celery runs): the dashboard says so.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.db import connections
from django.db.models import (
    BigIntegerField,
    F,
    Max,
    Min,
    Q,
    QuerySet,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce, TruncMonth

from complaints.models import Ending, Remedy, RootCause, Tier, Validity
from escalation.models import Escalation, Milestone

from .figures import TRUNC, VOLUME_LIMIT, LiveFigures
from .models import DailyFigures, DailyProducts, DailyStays, Level, RollupState
from .rollup import FIGURE_LEVELS, usable
from .steps import PERCENTILES


def total(name: str) -> Coalesce:
    """The sum of one figure over the rows read (0 when none has it)."""
    return Coalesce(Sum(name), Value(0), output_field=BigIntegerField())


def _money(cents: int) -> Decimal:
    return Decimal(cents) / 100


class RollupFigures:
    """The figures of one reading (a period, a department filter, a department head's scope,
    category, channel and urgency filters), from the rollup; ``live`` answers what the rollup
    does not keep for these filters."""

    def __init__(
        self,
        *,
        state: RollupState,
        live: LiveFigures,
        first: date | None,
        last: date | None,
        department: int | None = None,
        reader_department: int | None = None,
        category: str = "",
        channel: str = "",
        urgency: str = "",
    ):
        self.as_of: datetime = state.fresh_as_of
        self.live = live
        self.first, self.last = first, last
        self.department = department
        self.reader_department = reader_department
        self.filters = {"category": category, "channel": channel, "urgency": urgency}

    # ------------------------------------------------------------ which rows

    def _level(self, *grouped: str | None) -> str:
        """The coarsest level that keeps every filter given and every field grouped by."""
        needed = {name for name, value in self.filters.items() if value}
        needed |= {name for name in grouped if name}
        for level, fields in FIGURE_LEVELS.items():
            if needed <= set(fields):
                return level
        raise ValueError(needed)

    def _period(self, rows: QuerySet) -> QuerySet:
        if self.first:
            rows = rows.filter(day__gte=self.first)
        if self.last:
            rows = rows.filter(day__lte=self.last)
        return rows

    def _departments(self) -> Q:
        q = Q()
        if self.reader_department is not None:
            q &= Q(department_id=self.reader_department) | Q(
                department__isnull=True, intake_department_id=self.reader_department
            )
        if self.department is not None:
            q &= Q(department_id=self.department)
        return q

    def _figures(self, *grouped: str | None) -> QuerySet[DailyFigures]:
        level = self._level(*grouped)
        rows = DailyFigures.objects.filter(self._departments(), level=level).order_by()
        for name in FIGURE_LEVELS[level]:
            if self.filters[name]:
                rows = rows.filter(**{name: self.filters[name]})
        return self._period(rows)

    @property
    def _by_department_only(self) -> bool:
        """No category, channel or urgency filter: what stays and products are kept by."""
        return not any(self.filters.values())

    def _spread(self, model) -> QuerySet:
        """Stays or products: the whole organisation's rows, or a department's."""
        departments = self._departments()
        level = Level.DEPARTMENT if departments else Level.ALL
        return self._period(model.objects.filter(departments, level=level).order_by())

    def rows_for_spikes(self, dimension: str) -> QuerySet | None:
        """The rows the early warning counts a dimension's weeks from (``reporting
        .early_warning``), or None when the rollup does not keep it for these filters."""
        if dimension == "product":
            return self._spread(DailyProducts) if self._by_department_only else None
        return self._figures("category" if dimension == "category" else None)

    def _totals(self, names: list[str]) -> dict[str, int]:
        return self._figures().aggregate(**{name: total(name) for name in names})

    # ------------------------------------------------------------ the answers

    def volume_over_time(self, bucket: str) -> list[tuple[date, int]]:
        groups = (
            self._figures()
            .annotate(period=TRUNC[bucket]("day"))
            .values("period")
            .annotate(n=total("cases"))
            .order_by("period")
        )
        return [(g["period"], g["n"]) for g in groups]

    def volume_by(self, dimension: str) -> list[dict[str, Any]]:
        if dimension == "product":
            if not self._by_department_only:
                return self.live.volume_by(dimension)
            groups = (
                self._spread(DailyProducts)
                .values(key=F("product"))
                .annotate(label=Max("label"), n=Sum("cases"))
                .order_by("-n", "key")
            )
        elif dimension == "department":
            groups = (
                self._figures()
                .values(key=F("department_id"))
                .annotate(label=Max("department__name"), n=total("cases"))
                .order_by("-n", "key")
            )
        else:
            groups = (
                self._figures(dimension)
                .values(key=F(dimension))
                .annotate(label=F(dimension), n=total("cases"))
                .order_by("-n", "key")
            )
        return list(groups[:VOLUME_LIMIT])

    def deadlines(self) -> dict[str, dict[str, int]]:
        states = ("total", "met", "breached", "open")
        names = {
            (m, s): f"deadlines_{m}" if s == "total" else f"deadlines_{s}_{m}"
            for m in Milestone.values
            for s in states
        }
        sums = self._totals(list(names.values()))
        return {m: {s: sums[names[m, s]] for s in states} for m in Milestone.values}

    def deadlines_by_month(self) -> list[tuple[date, str, int, int]]:
        sums = {
            f"{kind}_{m}": total(f"{kind}_{m}")
            for m in Milestone.values
            for kind in ("deadlines", "deadlines_met", "deadlines_breached")
        }
        groups = (
            self._figures()
            .annotate(month=TruncMonth("day"))
            .values("month")
            .annotate(**sums)
            .order_by("month")
        )
        return [
            (g["month"], m, g[f"deadlines_met_{m}"], g[f"deadlines_breached_{m}"])
            for g in groups
            for m in sorted(Milestone.values)
            # As the live figures: a milestone of a month with no counted deadline has no row.
            if g[f"deadlines_{m}"]
        ]

    def escalations(self) -> list[dict[str, Any]]:
        pairs = [(t, r) for t in Tier.values for r in Escalation.Reason.values]
        sums = self._totals(
            [f"{kind}_{t}_{r}" for t, r in pairs for kind in ("escalations", "escalated_cases")]
        )
        return [
            {
                "to_tier": t,
                "reason": r,
                "n": sums[f"escalations_{t}_{r}"],
                "cases": sums[f"escalated_cases_{t}_{r}"],
            }
            for t, r in sorted(pairs)
            if sums[f"escalations_{t}_{r}"]
        ]

    def outcomes(self) -> dict[str, Any]:
        names = [
            "cases",
            "closed",
            "reopened",
            "repeats",
            "rated",
            "rating_sum",
            "handling_rated",
            "handling_sum",
            "answered",
            "satisfied",
            *(f"ended_{code}" for code in Ending.values),
        ]
        sums = self._totals(names)
        return {
            "total": sums["cases"],
            "closed": sums["closed"],
            "reopened": sums["reopened"],
            "repeats": sums["repeats"],
            # Customers are counted once however many days they complained on: not additive.
            "repeat_customers": self.live.repeat_customers(),
            "rated": sums["rated"],
            "rating": sums["rating_sum"] / sums["rated"] if sums["rated"] else None,
            "handling": (
                sums["handling_sum"] / sums["handling_rated"] if sums["handling_rated"] else None
            ),
            "answered": sums["answered"],
            "satisfied": sums["satisfied"],
            **{f"ended_{code}": sums[f"ended_{code}"] for code in Ending.values},
        }

    def _ranked(self, prefix: str, codes: list[str]) -> list[tuple[str, int]]:
        sums = self._totals([f"{prefix}_{code}" for code in codes])
        found = [(code, sums[f"{prefix}_{code}"]) for code in codes]
        return sorted(((c, n) for c, n in found if n), key=lambda pair: (-pair[1], pair[0]))

    def root_causes(self) -> list[tuple[str, int]]:
        return self._ranked("root_cause", RootCause.values)

    def validity(self) -> list[tuple[str, int]]:
        return self._ranked("validity", Validity.values)

    def departments(self) -> list[dict[str, Any]]:
        return list(
            self._figures()
            .filter(department__isnull=False)
            .values("department_id", "department__name")
            .annotate(n=total("cases"))
            .order_by("-n", "department__name")
        )

    def remedies(self) -> dict[str, tuple[int, Decimal]]:
        sums = self._totals(
            [f"{kind}_{code}" for code in Remedy.values for kind in ("remedy", "remedy_cents")]
        )
        return {
            code: (sums[f"remedy_{code}"], _money(sums[f"remedy_cents_{code}"]))
            for code in Remedy.values
        }

    def remedies_by_department(self) -> list[dict[str, Any]]:
        groups = (
            self._figures()
            .filter(department__isnull=False)
            .values("department_id", "department__name")
            .annotate(n=total("remedied"), cents=total("remedied_cents"))
            .filter(n__gt=0)
            .order_by(F("cents").desc(), "department__name")
        )
        return [{**g, "total": _money(g.pop("cents"))} for g in groups]

    def stays(self) -> dict[str, tuple]:
        if not self._by_department_only:
            return self.live.stays()
        return _percentiles(self._spread(DailyStays))


def _percentiles(rows: QuerySet[DailyStays]) -> dict[str, tuple]:
    """{step: (finished stays, median seconds, p90 seconds, running)} from stay buckets, by
    nearest rank as the live figure (``reporting.steps``): the rank k = ceil(p·n/100) falls in
    the bucket whose running count first reaches k; within it the length is interpolated by
    rank between the bucket's shortest and longest stay. One query."""
    merged = (
        rows.values("step", "bucket")
        .annotate(n=Sum("stays"), lo=Min("shortest"), hi=Max("longest"))
        .order_by()
    )
    sql, params = merged.query.get_compiler(using=merged.db).as_sql()
    running = DailyStays.RUNNING
    picks = "".join(
        f"""MAX(CASE WHEN k{p} > upto - n AND k{p} <= upto
                     THEN lo + (hi - lo) * CAST(k{p} - (upto - n) - 1 AS DOUBLE PRECISION)
                               / CASE WHEN n > 1 THEN n - 1 ELSE 1 END END) AS {name}, """
        for name, p in PERCENTILES.items()
    )
    ranks = "".join(f", (total * {p} + 99) / 100 AS k{p}" for p in PERCENTILES.values())
    # Window sums cast to integers: PostgreSQL sums bigints as numeric, and the rank must be
    # an integer division. Everything formatted in is this module's or reporting.steps'
    # constants; the rows are Django's compiled query with its parameters.
    query = f"""
        WITH h AS ({sql}),
        finished AS (
            SELECT step, bucket, n, lo, hi,
                   CAST(SUM(n) OVER (PARTITION BY step ORDER BY bucket) AS BIGINT) AS upto,
                   CAST(SUM(n) OVER (PARTITION BY step) AS BIGINT) AS total
              FROM h
             WHERE bucket <> {running}
        ),
        ranked AS (SELECT finished.* {ranks} FROM finished),
        picked AS (
            SELECT step, MAX(total) AS spells, {picks} 0 AS unused
              FROM ranked
             GROUP BY step
        )
        SELECT s.step, COALESCE(p.spells, 0), {", ".join(f"p.{n}" for n in PERCENTILES)},
               COALESCE(r.n, 0)
          FROM (SELECT DISTINCT step FROM h) s
          LEFT JOIN picked p ON p.step = s.step
          LEFT JOIN (SELECT step, n FROM h WHERE bucket = {running}) r ON r.step = s.step
    """  # noqa: S608 — see the comment above.
    with connections[rows.db].cursor() as cursor:
        cursor.execute(query, params)
        return {step: (int(spells), *values, int(run)) for step, spells, *values, run in cursor}


def rollup_figures_for(
    *,
    state: RollupState | None,
    cleaned: dict,
    reader_department: int | None,
    live: LiveFigures,
) -> RollupFigures | None:
    """The rollup's figures for a valid ``ReportFilter``'s cleaned data (``state``:
    ``rollup.rollup_state()``), or None when the rollup cannot answer (not built, or a product
    filter): then ``live`` does."""
    if cleaned.get("product") or not usable(state):
        return None
    received = cleaned.get("received")
    department = cleaned.get("department")
    return RollupFigures(
        state=state,
        live=live,
        first=received.start.date() if received and received.start else None,
        last=received.stop.date() if received and received.stop else None,
        department=department.pk if department else None,
        reader_department=reader_department,
        category=cleaned.get("category") or "",
        channel=cleaned.get("channel") or "",
        urgency=cleaned.get("urgency") or "",
    )
