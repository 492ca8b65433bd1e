"""The dashboard's figures, each a ``Table`` computed by the database: one grouped or aggregated
query per table, whatever the number of cases (the rows are the groups: a handful of
categories, tiers, weeks — never the cases). Each takes the cases in scope (the dashboard's
filters applied to what the reader may see) and gives every row the parameters of the cases
behind it (``reporting.filters.ReportCaseFilter``)."""

from __future__ import annotations

import calendar
from datetime import date, timedelta
from decimal import Decimal

from django.db.models import Avg, Count, DecimalField, F, Max, Q, QuerySet, Sum, Value
from django.db.models.functions import Coalesce, Lower, TruncDay, TruncMonth, TruncWeek
from django.utils.translation import gettext_lazy as _

from complaints.models import Case, Category, Channel, Remedy, RootCause, Step, Tier, Validity
from escalation.models import Approval, Deadline, Escalation, ExternalReview, Milestone

from .filters import DEADLINE_STATES, repeat_q
from .tables import Column, Row, Table

BUCKETS = {"day": TruncDay, "week": TruncWeek, "month": TruncMonth}


def _share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


# ---------------------------------------------------------------- volumes


def bucket_for(first: date | None, last: date | None) -> str:
    """Days for up to a month, weeks up to half a year, months beyond."""
    if first is None or last is None:
        return "month"
    days = (last - first).days
    return "day" if days <= 31 else "week" if days <= 183 else "month"


def _bucket_range(start: date, bucket: str) -> tuple[date, date]:
    if bucket == "day":
        return start, start
    if bucket == "week":
        return start, start + timedelta(days=6)
    return start, start.replace(day=calendar.monthrange(start.year, start.month)[1])


def volume_over_time(*, cases: QuerySet[Case], bucket: str) -> Table:
    """Cases received per day, week (from Monday) or month, in the deployment's time zone."""
    trunc = BUCKETS[bucket]
    groups = (
        cases.order_by()
        .annotate(period=trunc("received_at"))
        .values("period")
        .annotate(n=Count("pk"))
        .order_by("period")
    )
    rows = []
    for group in groups:
        start = group["period"].date() if hasattr(group["period"], "date") else group["period"]
        first, last = _bucket_range(start, bucket)
        rows.append(
            Row(
                {"period": start, "cases": group["n"]},
                cases={"received_after": first.isoformat(), "received_before": last.isoformat()},
            )
        )
    return Table(
        key="volume_over_time",
        title=_("Complaints received"),
        columns=[Column("period", _("Period"), "date"), Column("cases", _("Cases"), "count")],
        rows=rows,
    )


_DIMENSIONS = {
    "channel": (_("By channel"), _("Channel"), dict(Channel.choices)),
    "category": (_("By category"), _("Category"), dict(Category.choices)),
    "product": (_("By product"), _("Product"), None),
    "department": (_("By department"), _("Department"), None),
}


def volume_by(*, cases: QuerySet[Case], dimension: str, limit: int = 15) -> Table:
    """Cases per channel, category, product or responsible department, most first."""
    title, label, choices = _DIMENSIONS[dimension]
    field = "department__name" if dimension == "department" else dimension
    keys = ["department_id", field] if dimension == "department" else [field]
    groups = cases.order_by().values(*keys).annotate(n=Count("pk")).order_by("-n", *keys)
    if dimension == "product":
        # The product filter (the row's link) and the early warning match a product
        # case-insensitively: spellings that differ only in case are one product, shown as one
        # of them, or a row would count fewer cases than its link lists.
        field = "label"
        groups = (
            cases.order_by()
            .values(key=Lower("product"))
            .annotate(label=Max("product"), n=Count("pk"))
            .order_by("-n", "key")
        )
    rows = []
    for group in groups[:limit]:
        value = group[field]
        if dimension == "department":
            shown = value or _("Not named yet")
            link = (
                {"responsible_department": str(group["department_id"])}
                if group["department_id"]
                else None
            )
        elif dimension == "product":
            shown = value or _("Not given")
            link = {"product": value} if value else None
        else:
            shown = choices.get(value, value)
            link = {dimension: value}
        rows.append(Row({"value": shown, "cases": group["n"]}, cases=link))
    return Table(
        key=f"volume_by_{dimension}",
        title=title,
        columns=[Column("value", label), Column("cases", _("Cases"), "count")],
        rows=rows,
    )


# ---------------------------------------------------------------- time limits


def _deadlines(cases: QuerySet[Case]) -> QuerySet[Deadline]:
    # A round a reopening replaced and that was never met nor breached does not count.
    return Deadline.objects.filter(case__in=cases.values("pk")).exclude(
        superseded_at__isnull=False, met_at__isnull=True, breached_at__isnull=True
    )


def compliance(*, cases: QuerySet[Case]) -> Table:
    """Per milestone (1-day Decide, 3-day Act, 7-day Closed), of every deadline of the cases in
    scope (each round of a reopened case counts): met in time, breached (late, met or not),
    still open. Shares are of all the milestone's deadlines."""
    groups = {
        g["milestone"]: g
        for g in _deadlines(cases)
        .order_by()
        .values("milestone")
        .annotate(
            total=Count("pk"),
            met=Count("pk", filter=DEADLINE_STATES["met"]),
            breached=Count("pk", filter=DEADLINE_STATES["breached"]),
            open=Count("pk", filter=DEADLINE_STATES["open"]),
        )
    }
    rows = []
    for milestone, label in Milestone.choices:
        g = groups.get(milestone, {"total": 0, "met": 0, "breached": 0, "open": 0})
        rows.append(
            Row(
                {
                    "milestone": label,
                    "deadlines": g["total"],
                    "met": g["met"],
                    "met_share": _share(g["met"], g["total"]),
                    "breached": g["breached"],
                    "breached_share": _share(g["breached"], g["total"]),
                    "open": g["open"],
                    "open_share": _share(g["open"], g["total"]),
                },
                cases={"milestone": milestone},
                cell_cases={
                    state: {"milestone": milestone, "deadline": state}
                    for state in ("met", "breached", "open")
                },
            )
        )
    return Table(
        key="compliance",
        title=_("Time-limit compliance"),
        columns=[
            Column("milestone", _("Milestone")),
            Column("deadlines", _("Deadlines"), "count"),
            Column("met", _("Met in time"), "count"),
            Column("met_share", _("Met %"), "percent"),
            Column("breached", _("Breached"), "count"),
            Column("breached_share", _("Breached %"), "percent"),
            Column("open", _("Still open"), "count"),
            Column("open_share", _("Open %"), "percent"),
        ],
        rows=rows,
    )


def compliance_trend(*, cases: QuerySet[Case]) -> Table:
    """The share of each milestone's deadlines met in time, by month of receipt."""
    groups = (
        _deadlines(cases)
        .order_by()
        .annotate(month=TruncMonth("case__received_at"))
        .values("month", "milestone")
        .annotate(
            total=Count("pk"),
            met=Count("pk", filter=DEADLINE_STATES["met"]),
            breached=Count("pk", filter=DEADLINE_STATES["breached"]),
        )
        .order_by("month")
    )
    by_month: dict[date, dict[str, float | None]] = {}
    for g in groups:
        month = g["month"].date() if hasattr(g["month"], "date") else g["month"]
        decided = g["met"] + g["breached"]  # still-open deadlines are not judged yet
        by_month.setdefault(month, {})[g["milestone"]] = _share(g["met"], decided)
    rows = []
    for month, shares in by_month.items():
        period = {
            "received_after": month.isoformat(),
            "received_before": _bucket_range(month, "month")[1].isoformat(),
        }
        rows.append(
            Row(
                {"month": month, **{m: shares.get(m) for m in Milestone.values}},
                cases=period,
                # Each share: that month's cases with that milestone's deadlines judged.
                cell_cases={
                    m: {**period, "milestone": m, "deadline": "judged"} for m in Milestone.values
                },
            )
        )
    return Table(
        key="compliance_trend",
        title=_("Met in time, by month received"),
        columns=[
            Column("month", _("Month"), "month"),
            *[Column(m, label, "percent") for m, label in Milestone.choices],
        ],
        rows=rows,
        note=_("Of the deadlines already met or breached; open ones are not judged yet."),
    )


# ---------------------------------------------------------------- escalation


def escalations(*, cases: QuerySet[Case]) -> Table:
    """Escalations of the cases in scope, by the tier they went to and why."""
    groups = (
        Escalation.objects.filter(case__in=cases.values("pk"))
        .order_by()
        .values("to_tier", "reason")
        .annotate(n=Count("pk"), cases=Count("case", distinct=True))
        .order_by("to_tier", "reason")
    )
    reasons = dict(Escalation.Reason.choices)
    tiers = dict(Tier.choices)
    rows = [
        Row(
            {
                "tier": tiers.get(g["to_tier"], g["to_tier"]),
                "reason": reasons.get(g["reason"], g["reason"]),
                # The chart's label: tiers apart as well as reasons.
                "name": f"{tiers.get(g['to_tier'], g['to_tier'])}: "
                f"{reasons.get(g['reason'], g['reason'])}",
                "escalations": g["n"],
                "cases": g["cases"],
            },
            cases={"escalated_to": str(g["to_tier"]), "escalation_reason": g["reason"]},
        )
        for g in groups
    ]
    return Table(
        key="escalations",
        title=_("Escalations by tier and reason"),
        columns=[
            Column("tier", _("To tier")),
            Column("reason", _("Reason")),
            Column("escalations", _("Escalations"), "count"),
            Column("cases", _("Cases"), "count"),
        ],
        rows=rows,
    )


def waiting(*, cases: QuerySet[Case]) -> dict[str, int]:
    """Approvals waiting and cases in external review now (two counts)."""
    scope = cases.values("pk")
    return {
        "approvals": Approval.objects.filter(
            case__in=scope, status=Approval.Status.PENDING
        ).count(),
        "external_review": ExternalReview.objects.filter(case__in=scope, outcome_at__isnull=True)
        .values("case")
        .distinct()
        .count(),
    }


# ---------------------------------------------------------------- the customer's verdict


def outcomes(*, cases: QuerySet[Case]) -> Table:
    """Reopen rate (二次投诉), repeat complainants (the same customer again within 90 days),
    satisfaction: one aggregate over the cases in scope."""
    figures = cases.order_by().aggregate(
        total=Count("pk"),
        closed=Count("pk", filter=Q(step=Step.CLOSED)),
        reopened=Count("pk", filter=Q(reopen_count__gt=0)),
        repeats=Count("pk", filter=repeat_q()),
        repeat_customers=Count("customer", filter=repeat_q(), distinct=True),
        rated=Count("pk", filter=Q(satisfaction_rating__isnull=False)),
        rating=Avg("satisfaction_rating"),
        handling=Avg("handling_rating"),
        answered=Count("pk", filter=Q(follow_up_satisfied__isnull=False)),
        satisfied=Count("pk", filter=Q(follow_up_satisfied=True)),
    )
    total = figures["total"]

    def row(key, label, value, kind, link=None):
        return Row({"key": key, "figure": label, "value": value, "kind": kind}, cases=link)

    rows = [
        row("total", _("Complaints"), total, "count", {}),
        row("closed", _("Closed"), figures["closed"], "count", {"step": Step.CLOSED}),
        row(
            "reopened", _("Reopened (二次投诉)"), figures["reopened"], "count", {"reopened": "true"}
        ),
        row("reopen_rate", _("Reopen rate"), _share(figures["reopened"], total), "percent"),
        row("repeats", _("Repeat complaints"), figures["repeats"], "count", {"repeat": "true"}),
        row("repeat_customers", _("Repeat complainants"), figures["repeat_customers"], "count"),
        row("rating", _("Average rating (1 to 5)"), figures["rating"], "number"),
        row(
            "handling", _("Average rating of the handling (1 to 5)"), figures["handling"], "number"
        ),
        row(
            "satisfied",
            _("Satisfied at follow-up"),
            _share(figures["satisfied"], figures["answered"]),
            "percent",
            {"satisfied": "true"},
        ),
        row("rated", _("Rated"), figures["rated"], "count"),
    ]
    return Table(
        key="outcomes",
        title=_("Reopenings, repeats and satisfaction"),
        columns=[Column("figure", _("Figure")), Column("value", _("Value"), "mixed")],
        rows=rows,
        note=_("A repeat complaint: the same customer complained within the 90 days before."),
    )


def comments_needing_attention(*, cases: QuerySet[Case], limit: int = 10) -> QuerySet[Case]:
    """The follow-up comments of customers not satisfied or rating 1 or 2, on the cases
    received last."""
    return (
        cases.filter(Q(follow_up_satisfied=False) | Q(satisfaction_rating__lte=2))
        .exclude(follow_up_comment="")
        .select_related("customer", "department")
        .order_by("-received_at")[:limit]
    )


def actions_taken(*, cases: QuerySet[Case], limit: int = 50) -> QuerySet[Case]:
    """The corrective actions recorded on the valid cases of the period (at Act: what was done,
    the investigation report), by root cause: what the half-yearly summary lists."""
    return (
        cases.filter(validity__in=[Validity.VALID, Validity.PARTLY])
        .exclude(actions_taken="")
        .select_related("department")
        .order_by("root_cause_category", "-received_at")[:limit]
    )


# ---------------------------------------------------------------- causes and remedies


def _pareto(groups, label_of, link_of, total: int) -> list[Row]:
    rows, running = [], 0
    for g in groups:
        running += g["n"]
        rows.append(
            Row(
                {
                    "value": label_of(g),
                    "cases": g["n"],
                    "share": _share(g["n"], total),
                    "cumulative": _share(running, total),
                },
                cases=link_of(g),
            )
        )
    return rows


_PARETO_COLUMNS = [
    Column("cases", _("Cases"), "count"),
    Column("share", _("Share"), "percent"),
    Column("cumulative", _("Cumulative"), "percent"),
]


def root_causes(*, cases: QuerySet[Case]) -> Table:
    """A Pareto of root-cause categories (cases analysed), most first."""
    groups = list(
        cases.exclude(root_cause_category="")
        .order_by()
        .values("root_cause_category")
        .annotate(n=Count("pk"))
        .order_by("-n", "root_cause_category")
    )
    labels = dict(RootCause.choices)
    return Table(
        key="root_causes",
        title=_("Root causes"),
        columns=[Column("value", _("Root cause")), *_PARETO_COLUMNS],
        rows=_pareto(
            groups,
            lambda g: labels.get(g["root_cause_category"], g["root_cause_category"]),
            lambda g: {"root_cause_category": g["root_cause_category"]},
            sum(g["n"] for g in groups),
        ),
    )


def responsible_departments(*, cases: QuerySet[Case]) -> Table:
    """A Pareto of responsible departments (named at Analyse), most first."""
    groups = list(
        cases.filter(department__isnull=False)
        .order_by()
        .values("department_id", "department__name")
        .annotate(n=Count("pk"))
        .order_by("-n", "department__name")
    )
    return Table(
        key="responsible_departments",
        title=_("Responsible departments"),
        columns=[Column("value", _("Department")), *_PARETO_COLUMNS],
        rows=_pareto(
            groups,
            lambda g: g["department__name"],
            lambda g: {"responsible_department": str(g["department_id"])},
            sum(g["n"] for g in groups),
        ),
    )


def validity_mix(*, cases: QuerySet[Case]) -> Table:
    groups = list(
        cases.exclude(validity="")
        .order_by()
        .values("validity")
        .annotate(n=Count("pk"))
        .order_by("-n")
    )
    total = sum(g["n"] for g in groups)
    labels = dict(Validity.choices)
    return Table(
        key="validity",
        title=_("Validity"),
        columns=[
            Column("value", _("Validity")),
            Column("cases", _("Cases"), "count"),
            Column("share", _("Share"), "percent"),
        ],
        rows=[
            Row(
                {
                    "value": labels.get(g["validity"]),
                    "cases": g["n"],
                    "share": _share(g["n"], total),
                },
                cases={"validity": g["validity"]},
            )
            for g in groups
        ],
    )


_MONEY = DecimalField(max_digits=14, decimal_places=2)


def remedies_by_type(*, cases: QuerySet[Case]) -> Table:
    """Cases and remedy value per remedy type, in one aggregate (conditional counts per type).
    A case with several remedies counts under each, with its whole value."""
    aggregates = {}
    for code in Remedy.values:
        has = Q(remedy_types__icontains=f'"{code}"')
        aggregates[f"{code}__n"] = Count("pk", filter=has)
        aggregates[f"{code}__v"] = Coalesce(
            Sum("remedy_value", filter=has), Value(Decimal(0)), output_field=_MONEY
        )
    figures = cases.order_by().aggregate(**aggregates)
    rows = [
        Row(
            {"value": label, "cases": figures[f"{code}__n"], "total": figures[f"{code}__v"]},
            cases={"remedy": code},
        )
        for code, label in Remedy.choices
        if figures[f"{code}__n"]
    ]
    rows.sort(key=lambda r: -r.values["cases"])
    return Table(
        key="remedies_by_type",
        title=_("Remedies by type"),
        columns=[
            Column("value", _("Remedy")),
            Column("cases", _("Cases"), "count"),
            Column("total", _("Total value"), "money"),
        ],
        rows=rows,
        note=_("A case with several remedies counts under each, with its whole value."),
    )


def remedies_by_department(*, cases: QuerySet[Case]) -> Table:
    groups = (
        cases.filter(department__isnull=False)
        .exclude(remedy_types=[])
        .order_by()
        .values("department_id", "department__name")
        .annotate(
            n=Count("pk"),
            total=Coalesce(Sum("remedy_value"), Value(Decimal(0)), output_field=_MONEY),
        )
        .order_by(F("total").desc(), "department__name")
    )
    return Table(
        key="remedies_by_department",
        title=_("Remedies by department"),
        columns=[
            Column("value", _("Department")),
            Column("cases", _("Cases"), "count"),
            Column("total", _("Total value"), "money"),
        ],
        rows=[
            Row(
                {"value": g["department__name"], "cases": g["n"], "total": g["total"]},
                # Only the department's cases with a remedy (not one found not valid).
                cases={"responsible_department": str(g["department_id"]), "remedied": "true"},
            )
            for g in groups
        ],
    )
