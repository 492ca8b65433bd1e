"""What the complaints say about the organisation: the customers' verdict (reopenings,
repeats, satisfaction, the comments needing attention), the causes (Paretos of root causes
and responsible departments, validity) and the remedies. Like ``reporting.selectors``: one
database query per table, every row with the parameters of the cases behind it; the cases in
scope come as a queryset or as the rollup's figures (``reporting.figures``)."""

from __future__ import annotations

from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _

from complaints.models import Case, Ending, Remedy, RootCause, Step, Validity

from .figures import Figures, as_figures
from .tables import Column, Row, Table, share

# ---------------------------------------------------------------- the customer's verdict


def outcomes(*, cases: QuerySet[Case] | Figures) -> Table:
    """Reopen rate (二次投诉), repeat complainants (the same customer again within 90 days),
    satisfaction: one aggregate over the cases in scope."""
    figures = as_figures(cases).outcomes()
    total = figures["total"]

    def row(key, label, value, kind, link=None):
        return Row({"key": key, "figure": label, "value": value, "kind": kind}, cases=link)

    rows = [
        row("total", _("Complaints"), total, "count", {}),
        row("closed", _("Closed"), figures["closed"], "count", {"step": Step.CLOSED}),
        row(
            "reopened", _("Reopened (二次投诉)"), figures["reopened"], "count", {"reopened": "true"}
        ),
        row("reopen_rate", _("Reopen rate"), share(figures["reopened"], total), "percent"),
        row("repeats", _("Repeat complaints"), figures["repeats"], "count", {"repeat": "true"}),
        row("repeat_customers", _("Repeat complainants"), figures["repeat_customers"], "count"),
        row("rating", _("Average rating (1 to 5)"), figures["rating"], "number"),
        row(
            "handling", _("Average rating of the handling (1 to 5)"), figures["handling"], "number"
        ),
        row(
            "satisfied",
            _("Satisfied at follow-up"),
            share(figures["satisfied"], figures["answered"]),
            "percent",
            {"satisfied": "true"},
        ),
        row("rated", _("Rated"), figures["rated"], "count"),
        # Closed without a rating: counted apart, never in the satisfaction above.
        *(
            row(
                f"ended_{code}",
                _("Closed without a rating: %(ending)s") % {"ending": label},
                figures[f"ended_{code}"],
                "count",
                {"ending": code},
            )
            for code, label in Ending.choices
            if code != Ending.RATED
        ),
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
                    "share": share(g["n"], total),
                    "cumulative": share(running, total),
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


def root_causes(*, cases: QuerySet[Case] | Figures) -> Table:
    """A Pareto of root-cause categories (cases analysed), most first."""
    groups = [{"root_cause_category": code, "n": n} for code, n in as_figures(cases).root_causes()]
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


def responsible_departments(*, cases: QuerySet[Case] | Figures) -> Table:
    """A Pareto of responsible departments (named at Analyse), most first."""
    groups = as_figures(cases).departments()
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


def validity_mix(*, cases: QuerySet[Case] | Figures) -> Table:
    groups = [{"validity": code, "n": n} for code, n in as_figures(cases).validity()]
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
                    "share": share(g["n"], total),
                },
                cases={"validity": g["validity"]},
            )
            for g in groups
        ],
    )


def remedies_by_type(*, cases: QuerySet[Case] | Figures) -> Table:
    """Cases and remedy value per remedy type, in one aggregate (conditional counts per type).
    A case with several remedies counts under each, with its whole value."""
    figures = as_figures(cases).remedies()
    rows = [
        Row(
            {"value": label, "cases": figures[code][0], "total": figures[code][1]},
            cases={"remedy": code},
        )
        for code, label in Remedy.choices
        if figures[code][0]
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


def remedies_by_department(*, cases: QuerySet[Case] | Figures) -> Table:
    groups = as_figures(cases).remedies_by_department()
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
