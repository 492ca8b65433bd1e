"""The exports: every KPI table (``reporting.tables.Table``) and any list of cases, as CSV and as
an Excel workbook. Pure functions from data to a response; the views decide who may export what
and which cases.

Every text cell is neutralised against formula injection (``reporting.spreadsheet``), so that
neither Excel nor LibreOffice runs a customer's "=HYPERLINK(…)"; numbers stay numbers. Times
are written in the deployment's TIME_ZONE, which each time column's header names (Excel's dates
have no time zone). CSV is UTF-8 with a byte-order mark, so that Excel reads Chinese correctly.
"""

from __future__ import annotations

import csv
import io
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet
from django.http import FileResponse, HttpResponse, StreamingHttpResponse
from django.utils import timezone, translation
from django.utils.functional import Promise
from django.utils.text import capfirst, format_lazy
from django.utils.translation import gettext_lazy as _
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.filters import AutoFilter

from complaints.models import (
    Case,
    Category,
    Channel,
    Remedy,
    RootCause,
    Step,
    Tier,
    Urgency,
    Validity,
)

from .spreadsheet import (
    cell_text,
    column_widths,
    content_disposition,
    csv_cell,
    dated_name,
    header_row,
    sheet_name,
    table_layout,
    widths_for,
    xlsx_cell,
    zone_name,
)
from .tables import Table

CSV_TYPE = "text/csv; charset=utf-8"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# Cases fetched per database round trip when exporting.
FETCH_SIZE = 2000
# CSV rows sent to the client at a time.
CSV_CHUNK_ROWS = 500


def table_csv(table: Table) -> HttpResponse:
    """One KPI table as CSV: a header row of the column labels, then its rows."""
    response = HttpResponse(content_type=CSV_TYPE)
    response["Content-Disposition"] = content_disposition(
        dated_name(table.title), extension="csv", fallback=dated_name(table.key)
    )
    response.write("\ufeff")
    writer = csv.writer(response)
    writer.writerow([cell_text(c.label) for c in table.columns])
    for row in table.rows:
        writer.writerow(
            [csv_cell(row.values.get(c.key), table.kind_of(row, c)) for c in table.columns]
        )
    return response


def tables_xlsx(
    tables: list[Table], *, title: str | Promise, filters: list[tuple[str, str]]
) -> HttpResponse:
    """KPI tables as one workbook: a first "Report" sheet with the title, when it was made and
    the filters used (label, value), then one sheet per table."""
    workbook = Workbook(write_only=True)
    taken: set[str] = set()
    report = workbook.create_sheet(sheet_name(_("Report"), taken))
    names = [sheet_name(table.title, taken) for table in tables]

    column_widths(report, [30, 50, 60])
    title_cell = WriteOnlyCell(report, ILLEGAL_CHARACTERS_RE.sub("", cell_text(title)))
    title_cell.font = Font(bold=True, size=14)
    report.append([title_cell])
    report.append([])
    made_on = format_lazy("{} ({})", _("Made on"), zone_name())
    report.append([*header_row(report, [made_on]), xlsx_cell(report, timezone.now())])
    report.append([])
    report.append(header_row(report, [_("Filters")]))
    for label, value in filters:
        report.append([xlsx_cell(report, label), xlsx_cell(report, value)])
    report.append([])
    report.append(header_row(report, [_("Sheet"), _("Table"), _("Note")]))
    for name, table in zip(names, tables, strict=True):
        report.append([xlsx_cell(report, v) for v in (name, table.title, table.note or None)])

    for name, table in zip(names, tables, strict=True):
        ws = workbook.create_sheet(name)
        rows = table.value_rows()
        column_widths(ws, widths_for(table.columns, rows))
        table_layout(ws, columns=len(table.columns), rows=len(rows))
        ws.append(header_row(ws, [c.label for c in table.columns]))
        for row in table.rows:
            ws.append(
                [xlsx_cell(ws, row.values.get(c.key), table.kind_of(row, c)) for c in table.columns]
            )

    content = io.BytesIO()
    workbook.save(content)
    response = HttpResponse(content.getvalue(), content_type=XLSX_TYPE)
    response["Content-Disposition"] = content_disposition(
        dated_name(title), extension="xlsx", fallback=dated_name("heed-report")
    )
    return response


# Cases ------------------------------------------------------------------------------------------


# A case as the export reads it: ``QuerySet.values()`` of these names (model instances would
# cost three times as long to build), in one query whatever the number of cases.
CASE_VALUES = [
    "reference",
    "received_at",
    "channel",
    "category",
    "product",
    "urgency",
    "step",
    "customer__name",
    "owner__username",
    "owner__first_name",
    "owner__last_name",
    "department__name",
    "tier",
    "due_at",
    "closed_at",
    "validity",
    "root_cause_category",
    "remedy_types",
    "remedy_value",
    "satisfaction_rating",
    "reopen_count",
]
CHOICES = {
    "channel": Channel,
    "category": Category,
    "urgency": Urgency,
    "step": Step,
    "tier": Tier,
    "validity": Validity,
    "root_cause_category": RootCause,
    "remedy_types": Remedy,
}
type Labels = dict[str, dict[Any, str]]


@dataclass(frozen=True)
class CaseColumn:
    field: str  # the Case field whose verbose name heads the column
    kind: str  # "text", "datetime", "count" or "money"
    width: int
    value: Callable[[dict[str, Any], Labels], Any]


def _value(name: str) -> Callable[[dict[str, Any], Labels], Any]:
    return lambda case, labels: case[name]


def _label(name: str) -> Callable[[dict[str, Any], Labels], Any]:
    def label(case: dict[str, Any], labels: Labels) -> Any:
        code = case[name]
        return "" if code in (None, "") else labels[name].get(code, code)

    return label


def _owner(case: dict[str, Any], labels: Labels) -> str:
    # As User.__str__: the full name, else the username.
    full_name = f"{case['owner__first_name'] or ''} {case['owner__last_name'] or ''}".strip()
    return full_name or case["owner__username"] or ""


def _remedies(case: dict[str, Any], labels: Labels) -> str:
    codes = case["remedy_types"] or []
    return ", ".join(labels["remedy_types"].get(code, str(code)) for code in codes)


CASE_COLUMNS = [
    CaseColumn("reference", "text", 16, _value("reference")),
    CaseColumn("received_at", "datetime", 18, _value("received_at")),
    CaseColumn("channel", "text", 14, _label("channel")),
    CaseColumn("category", "text", 22, _label("category")),
    CaseColumn("product", "text", 28, _value("product")),
    CaseColumn("urgency", "text", 24, _label("urgency")),
    CaseColumn("step", "text", 12, _label("step")),
    CaseColumn("customer", "text", 24, _value("customer__name")),
    CaseColumn("owner", "text", 20, _owner),
    CaseColumn("department", "text", 20, _value("department__name")),
    CaseColumn("tier", "text", 18, _label("tier")),
    CaseColumn("due_at", "datetime", 18, _value("due_at")),
    CaseColumn("closed_at", "datetime", 18, _value("closed_at")),
    CaseColumn("validity", "text", 16, _label("validity")),
    CaseColumn("root_cause_category", "text", 20, _label("root_cause_category")),
    CaseColumn("remedy_types", "text", 30, _remedies),
    CaseColumn("remedy_value", "money", 14, _value("remedy_value")),
    CaseColumn("satisfaction_rating", "count", 12, _value("satisfaction_rating")),
    CaseColumn("reopen_count", "count", 12, _value("reopen_count")),
]


def case_headers() -> list[str]:
    """The columns' headers in the active language; time columns name TIME_ZONE."""
    headers = []
    for column in CASE_COLUMNS:
        label = capfirst(str(Case._meta.get_field(column.field).verbose_name))
        headers.append(f"{label} ({zone_name()})" if column.kind == "datetime" else label)
    return headers


def _case_labels() -> Labels:
    """Every code's label in the active language, translated once per export."""
    return {
        field: {c: str(label) for c, label in choices.choices} for field, choices in CHOICES.items()
    }


def _cases_for_export(cases: QuerySet[Case]) -> Iterator[dict[str, Any]]:
    """The cases in the list's order, fetched in chunks (a server-side cursor on PostgreSQL)."""
    if not cases.ordered:
        cases = cases.order_by("-received_at", "pk")
    # What the list prefetched is not read (and cannot be, row by row).
    return cases.prefetch_related(None).values(*CASE_VALUES).iterator(chunk_size=FETCH_SIZE)


class _Echo:
    """A file whose write returns the line, for a streaming csv.writer."""

    def write(self, value: str) -> str:
        return value


def cases_csv(cases: QuerySet[Case]) -> StreamingHttpResponse:
    """The cases as CSV, streamed: fetched in chunks and sent as they are written, so a list
    of 100,000 never sits in memory. The language active now is the one written, even if the
    server iterates the response after the request's language is gone."""
    language = translation.get_language()

    def lines() -> Iterator[str]:
        with translation.override(language):
            writer = csv.writer(_Echo())
            labels = _case_labels()
            yield "\ufeff" + writer.writerow(case_headers())
            chunk: list[str] = []
            for case in _cases_for_export(cases):
                chunk.append(
                    writer.writerow([csv_cell(c.value(case, labels), c.kind) for c in CASE_COLUMNS])
                )
                if len(chunk) == CSV_CHUNK_ROWS:
                    yield "".join(chunk)
                    chunk = []
            if chunk:
                yield "".join(chunk)

    response = StreamingHttpResponse(lines(), content_type=CSV_TYPE)
    response["Content-Disposition"] = content_disposition(
        dated_name(capfirst(str(Case._meta.verbose_name_plural))),
        extension="csv",
        fallback=dated_name("cases"),
    )
    return response


def cases_xlsx(cases: QuerySet[Case]) -> FileResponse:
    """The cases as a one-sheet workbook, written row by row (openpyxl's write-only mode) to a
    temporary file that the response then streams."""
    labels = _case_labels()
    workbook = Workbook(write_only=True)
    ws = workbook.create_sheet(sheet_name(capfirst(str(Case._meta.verbose_name_plural)), set()))
    column_widths(ws, [c.width for c in CASE_COLUMNS])
    ws.freeze_panes = "A2"
    ws.append(header_row(ws, case_headers()))
    count = 0
    for case in _cases_for_export(cases):
        ws.append([xlsx_cell(ws, c.value(case, labels), c.kind) for c in CASE_COLUMNS])
        count += 1
    ws.auto_filter = AutoFilter(ref=f"A1:{get_column_letter(len(CASE_COLUMNS))}{count + 1}")

    file = tempfile.TemporaryFile()  # noqa: SIM115 — closed by the response
    workbook.save(file)
    file.seek(0)
    response = FileResponse(file, content_type=XLSX_TYPE)
    response["Content-Disposition"] = content_disposition(
        dated_name(capfirst(str(Case._meta.verbose_name_plural))),
        extension="xlsx",
        fallback=dated_name("cases"),
    )
    return response
