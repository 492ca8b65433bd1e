"""The managers' reports: the dashboard, the cases behind a figure, exports. Thin: the scope
and the tables come from ``reporting.dashboard``; every figure is computed by the database."""

from __future__ import annotations

from datetime import timedelta

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from complaints.models import Department
from complaints.selectors import case_list, cases_last_activity

from . import charts, exports
from .access import cases_reported_to, report_filter_limited
from .dashboard import TABLES, Scope, scope_for, table_for, tables_for
from .early_warning import spikes_current
from .filters import ReportCaseFilter
from .quality import comments_needing_attention
from .selectors import BUCKETS, waiting
from .summary import half_for, summary_actions, summary_scope, summary_tables

PAGE_SIZE = 25
# The rollup is brought up to date every minute: older figures mean its job is not running.
ROLLUP_STALE = timedelta(minutes=10)

# How each chart of the dashboard is drawn: table key → (chart, label column, value column).
CHARTS = {
    "volume_over_time": (charts.columns, "period", "cases"),
    "volume_by_channel": (charts.bars, "value", "cases"),
    "volume_by_category": (charts.bars, "value", "cases"),
    "volume_by_product": (charts.bars, "value", "cases"),
    "volume_by_department": (charts.bars, "value", "cases"),
    "compliance": (charts.bars, "milestone", "met_share"),
    "time_in_steps": (charts.bars, "step", "median"),
    "escalations": (charts.bars, "name", "escalations"),
    "root_causes": (charts.bars, "value", "cases"),
    "responsible_departments": (charts.bars, "value", "cases"),
    "remedies_by_type": (charts.bars, "value", "total"),
}


def _cases_url(
    scope: Scope, params: dict[str, str] | None, *, in_period: bool = True
) -> str | None:
    """The list of cases behind a figure: the dashboard's filters plus the figure's own (which
    win: a week's volume narrows the period). A figure's period only narrows the dashboard's:
    the first and last week or month of a chart are cut at the period's ends, as their figures
    are. A figure of any period (``in_period=False``: the early warning's week, what waits
    now) brings its own dates instead."""
    if params is None:
        return None
    query = scope.query.copy()
    if not in_period:
        query.pop("received_after", None)
        query.pop("received_before", None)
    for key, value in params.items():
        query[key] = value
    # ISO dates compare as text.
    if in_period and scope.first and "received_after" in params:
        query["received_after"] = max(params["received_after"], scope.first.isoformat())
    if in_period and scope.last and "received_before" in params:
        query["received_before"] = min(params["received_before"], scope.last.isoformat())
    return f"{reverse('reporting:cases')}?{query.urlencode()}"


def _filters_shown(scope: Scope) -> list[tuple[str, str]]:
    shown = []
    form = scope.filter.form
    if not scope.filter.is_valid():
        return shown
    for name, field in form.fields.items():
        value = form.cleaned_data.get(name)
        if value in (None, "", []):
            continue
        if name == "received":
            start = value.start.date().isoformat() if value.start else "…"
            stop = value.stop.date().isoformat() if value.stop else "…"
            text = f"{start} … {stop}"
        elif hasattr(field, "choices") and not hasattr(value, "pk"):
            text = str(dict(field.choices).get(value, value))
        else:
            text = str(value)
        shown.append((str(field.label), text))
    return shown


@login_required
@require_GET
def dashboard(request: HttpRequest) -> HttpResponse:
    scope = scope_for(user=request.user, data=request.GET)
    bucket = request.GET.get("bucket")
    bucket = bucket if bucket in BUCKETS else scope.bucket
    tables = tables_for(scope, bucket)
    sections = []
    for key, table in tables.items():
        urls = [_cases_url(scope, row.cases) for row in table.rows]
        for row, url in zip(table.rows, urls, strict=True):
            row.url = url
            row.cell_urls = {k: _cases_url(scope, v) for k, v in row.cell_cases.items()}
        chart = None
        if key in CHARTS and table.rows:
            draw, label, value = CHARTS[key]
            chart = draw(table, label=label, value=value, urls=urls)
        sections.append({"table": table, "chart": chart})
    spikes = spikes_current(cases=scope.figures_any_period)
    for spike in spikes:
        spike.url = _cases_url(scope, spike.cases, in_period=False)
    # What waits now, whenever the case came in.
    ever = {"received_after": "1900-01-01", "received_before": timezone.localdate().isoformat()}
    waiting_now = waiting(cases=scope.cases_any_period)
    waiting_urls = {
        "approvals": _cases_url(scope, {**ever, "approval_waiting": "true"}, in_period=False),
        "external_review": _cases_url(
            scope, {**ever, "in_external_review": "true"}, in_period=False
        ),
    }
    return render(
        request,
        "reporting/dashboard.html",
        {
            "filter": scope.filter,
            "scope": scope,
            "bucket": bucket,
            "buckets": [("day", _("Day")), ("week", _("Week")), ("month", _("Month"))],
            "sections": sections,
            "waiting": waiting_now,
            "waiting_urls": waiting_urls,
            "comments": comments_needing_attention(cases=scope.cases),
            "spikes": spikes,
            "query": scope.query.urlencode(),
            "filters_shown": _filters_shown(scope),
            **_freshness(scope),
        },
    )


def _freshness(scope: Scope) -> dict:
    """When the figures were taken, if they come from the rollup, and whether the rollup's
    catch-up seems to have stopped (the Celery worker or beat down)."""
    as_of = scope.figures.as_of
    return {"as_of": as_of, "stale": bool(as_of and timezone.now() - as_of > ROLLUP_STALE)}


def _report_cases(request: HttpRequest):
    scope = scope_for(user=request.user, data=request.GET)
    case_filter = report_filter_limited(
        ReportCaseFilter(scope.data, queryset=case_list(user=request.user, qs=scope.cases)),
        user=request.user,
    )
    cases = case_filter.qs if case_filter.is_valid() else scope.cases.none()
    return scope, case_filter, cases.order_by("-received_at", "-pk")


@login_required
@require_GET
def cases(request: HttpRequest) -> HttpResponse:
    """The cases behind a figure (the dashboard's filters plus the figure's)."""
    scope, case_filter, rows = _report_cases(request)
    page_obj = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    cases_last_activity(page_obj.object_list)
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "reporting/cases.html",
        {
            "filter": case_filter,
            "page_obj": page_obj,
            "query": query.urlencode(),
            "dashboard_query": scope.query.urlencode(),
            "filters_shown": _filters_shown(scope),
            "now": timezone.now(),
        },
    )


@login_required
@require_GET
def cases_export(request: HttpRequest, fmt: str) -> HttpResponse:
    _scope, _filter, rows = _report_cases(request)
    return exports.cases_csv(rows) if fmt == "csv" else exports.cases_xlsx(rows)


@login_required
@require_GET
def table_export(request: HttpRequest, key: str) -> HttpResponse:
    if key not in TABLES:
        raise Http404
    scope = scope_for(user=request.user, data=request.GET)
    bucket = request.GET.get("bucket")
    return exports.table_csv(table_for(scope, key, bucket if bucket in BUCKETS else None))


@login_required
@require_GET
def tables_export(request: HttpRequest) -> HttpResponse:
    scope = scope_for(user=request.user, data=request.GET)
    bucket = request.GET.get("bucket")
    tables = tables_for(scope, bucket if bucket in BUCKETS else None)
    title = _("Complaints report %(date)s") % {"date": timezone.localdate().isoformat()}
    return exports.tables_xlsx(list(tables.values()), title=title, filters=_filters_shown(scope))


@login_required
@require_GET
def summary(request: HttpRequest) -> HttpResponse:
    """The half-yearly summary, printable (the browser's print makes the PDF)."""
    half = half_for(request.GET.get("half"))
    reader_scope = cases_reported_to(user=request.user)
    departments = Department.objects.filter(
        pk__in=reader_scope.exclude(department__isnull=True).values("department")
    ).order_by("name")
    department = None
    if request.GET.get("department"):
        department = departments.filter(pk=_int(request.GET["department"])).first()
        if department is None:
            raise Http404
    scope = summary_scope(user=request.user, half=half, department=department)
    sections = []
    for key, table in summary_tables(scope).items():
        for row in table.rows:
            row.url = (
                request.build_absolute_uri(_cases_url(scope, row.cases)) if row.cases else None
            )
            row.cell_urls = {}
        chart = None
        if key in CHARTS and table.rows:
            draw, label, value = CHARTS[key]
            chart = draw(table, label=label, value=value, urls=[None] * len(table.rows))
        sections.append({"table": table, "chart": chart})
    return render(
        request,
        "reporting/summary.html",
        {
            "half": half,
            "halves": [half_for(f"{y}-H{h}") for y in _recent_years() for h in (2, 1)],
            "department": department,
            "departments": departments,
            "sections": sections,
            "actions": summary_actions(user=request.user, half=half, department=department),
            "generated_at": timezone.now(),
            **_freshness(scope),
        },
    )


def _int(value: str) -> int | None:
    return int(value) if value.isdigit() and len(value) < 12 else None


def _recent_years() -> list[int]:
    year = timezone.localdate().year
    return [year, year - 1, year - 2]
