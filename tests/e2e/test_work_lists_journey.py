"""The work lists in a real browser (issue 14): an agent opens Heed and sees what is due first,
sorts by a column head and back, switches to the cases to take, filters by a date picked in
Chinese; on a phone every row is a card and nothing scrolls sideways; axe-core passes."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from complaints import customer_actions
from complaints.models import Case

from ..factories import CustomerFactory, receive_case
from .conftest import PHONE, TIMEOUT_MS, check_screen, log_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

expect.set_options(timeout=TIMEOUT_MS)


def references(page: Page) -> list[str]:
    return page.locator("#case-table tbody tr").evaluate_all(
        "rows => rows.map(row => row.dataset.reference)"
    )


@pytest.fixture
def desk(agent):
    """The agent's three open cases (one overdue, one red, one green, with a customer waiting
    for an answer on the green one) and a complaint no one has taken yet."""
    now = timezone.now()
    late = receive_case(
        by=agent,
        received_at=now - timedelta(days=3),
        description="The replacement part never arrived although it was promised for Monday.",
    )
    green = receive_case(by=agent, urgency="green", received_at=now - timedelta(hours=2))
    red = receive_case(
        by=agent, urgency="red", customer=CustomerFactory(name="Zhou Min"), received_at=now
    )
    customer_actions.case_customer_message(case=green, body="Is anyone looking at this?")
    untaken = receive_case(by=agent, customer=CustomerFactory(name="Chen Jing"))
    Case.objects.filter(pk=untaken.pk).update(owner=None)
    return {"late": late, "green": green, "red": red, "untaken": untaken}


def test_an_agent_sees_what_is_due_first_and_sorts_and_switches_lists(page: Page, agent, desk):
    page.set_viewport_size({"width": 1440, "height": 900})
    log_in(page, agent)

    # My cases: the overdue case first, then by next deadline; the row says why.
    expect(page.locator("h1")).to_have_text("My cases")
    order = [desk["late"].reference, desk["red"].reference, desk["green"].reference]
    assert references(page) == order
    first = page.locator("#case-table tbody tr").first
    expect(first.get_by_test_id("time-left")).to_contain_text("overdue by")
    expect(first).to_contain_text("The replacement part never arrived")
    green = page.locator(f"tr[data-reference='{desk['green'].reference}']")
    expect(green.get_by_test_id("waiting-on-us")).to_be_visible()
    expect(green.get_by_test_id("last-activity")).to_be_visible()
    expect(green).to_contain_text("the customer · Message from the customer")
    check_screen(page)

    # The Urgency head sorts red first; pressed again, the other way.
    page.get_by_test_id("sort-urgency").click()
    expect(page).to_have_url(re.compile(r"\?ordering=urgency$"))
    assert references(page)[0] == desk["red"].reference
    expect(page.locator("th[aria-sort=ascending]")).to_contain_text("Urgency")
    page.get_by_test_id("sort-urgency").click()
    expect(page).to_have_url(re.compile(r"\?ordering=-urgency$"))
    assert references(page)[-1] == desk["red"].reference

    # The cases no one has taken yet.
    page.get_by_test_id("tab-to_take").click()
    expect(page).to_have_url(re.compile(r"/cases/to-take/$"))
    assert references(page) == [desk["untaken"].reference]
    expect(page.get_by_test_id("who-has-it")).to_contain_text("No one yet")
    check_screen(page)


def test_on_a_phone_each_case_is_a_card_and_nothing_scrolls_sideways(page: Page, agent, desk):
    page.set_viewport_size(PHONE)
    log_in(page, agent)
    rows = page.locator("#case-table tbody tr")
    expect(rows).to_have_count(3)
    for i in range(3):
        box = rows.nth(i).bounding_box()
        assert box and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
    # The column heads are for screen readers only; each cell says what it is.
    assert page.locator("#case-table thead").bounding_box()["height"] <= 1
    label = rows.first.locator("td[data-label]").first.evaluate(
        "cell => getComputedStyle(cell, '::before').content"
    )
    assert label == '"Time left"'
    check_screen(page)
    # The navigation folds behind "Menu" (the header is one short row); it opens on a tap.
    assert page.locator("header").bounding_box()["height"] < 100
    expect(page.get_by_test_id("nav-my-cases")).to_be_hidden()
    page.get_by_test_id("nav-menu").click()
    expect(page.get_by_test_id("nav-my-cases")).to_be_visible()
    page.get_by_test_id("nav-unassigned").click()
    expect(page).to_have_url(re.compile(r"/cases/to-take/$"))
    check_screen(page)


def test_on_a_laptop_the_navigation_is_open_and_short_with_a_skip_link(page: Page, agent, desk):
    page.set_viewport_size({"width": 1440, "height": 900})
    log_in(page, agent)
    expect(page.get_by_test_id("nav-menu")).to_be_hidden()
    expect(page.get_by_test_id("nav-my-cases")).to_be_visible()
    expect(page.get_by_test_id("header-search")).to_be_visible()
    # At most two rows (an agent's links fit one at 1440 px when few counts show; not always).
    assert page.locator("header").bounding_box()["height"] < 130
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to the content")
    expect(skip).to_be_focused()
    expect(skip).to_be_in_viewport()

    # The header's search box: a reference typed whole opens its case, a name lists its cases.
    search = page.get_by_test_id("header-search")
    search.fill(desk["red"].reference.lower())
    search.press("Enter")
    expect(page).to_have_url(re.compile(rf"/cases/{desk['red'].reference}/$"))
    page.get_by_test_id("header-search").fill("Zhou Min")
    page.get_by_test_id("header-search").press("Enter")
    expect(page).to_have_url(re.compile(r"/cases/\?q=Zhou\+Min$"))
    assert references(page) == [desk["red"].reference]


def test_in_chinese_the_received_dates_are_picked_and_filter_the_list(page: Page, agent, desk):
    log_in(page, agent)
    page.get_by_test_id("language-switcher").select_option("zh-hans")
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    page.goto("/cases/")
    page.locator("details.filters summary").click()
    today = timezone.localdate()
    page.locator("input[name=received_after]").fill((today - timedelta(days=1)).isoformat())
    page.locator("form[hx-get] button[type=submit]").click()
    expect(page).to_have_url(re.compile(rf"received_after={today - timedelta(days=1)}"))
    expect(page.locator("#case-table tbody tr")).to_have_count(3)  # not the case of 3 days ago
    expect(page.locator("input[name=received_after]")).to_have_value(
        (today - timedelta(days=1)).isoformat()
    )
    check_screen(page)
