"""Where the dashboard's numbers come from: the questions every KPI table asks
(``Figures``), answered either live from the cases (``LiveFigures``, here) or from the daily
rollup (``reporting.rollup_figures.RollupFigures``). The tables (``reporting.selectors``,
``reporting.quality``, ``reporting.steps``) turn the answers into rows; the two sources give the
same answers for the same cases, which the tests check figure by figure.

Every answer is one database query (grouped or aggregated), whatever the number of cases."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any, Protocol

from django.db.models import (
    Avg,
    Count,
    DecimalField,
    F,
    Max,
    Q,
    QuerySet,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce, Lower, TruncDay, TruncMonth, TruncWeek

from complaints.models import Case, Ending, Remedy, Step
from escalation.models import Deadline, Escalation, Milestone

from .filters import DEADLINE_STATES, remedy_q, repeat_q
from .steps import stays_by_step

TRUNC = {"day": TruncDay, "week": TruncWeek, "month": TruncMonth}
# How many values a volume table shows at most.
VOLUME_LIMIT = 15
MONEY = DecimalField(max_digits=14, decimal_places=2)
ZERO_DEADLINES = {"total": 0, "met": 0, "breached": 0, "open": 0}


class Figures(Protocol):
    """The answers the KPI tables need, for the cases of one reading. Lists of dicts come in
    the order the tables show them (most first, then by key, as each method says)."""

    # When the figures were taken: None for live ones (now); the rollup's moment otherwise.
    as_of: datetime | None

    def volume_over_time(self, bucket: str) -> list[tuple[date, int]]:
        """(first day of the period, cases) per day, week (Monday) or month, in order."""

    def volume_by(self, dimension: str) -> list[dict[str, Any]]:
        """{"key", "label", "n"}: cases per channel, category, product (key lower-cased,
        label one spelling) or department (key its id, label its name), most first, then by
        key; at most VOLUME_LIMIT."""

    def deadlines(self) -> dict[str, dict[str, int]]:
        """{milestone: {"total", "met", "breached", "open"}} of the counted deadlines."""

    def deadlines_by_month(self) -> list[tuple[date, str, int, int]]:
        """(month received, milestone, met, breached), by month."""

    def escalations(self) -> list[dict[str, Any]]:
        """{"to_tier", "reason", "n", "cases"}, by tier then reason."""

    def outcomes(self) -> dict[str, Any]:
        """total, closed, reopened, repeats, repeat_customers, rated, rating, handling,
        answered, satisfied."""

    def root_causes(self) -> list[tuple[str, int]]:
        """(root-cause category, cases) of the analysed cases, most first, then by code."""

    def departments(self) -> list[dict[str, Any]]:
        """{"department_id", "department__name", "n"} of the cases with a responsible
        department, most first, then by name."""

    def validity(self) -> list[tuple[str, int]]:
        """(validity, cases) of the cases judged, most first, then by code."""

    def remedies(self) -> dict[str, tuple[int, Decimal]]:
        """{remedy code: (cases, their remedy value)}; a case counts under each of its
        remedies."""

    def remedies_by_department(self) -> list[dict[str, Any]]:
        """{"department_id", "department__name", "n", "total"} of the cases with a remedy and
        a responsible department, highest value first, then by name."""

    def stays(self) -> dict[str, tuple]:
        """{step: (finished stays, median seconds, p90 seconds, stays still running)} for the
        steps with any stay (``reporting.steps``)."""


def as_figures(cases: QuerySet[Case] | Figures) -> Figures:
    """The tables take the cases in scope as a queryset (answered live) or as figures."""
    return LiveFigures(cases) if isinstance(cases, QuerySet) else cases


def counted_deadlines(cases: QuerySet[Case]) -> QuerySet[Deadline]:
    """The deadlines the compliance figures count: a round a reopening replaced and that was
    never met nor breached does not count."""
    return Deadline.objects.filter(case__in=cases.values("pk")).exclude(
        superseded_at__isnull=False, met_at__isnull=True, breached_at__isnull=True
    )


def deadline_counts() -> dict[str, Count]:
    """Each milestone's deadlines by state, as conditional counts over deadline rows: what the
    rollup keeps (``deadlines_<milestone>``, ``deadlines_<state>_<milestone>``)."""
    counts = {}
    for milestone in Milestone.values:
        on = Q(milestone=milestone)
        counts[f"deadlines_{milestone}"] = Count("pk", filter=on)
        for state in ("met", "breached", "open"):
            counts[f"deadlines_{state}_{milestone}"] = Count(
                "pk", filter=on & DEADLINE_STATES[state]
            )
    return counts


class LiveFigures:
    """The figures computed from the cases themselves when they are asked for."""

    as_of = None

    def __init__(self, cases: QuerySet[Case], *, now: datetime | None = None):
        self.cases = cases
        self.now = now

    def volume_over_time(self, bucket: str) -> list[tuple[date, int]]:
        groups = (
            self.cases.order_by()
            .annotate(period=TRUNC[bucket]("received_at"))
            .values("period")
            .annotate(n=Count("pk"))
            .order_by("period")
        )
        return [(_date(g["period"]), g["n"]) for g in groups]

    def volume_by(self, dimension: str) -> list[dict[str, Any]]:
        cases = self.cases.order_by()
        if dimension == "product":
            # The product filter (the row's link) and the early warning match a product
            # case-insensitively: spellings that differ only in case are one product, shown as
            # one of them, or a row would count fewer cases than its link lists.
            groups = (
                cases.values(key=Lower("product"))
                .annotate(label=Max("product"), n=Count("pk"))
                .order_by("-n", "key")
            )
        elif dimension == "department":
            groups = (
                cases.values(key=F("department_id"))
                .annotate(label=Max("department__name"), n=Count("pk"))
                .order_by("-n", "key")
            )
        else:
            groups = (
                cases.values(key=F(dimension))
                .annotate(label=F(dimension), n=Count("pk"))
                .order_by("-n", "key")
            )
        return list(groups[:VOLUME_LIMIT])

    def deadlines(self) -> dict[str, dict[str, int]]:
        groups = (
            counted_deadlines(self.cases)
            .order_by()
            .values("milestone")
            .annotate(
                total=Count("pk"),
                met=Count("pk", filter=DEADLINE_STATES["met"]),
                breached=Count("pk", filter=DEADLINE_STATES["breached"]),
                open=Count("pk", filter=DEADLINE_STATES["open"]),
            )
        )
        return {g.pop("milestone"): g for g in groups}

    def deadlines_by_month(self) -> list[tuple[date, str, int, int]]:
        groups = (
            counted_deadlines(self.cases)
            .order_by()
            .annotate(month=TruncMonth("case__received_at"))
            .values("month", "milestone")
            .annotate(
                met=Count("pk", filter=DEADLINE_STATES["met"]),
                breached=Count("pk", filter=DEADLINE_STATES["breached"]),
            )
            .order_by("month", "milestone")
        )
        return [(_date(g["month"]), g["milestone"], g["met"], g["breached"]) for g in groups]

    def escalations(self) -> list[dict[str, Any]]:
        return list(
            Escalation.objects.filter(case__in=self.cases.values("pk"))
            .order_by()
            .values("to_tier", "reason")
            .annotate(n=Count("pk"), cases=Count("case", distinct=True))
            .order_by("to_tier", "reason")
        )

    def outcomes(self) -> dict[str, Any]:
        return self.cases.order_by().aggregate(
            total=Count("pk"),
            closed=Count("pk", filter=Q(step=Step.CLOSED)),
            reopened=Count("pk", filter=Q(reopen_count__gt=0)),
            repeats=Count("pk", filter=repeat_q()),
            repeat_customers=Count("customer", filter=repeat_q(), distinct=True),
            rated=Count("satisfaction_rating"),
            rating=Avg("satisfaction_rating"),
            handling=Avg("handling_rating"),
            answered=Count("follow_up_satisfied"),
            satisfied=Count("pk", filter=Q(follow_up_satisfied=True)),
            **{f"ended_{code}": Count("pk", filter=Q(ending=code)) for code in Ending.values},
        )

    def repeat_customers(self) -> int:
        """The customers with a repeat complaint among the cases (counted once each)."""
        # From the partial index case_repeat_received alone (index-only on PostgreSQL).
        return (
            self.cases.filter(repeat_q())
            .order_by()
            .aggregate(n=Count("customer", distinct=True))["n"]
        )

    def root_causes(self) -> list[tuple[str, int]]:
        return list(
            self.cases.exclude(root_cause_category="")
            .order_by()
            .values_list("root_cause_category")
            .annotate(n=Count("pk"))
            .order_by("-n", "root_cause_category")
        )

    def departments(self) -> list[dict[str, Any]]:
        return list(
            self.cases.filter(department__isnull=False)
            .order_by()
            .values("department_id", "department__name")
            .annotate(n=Count("pk"))
            .order_by("-n", "department__name")
        )

    def validity(self) -> list[tuple[str, int]]:
        return list(
            self.cases.exclude(validity="")
            .order_by()
            .values_list("validity")
            .annotate(n=Count("pk"))
            .order_by("-n", "validity")
        )

    def remedies(self) -> dict[str, tuple[int, Decimal]]:
        # One aggregate: conditional counts and sums per remedy type.
        aggregates = {}
        for code in Remedy.values:
            has = remedy_q(code)
            aggregates[f"{code}__n"] = Count("pk", filter=has)
            aggregates[f"{code}__v"] = Coalesce(
                Sum("remedy_value", filter=has), Value(Decimal(0)), output_field=MONEY
            )
        figures = self.cases.order_by().aggregate(**aggregates)
        return {code: (figures[f"{code}__n"], figures[f"{code}__v"]) for code in Remedy.values}

    def remedies_by_department(self) -> list[dict[str, Any]]:
        return list(
            self.cases.filter(department__isnull=False)
            .exclude(remedy_types=[])
            .order_by()
            .values("department_id", "department__name")
            .annotate(
                n=Count("pk"),
                total=Coalesce(Sum("remedy_value"), Value(Decimal(0)), output_field=MONEY),
            )
            .order_by(F("total").desc(), "department__name")
        )

    def stays(self) -> dict[str, tuple]:
        return stays_by_step(cases=self.cases, now=self.now)


def _date(value: date | datetime) -> date:
    """Truncated datetimes come back as datetimes (in the current time zone), dates as dates."""
    return value.date() if isinstance(value, datetime) else value
