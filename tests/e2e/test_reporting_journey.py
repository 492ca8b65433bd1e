"""A quality manager's journey through the reports in a real browser: the dashboard shows this
period's complaints; filtered to one category its figures change; the category's bar leads to
the cases behind it; the case list downloads as CSV and the whole report as Excel."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from pathlib import Path

import openpyxl
import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from complaints.models import Category

from ..factories import CustomerFactory, receive_case
from .conftest import TIMEOUT_MS, log_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

expect.set_options(timeout=TIMEOUT_MS)


def test_a_manager_filters_the_dashboard_follows_a_figure_and_downloads(
    page: Page, agent, quality_manager
):
    yesterday = timezone.now() - timedelta(days=1)
    delivery = [
        receive_case(
            by=agent,
            category=Category.SERVICE_PROCESS,
            customer=CustomerFactory(name=f"Late {i}"),
            received_at=yesterday,
        )
        for i in range(3)
    ]
    quality = [
        receive_case(by=agent, customer=CustomerFactory(name=f"Loud {i}"), received_at=yesterday)
        for i in range(2)
    ]

    log_in(page, quality_manager)
    page.get_by_test_id("nav-reports").click()
    expect(page.get_by_role("heading", name="Reports", exact=True)).to_be_visible()
    complaints = page.locator("table[data-table=outcomes] tbody tr").first
    expect(complaints).to_contain_text("5")
    assert not page.problems, page.problems

    # Filter to one category: the figures follow.
    page.get_by_test_id("report-filter").locator("select[name=category]").select_option(
        Category.SERVICE_PROCESS
    )
    page.get_by_role("button", name="Show").click()
    expect(page.locator("table[data-table=outcomes] tbody tr").first).to_contain_text("3")

    # The category's bar (and its table cell) lead to the three cases behind it.
    page.locator("#volume_by_category table a").first.click()
    expect(page.get_by_role("heading", name="Cases behind the figure")).to_be_visible()
    for case in delivery:
        expect(page.get_by_role("link", name=case.reference)).to_be_visible()
    for case in quality:
        expect(page.get_by_role("link", name=case.reference)).to_have_count(0)

    # The list downloads as CSV, with those cases.
    with page.expect_download() as download_info:
        page.get_by_test_id("cases-csv").click()
    text = Path(download_info.value.path()).read_text(encoding="utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert sorted(row[0] for row in rows[1:]) == sorted(c.reference for c in delivery)

    # And the whole report as Excel, one sheet per table.
    page.get_by_role("link", name="Back to the reports").click()
    with page.expect_download() as download_info:
        page.get_by_test_id("export-xlsx").click()
    assert download_info.value.suggested_filename.endswith(".xlsx")
    workbook = openpyxl.load_workbook(io.BytesIO(Path(download_info.value.path()).read_bytes()))
    assert len(workbook.sheetnames) > 10
    assert not page.problems, page.problems
