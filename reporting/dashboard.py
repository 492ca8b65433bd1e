"""The dashboard as one read: the reader's scope, the filters, every KPI table. A fixed number
of queries whatever the data size (one per table, plus the scope's few). The tables' numbers
come from the daily rollup when it can answer for the filters
(``reporting.rollup_figures``), otherwise from the cases themselves."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from django.db.models import QuerySet
from django.http import QueryDict

from complaints.models import Case, Tier, User
from escalation.tiers import user_tier

from . import quality, selectors
from .access import cases_reported_to, report_filter_limited
from .figures import Figures, LiveFigures
from .filters import DASHBOARD_PARAMETERS, ReportFilter
from .rollup import rollup_state
from .rollup_figures import rollup_figures_for
from .steps import time_in_steps
from .tables import Table

# Every KPI table by key (the exports' URLs name them), in the dashboard's order.
TABLES: dict[str, Callable[..., Table]] = {
    "volume_over_time": lambda cases, bucket: selectors.volume_over_time(
        cases=cases, bucket=bucket
    ),
    "volume_by_channel": lambda cases, bucket: selectors.volume_by(
        cases=cases, dimension="channel"
    ),
    "volume_by_category": lambda cases, bucket: selectors.volume_by(
        cases=cases, dimension="category"
    ),
    "volume_by_product": lambda cases, bucket: selectors.volume_by(
        cases=cases, dimension="product"
    ),
    "volume_by_department": lambda cases, bucket: selectors.volume_by(
        cases=cases, dimension="department"
    ),
    "compliance": lambda cases, bucket: selectors.compliance(cases=cases),
    "compliance_trend": lambda cases, bucket: selectors.compliance_trend(cases=cases),
    "time_in_steps": lambda cases, bucket: time_in_steps(cases=cases),
    "escalations": lambda cases, bucket: selectors.escalations(cases=cases),
    "outcomes": lambda cases, bucket: quality.outcomes(cases=cases),
    "root_causes": lambda cases, bucket: quality.root_causes(cases=cases),
    "responsible_departments": lambda cases, bucket: quality.responsible_departments(cases=cases),
    "validity": lambda cases, bucket: quality.validity_mix(cases=cases),
    "remedies_by_type": lambda cases, bucket: quality.remedies_by_type(cases=cases),
    "remedies_by_department": lambda cases, bucket: quality.remedies_by_department(cases=cases),
}


@dataclass
class Scope:
    """The cases one reading covers: the reader's, narrowed by the filters."""

    filter: ReportFilter
    cases: QuerySet[Case]
    # Where the tables' numbers come from: the rollup, or the cases (``LiveFigures(cases)``).
    figures: Figures
    cases_any_period: QuerySet[Case]
    # The same without the dates: the early warning's weeks, whatever period is shown.
    figures_any_period: Figures
    # The dashboard's own filters (DASHBOARD_PARAMETERS), for links and the way back; a
    # figure's parameters are added to these, never carried from one figure to the next.
    query: QueryDict
    # Everything given (the figure's parameters too, without the page or bucket).
    data: QueryDict
    bucket: str
    first: date | None = None
    last: date | None = None


def scope_for(*, user: User, data: QueryDict) -> Scope:
    """The filters from ``data`` (the last 90 days when no period is given), applied to the
    cases the user may read reports of. Invalid filters give no cases, not all."""
    data = data.copy()
    for name in ("page", "bucket"):
        data.pop(name, None)
    if not (data.get("received_after") or data.get("received_before")):
        for key, value in ReportFilter.default_data().items():
            data.setdefault(key, value)
    base = cases_reported_to(user=user)
    report_filter = report_filter_limited(ReportFilter(data, queryset=base), user=user)
    cases = report_filter.qs if report_filter.is_valid() else base.none()
    received = report_filter.form.cleaned_data.get("received") if report_filter.is_valid() else None
    first = received.start.date() if received and received.start else None
    last = received.stop.date() if received and received.stop else None
    # The early warning compares this week with the eight before, whatever period is shown:
    # the same filters without the dates.
    undated = data.copy()
    for name in ("received_after", "received_before"):
        undated.pop(name, None)
    undated_filter = ReportFilter(undated, queryset=base)
    cases_any_period = undated_filter.qs if undated_filter.is_valid() else base.none()
    figures = LiveFigures(cases)
    figures_any_period = LiveFigures(cases_any_period)
    head = user_tier(user) == Tier.DEPARTMENT_HEAD
    # The head of no department reads no case (``cases_reported_to``): nothing to roll up.
    if report_filter.is_valid() and not (head and user.department_id is None):
        reader_department = user.department_id if head else None
        cleaned = report_filter.form.cleaned_data
        state = rollup_state()
        figures = (
            rollup_figures_for(
                state=state, cleaned=cleaned, reader_department=reader_department, live=figures
            )
            or figures
        )
        figures_any_period = (
            rollup_figures_for(
                state=state,
                cleaned={**cleaned, "received": None},
                reader_department=reader_department,
                live=figures_any_period,
            )
            or figures_any_period
        )
    return Scope(
        filter=report_filter,
        cases=cases,
        figures=figures,
        cases_any_period=cases_any_period,
        figures_any_period=figures_any_period,
        query=_only(data, DASHBOARD_PARAMETERS),
        data=data,
        bucket=selectors.bucket_for(first, last),
        first=first,
        last=last,
    )


def _only(data: QueryDict, names) -> QueryDict:
    kept = QueryDict(mutable=True)
    for name in names:
        if name in data:
            kept.setlist(name, data.getlist(name))
    return kept


def table_for(scope: Scope, key: str, bucket: str | None = None) -> Table:
    return TABLES[key](scope.figures, bucket or scope.bucket)


def tables_for(scope: Scope, bucket: str | None = None) -> dict[str, Table]:
    return {key: table_for(scope, key, bucket) for key in TABLES}
