"""The dashboard's tables of volume, time limits and escalation (``reporting.quality`` has
the customers' verdict, the causes and the remedies), each a ``Table`` whose numbers the
database computed: one grouped or aggregated query per table, whatever the number of cases (the
rows are the groups: a handful of categories, tiers, weeks — never the cases). Each takes the
cases in scope (the dashboard's filters applied to what the reader may see), as a queryset or
as the rollup's figures (``reporting.figures``), and gives every row the parameters of the
cases behind it (``reporting.filters.ReportCaseFilter``)."""

from __future__ import annotations

import calendar
from datetime import date, timedelta

from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from complaints.models import Case, Category, Channel, Tier
from escalation.models import Approval, Escalation, ExternalReview, Milestone

from .figures import TRUNC, ZERO_DEADLINES, Figures, as_figures
from .tables import Column, Row, Table, share

BUCKETS = TRUNC


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


def volume_over_time(*, cases: QuerySet[Case] | Figures, bucket: str) -> Table:
    """Cases received per day, week (from Monday) or month, in the deployment's time zone."""
    rows = []
    for start, n in as_figures(cases).volume_over_time(bucket):
        first, last = _bucket_range(start, bucket)
        rows.append(
            Row(
                {"period": start, "cases": n},
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


def volume_by(*, cases: QuerySet[Case] | Figures, dimension: str) -> Table:
    """Cases per channel, category, product or responsible department, most first."""
    title, label, choices = _DIMENSIONS[dimension]
    rows = []
    for group in as_figures(cases).volume_by(dimension):
        key, value = group["key"], group["label"]
        if dimension == "department":
            shown = value or _("Not named yet")
            link = {"responsible_department": str(key)} if key else None
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


def compliance(*, cases: QuerySet[Case] | Figures) -> Table:
    """Per milestone (1-day Decide, 3-day Act, 7-day Closed), of every deadline of the cases in
    scope (each round of a reopened case counts): met in time, breached (late, met or not),
    still open. Shares are of all the milestone's deadlines."""
    groups = as_figures(cases).deadlines()
    rows = []
    for milestone, label in Milestone.choices:
        g = groups.get(milestone, ZERO_DEADLINES)
        rows.append(
            Row(
                {
                    "milestone": label,
                    "deadlines": g["total"],
                    "met": g["met"],
                    "met_share": share(g["met"], g["total"]),
                    "breached": g["breached"],
                    "breached_share": share(g["breached"], g["total"]),
                    "open": g["open"],
                    "open_share": share(g["open"], g["total"]),
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


def compliance_trend(*, cases: QuerySet[Case] | Figures) -> Table:
    """The share of each milestone's deadlines met in time, by month of receipt."""
    by_month: dict[date, dict[str, float | None]] = {}
    for month, milestone, met, breached in as_figures(cases).deadlines_by_month():
        decided = met + breached  # still-open deadlines are not judged yet
        by_month.setdefault(month, {})[milestone] = share(met, decided)
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


def escalations(*, cases: QuerySet[Case] | Figures) -> Table:
    """Escalations of the cases in scope, by the tier they went to and why."""
    groups = as_figures(cases).escalations()
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
