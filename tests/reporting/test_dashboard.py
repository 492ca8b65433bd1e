"""The reports over HTTP: who may read them, the default period and the filters, every figure's
link to the list of the cases behind it, a query count that does not grow with the data, both
languages, and the navigation.

The data is the known world of ``conftest.py`` (nine cases received in March 2026 in
Asia/Shanghai, two more in December); the clock stands at its NOW, Fri 27 Mar 2026 10:00, so
the default period (the last 90 days) is Sun 28 Dec 2025 to Fri 27 Mar 2026."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta
from html import unescape
from html.parser import HTMLParser
from urllib.parse import parse_qs, urlsplit

import openpyxl
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from complaints.models import Step
from complaints.roles import Role
from tests.factories import CustomerFactory, staff

from .conftest import NOW, local, persona, received, swept, walked

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("world", "figures_from")]

agent = persona("agent")
handler = persona("handler")
department_head = persona("department_head")
foreign_handler = persona("foreign_handler")
quality_manager = persona("quality_manager")
general_manager = persona("general_manager")

DASHBOARD = "/reports/"
CASES = "/reports/cases/"


@pytest.fixture(autouse=True)
def at_now(time_machine):
    time_machine.move_to(NOW, tick=False)


# ---------------------------------------------------------------- reading the page


class Page(HTMLParser):
    """What a reader sees of the reports: each KPI table's cells (text, link) by table key, each
    chart's bars or columns (title, link) by section, the case references listed."""

    def __init__(self, html: str):
        super().__init__()
        self.tables: dict[str, list[list[tuple[str, str | None]]]] = {}
        self.charts: dict[str, list[tuple[str, str | None]]] = {}
        self._section = self._table = None
        self._cell: list[str] | None = None
        self._href = None
        self._in_svg = self._in_title = False
        self._mark: dict | None = None
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "section":
            self._section = attrs.get("id")
        elif tag == "table" and "data-table" in attrs:
            self._table = attrs["data-table"]
            self.tables[self._table] = []
        elif tag == "tr" and self._table:
            self.tables[self._table].append([])
        elif tag in ("td", "th") and self._table:
            self._cell, self._href = [], None
        elif tag == "a" and self._cell is not None:
            self._href = attrs.get("href")
        elif tag == "svg":
            self._in_svg = True
            self.charts[self._section] = []
        elif tag == "g" and self._in_svg:
            self._mark = {"title": "", "href": None}
        elif tag == "title" and self._in_svg:
            self._in_title = True
        elif tag == "a" and self._mark is not None:
            self._mark["href"] = attrs.get("href")

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self.tables[self._table][-1].append(("".join(self._cell).strip(), self._href))
            self._cell = None
        elif tag == "table":
            self._table = None
        elif tag == "title":
            self._in_title = False
        elif tag == "g" and self._mark is not None:
            self.charts[self._section].append((self._mark["title"].strip(), self._mark["href"]))
            self._mark = None
        elif tag == "svg":
            self._in_svg = False

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)
        if self._in_title and self._mark is not None:
            self._mark["title"] += data

    def rows(self, key: str) -> list[list[tuple[str, str | None]]]:
        """The table's body rows (without the header row)."""
        return self.tables[key][1:]

    def texts(self, key: str) -> list[list[str]]:
        return [[text for text, _href in row] for row in self.rows(key)]

    def figure(self, key: str, label: str, column: int = 1) -> tuple[str, str | None]:
        """The cell of the row labelled ``label`` (first column)."""
        for row in self.rows(key):
            if row[0][0] == label:
                return row[column]
        raise AssertionError(f"no row {label!r} in {key}: {self.texts(key)}")

    def total(self) -> int:
        return int(self.figure("outcomes", "Complaints")[0].replace(",", ""))


def page(response) -> Page:
    assert response.status_code == 200, response.status_code
    return Page(response.content.decode())


def listed(client, url: str) -> set[str]:
    """The references the list of cases at ``url`` shows, over all its pages."""
    refs: set[str] = set()
    while url:
        response = client.get(url)
        assert response.status_code == 200
        html = unescape(response.content.decode())
        refs |= set(re.findall(r'href="/cases/(C\d{6}-\d{5})/"', html))
        following = re.search(r'<a href="(\?[^"]*)">Next</a>', html)
        url = CASES + following.group(1) if following else None
    return refs


@pytest.fixture
def reader(client):
    """``reader(user)``: the test client signed in as that user."""

    def sign_in(user):
        client.force_login(user)
        return client

    return sign_in


# ---------------------------------------------------------------- who may read the reports


@pytest.mark.parametrize("url", [DASHBOARD, CASES, "/reports/cases.csv", "/reports/export.xlsx"])
def test_anonymous_visitors_are_sent_to_log_in(client, url):
    response = client.get(url)

    assert response.status_code == 302
    assert response["Location"].startswith("/login/?next=/reports/")


@pytest.mark.parametrize("persona_name", ["agent", "handler", "foreign_handler", "outsider"])
@pytest.mark.parametrize(
    "url", [DASHBOARD, CASES, "/reports/cases.csv", "/reports/export/compliance.csv"]
)
def test_staff_below_department_head_may_not_read_reports(request, reader, persona_name, url):
    user = request.getfixturevalue(persona_name)

    assert reader(user).get(url).status_code == 403


@pytest.mark.parametrize("persona_name", ["quality_manager", "general_manager"])
def test_quality_and_general_managers_read_every_case(request, reader, world, persona_name):
    client = reader(request.getfixturevalue(persona_name))

    shown = page(client.get(DASHBOARD))

    assert shown.total() == 9
    assert dict(shown.texts("volume_by_department")) == {
        "After-sales": "5",
        "Logistics": "2",
        "Not named yet": "2",
    }
    assert listed(client, CASES) == world.refs(*world.cases)


def test_a_department_head_reads_only_their_departments_cases(reader, world, department_head):
    client = reader(department_head)

    shown = page(client.get(DASHBOARD))

    # After-sales is responsible for five; external, not analysed yet, was received by the head.
    assert shown.total() == 6
    assert dict(shown.texts("volume_by_department")) == {"After-sales": "5", "Not named yet": "1"}
    assert dict(r[:2] for r in shown.texts("remedies_by_department")) == {"After-sales": "5"}
    assert listed(client, CASES) == world.refs(
        "quick", "late", "reopen", "approval", "followup", "external"
    )


def test_a_department_head_asking_for_another_departments_cases_gets_none(
    reader, world, department_head
):
    client = reader(department_head)

    assert listed(client, f"{CASES}?responsible_department={world.logistics.pk}") == set()
    assert page(client.get(f"{DASHBOARD}?department={world.logistics.pk}")).total() == 0


def test_a_department_head_without_a_department_reads_no_cases(reader):
    # Not "the cases without a department": those are every department's, not analysed yet.
    headless = staff(Role.DEPARTMENT_HEAD, None, username="headless")
    client = reader(headless)

    assert page(client.get(DASHBOARD)).total() == 0
    assert listed(client, CASES) == set()


# ---------------------------------------------------------------- the period and the filters


def test_the_default_period_is_the_last_90_days_up_to_today(reader, agent, general_manager):
    # 90 days up to Fri 27 Mar 2026 start on Sun 28 Dec 2025, in Shanghai.
    received(agent, local(2025, 12, 27, 23, 30))
    first_day = received(agent, local(2025, 12, 28, 0, 30))
    client = reader(general_manager)

    response = client.get(DASHBOARD)

    assert page(response).total() == 10  # the world's nine of March, and first_day
    assert 'value="2025-12-28"' in response.content.decode()
    assert 'value="2026-03-27"' in response.content.decode()
    assert first_day.reference in listed(client, CASES)


@pytest.mark.parametrize(
    ("query", "total"),
    [
        ("received_after=2026-03-23&received_before=2026-03-25", 3),
        ("received_after=2026-03-09", 6),
        ("category=price_billing", 2),
        ("channel=phone", 4),
        ("product=washing+machine+w-200", 3),
        ("urgency=red", 1),
        ("urgency=green", 2),
    ],
)
def test_filters_narrow_the_figures(reader, general_manager, query, total):
    assert page(reader(general_manager).get(f"{DASHBOARD}?{query}")).total() == total


def test_the_department_filter_keeps_the_departments_cases(reader, world, general_manager):
    shown = page(reader(general_manager).get(f"{DASHBOARD}?department={world.logistics.pk}"))

    assert shown.total() == 2
    assert dict(shown.texts("volume_by_category")) == {
        "Price or billing": "1",
        "Misleading promotion": "1",
    }


@pytest.mark.parametrize(
    "query",
    [
        "received_after=not-a-date",
        "received_before=2026-02-30",
        "department=999999",
        "department=after-sales",
        "category=bogus",
        "channel=pigeon",
        "urgency=purple",
    ],
)
def test_an_invalid_filter_shows_no_cases_not_an_error(reader, general_manager, query):
    client = reader(general_manager)

    assert page(client.get(f"{DASHBOARD}?{query}")).total() == 0
    assert listed(client, f"{CASES}?{query}") == set()


@pytest.mark.parametrize(
    "query",
    ["milestone=someday", "deadline=late", "escalated_to=9", "rating=abc", "step=limbo"],
)
def test_an_invalid_figure_parameter_lists_no_cases_not_an_error(reader, general_manager, query):
    assert listed(reader(general_manager), f"{CASES}?{query}") == set()


def test_the_grouping_can_be_chosen(reader, general_manager):
    client = reader(general_manager)

    by_week = page(client.get(DASHBOARD)).texts("volume_over_time")
    by_month = page(client.get(f"{DASHBOARD}?bucket=month")).texts("volume_over_time")

    assert [count for _period, count in by_week] == ["3", "1", "5"]
    assert [count for _period, count in by_month] == ["9"]
    assert page(client.get(f"{DASHBOARD}?bucket=year")).texts("volume_over_time") == by_week


# ---------------------------------------------------------------- from a figure to its cases


def test_a_category_bar_leads_to_the_cases_of_that_category(reader, world, general_manager):
    client = reader(general_manager)
    bars = dict(page(client.get(DASHBOARD)).charts["volume_by_category"])

    assert listed(client, bars["Product quality: 3"]) == world.refs("quick", "reopen", "approval")


def test_a_compliance_row_leads_to_the_cases_with_that_milestone(reader, world, general_manager):
    client = reader(general_manager)
    text, link = page(client.get(DASHBOARD)).figure("compliance", "Decide finished")

    # Ten deadlines (reopen has two rounds) of the nine cases.
    assert text == "10"
    assert listed(client, link) == world.refs(*world.cases)


def test_the_reopened_count_leads_to_the_reopened_cases(reader, world, general_manager):
    client = reader(general_manager)
    text, link = page(client.get(DASHBOARD)).figure("outcomes", "Reopened (二次投诉)")

    assert text == "1"
    assert listed(client, link) == world.refs("reopen")


# The tables whose linked cell (the second column) is a count of cases.
CASE_COUNTS = [
    "volume_over_time",
    "volume_by_channel",
    "volume_by_category",
    "volume_by_product",
    "volume_by_department",
    "root_causes",
    "responsible_departments",
    "validity",
    "remedies_by_type",
    "remedies_by_department",
]


@pytest.mark.parametrize("key", CASE_COUNTS)
def test_every_linked_count_lists_as_many_cases_as_it_shows(reader, general_manager, key):
    client = reader(general_manager)
    rows = page(client.get(DASHBOARD)).rows(key)

    linked = [(text, link) for _label, (text, link), *_rest in rows if link]
    assert linked
    for text, link in linked:
        assert len(listed(client, link)) == int(text), (key, link)


def test_every_escalation_row_lists_as_many_cases_as_its_case_count(reader, general_manager):
    client = reader(general_manager)

    for _tier, (_reason, link), _escalations, (cases, _none) in page(client.get(DASHBOARD)).rows(
        "escalations"
    ):
        assert len(listed(client, link)) == int(cases)


def test_a_figure_link_keeps_the_dashboards_filters(reader, world, general_manager):
    client = reader(general_manager)
    shown = page(client.get(f"{DASHBOARD}?channel=phone"))
    _text, link = shown.figure("volume_by_category", "Product quality")

    assert parse_qs(urlsplit(link).query)["channel"] == ["phone"]
    assert listed(client, link) == world.refs("quick", "reopen", "approval")


def test_a_period_link_never_reaches_beyond_the_dashboards_period(reader, world, general_manager):
    # Wed 4 to Wed 25 March, by week: the first week (from Mon 2 Mar) counts only sun, and the
    # last (to Sun 29 Mar) only reopen, external and manual.
    client = reader(general_manager)
    query = "received_after=2026-03-04&received_before=2026-03-25&bucket=week"
    rows = page(client.get(f"{DASHBOARD}?{query}")).rows("volume_over_time")

    assert [text for _period, (text, _link) in rows] == ["1", "1", "3"]
    assert [listed(client, link) for _period, (_text, link) in rows] == [
        world.refs("sun"),
        world.refs("mon"),
        world.refs("reopen", "external", "manual"),
    ]


# ---------------------------------------------------------------- the list of cases


def test_the_list_of_cases_is_paginated_and_keeps_its_filters(reader, agent, general_manager):
    for minute in range(26):  # with followup, 27 safety cases
        received(agent, local(2026, 3, 27, 0) + timedelta(minutes=minute), category="safety")
    client = reader(general_manager)

    first = client.get(f"{CASES}?category=safety")
    second = client.get(f"{CASES}?category=safety&page=2")

    assert "Page 1 of 2 · 27 cases" in unescape(first.content.decode())
    assert '<a href="?category=safety&page=2">Next</a>' in unescape(first.content.decode())
    assert len(re.findall(r'href="/cases/C\d{6}-\d{5}/"', first.content.decode())) == 25
    assert len(re.findall(r'href="/cases/C\d{6}-\d{5}/"', second.content.decode())) == 2


def test_the_list_downloads_as_csv_and_excel_with_the_same_cases(reader, world, general_manager):
    client = reader(general_manager)
    html = client.get(f"{CASES}?category=price_billing").content.decode()
    csv_link = unescape(re.search(r'href="([^"]+)" data-testid="cases-csv"', html).group(1))
    xlsx_link = unescape(re.search(r'href="([^"]+)" data-testid="cases-xlsx"', html).group(1))

    as_csv = client.get(csv_link)
    as_xlsx = client.get(xlsx_link)

    assert as_csv.status_code == 200 and as_xlsx.status_code == 200
    rows = list(csv.reader(io.StringIO(b"".join(as_csv.streaming_content).decode("utf-8-sig"))))
    assert {row[0] for row in rows[1:]} == world.refs("sun", "mon")
    sheet = openpyxl.load_workbook(io.BytesIO(b"".join(as_xlsx.streaming_content))).active
    assert {row[0] for row in sheet.iter_rows(min_row=2, values_only=True)} == world.refs(
        "sun", "mon"
    )


def test_every_tables_csv_link_and_the_excel_link_answer(reader, general_manager):
    client = reader(general_manager)
    html = client.get(DASHBOARD).content.decode()
    links = [unescape(u) for u in re.findall(r'href="([^"]+)"[^>]*data-testid="export-', html)]

    assert len(links) == 16  # every KPI table's CSV and the workbook of them all
    for link in links:
        response = client.get(link)
        assert response.status_code == 200, link
        assert response["Content-Type"].startswith(("text/csv", "application/vnd.openxml")), link


# ---------------------------------------------------------------- fast, translated, navigable


def dashboard_queries(client, figures_from) -> int:
    # With the rollup: brought up to date first, so that only the page's own queries count.
    figures_from.catch_up()
    with figures_from.paused(), CaptureQueriesContext(connection) as queries:
        assert client.get(DASHBOARD).status_code == 200
    return len(queries)


def test_the_dashboards_query_count_does_not_grow_with_the_data(
    reader, world, agent, general_manager, figures_from
):
    client = reader(general_manager)
    few = dashboard_queries(client, figures_from)

    # 40 more cases, in every category and channel, many products, both departments, many
    # closed with remedies, many escalated by the sweep.
    people = world.people
    categories = ["product_quality", "service_attitude", "service_process", "safety", "other"]
    channels = ["phone", "email", "letter", "web_form", "dealer", "walk_in", "social_media"]
    for n in range(40):
        case = received(
            agent,
            local(2026, 3, 10, 9) + timedelta(hours=n),
            customer=CustomerFactory(),
            category=categories[n % len(categories)],
            channel=channels[n % len(channels)],
            product=f"Model {n % 9}",
            urgency=["red", "yellow", "green"][n % 3],
        )
        department, person = (
            (world.after_sales, people["handler"])
            if n % 2
            else (world.logistics, people["foreign_handler"])
        )
        if n % 4:
            walked(
                case,
                [Step.ANALYSE, Step.ACT, Step.CLOSED][n % 3],
                case.received_at + timedelta(minutes=30),
                by=agent,
                department=department,
                person=person,
                valid=n % 5 != 0,
                analyse={"root_cause_category": ["people", "process", "materials"][n % 3]}
                if n % 5
                else {},
            )
    swept(NOW)

    assert dashboard_queries(client, figures_from) == few


@pytest.mark.parametrize("chosen_by", ["accept_language", "cookie"])
def test_the_dashboard_renders_in_chinese(reader, general_manager, settings, chosen_by):
    client = reader(general_manager)
    headers = {}
    if chosen_by == "cookie":
        client.cookies[settings.LANGUAGE_COOKIE_NAME] = "zh-hans"
    else:
        headers["HTTP_ACCEPT_LANGUAGE"] = "zh-hans"

    response = client.get(DASHBOARD, **headers)

    html = response.content.decode()
    assert '<html lang="zh-hans">' in html
    assert "全部案件" in html  # the navigation, translated
    assert page(response).rows("outcomes")[0][1][0] == "9"  # the complaints, counted alike
    assert client.get(f"{CASES}?category=safety", **headers).status_code == 200


@pytest.mark.parametrize(
    ("persona_name", "shown"),
    [
        ("agent", False),
        ("handler", False),
        ("department_head", True),
        ("quality_manager", True),
        ("general_manager", True),
    ],
)
def test_the_navigation_offers_reports_to_managers_only(request, reader, persona_name, shown):
    html = reader(request.getfixturevalue(persona_name)).get("/").content.decode()

    assert ('data-testid="nav-reports"' in html) is shown
