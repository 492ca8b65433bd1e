"""The dashboard as one read: the reader's scope, the filters, every KPI table. A fixed number
of queries whatever the data size (one per table, plus the scope's few)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from django.db.models import QuerySet
from django.http import QueryDict

from complaints.models import Case, User

from . import quality, selectors
from .access import cases_reported_to, report_filter_limited
from .filters import DASHBOARD_PARAMETERS, ReportFilter
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
    cases_any_period: QuerySet[Case]
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
    return Scope(
        filter=report_filter,
        cases=cases,
        cases_any_period=undated_filter.qs if undated_filter.is_valid() else base.none(),
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
    return TABLES[key](scope.cases, bucket or scope.bucket)


def tables_for(scope: Scope, bucket: str | None = None) -> dict[str, Table]:
    return {key: table_for(scope, key, bucket) for key in TABLES}
