"""Every page on every screen (issue 14): each role signs in to the demo data and opens every
page its navigation leads to, a case page, and the pages that refuse or do not find, at a
laptop's 1440 x 900 and a phone's 390 x 844. None may scroll sideways, and axe-core must find no
violation."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from django.core.management import call_command
from playwright.sync_api import Page, expect

from complaints.models import Case, User
from complaints.roles import Role

from .conftest import (
    PASSWORD,
    PHONE,
    TIMEOUT_MS,
    axe_violations,
    check_screen,
    log_in,
    sideways_scroll,
)

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

expect.set_options(timeout=TIMEOUT_MS)

LAPTOP = {"width": 1440, "height": 900}


@pytest.fixture
def demo(settings, tmp_path) -> dict[str, User]:
    """``manage.py seed_demo``'s data, its people with the tests' password, by role."""
    settings.VAR_DIR = tmp_path
    call_command("seed_demo", stdout=open(tmp_path / "seed.txt", "w"))  # noqa: SIM115
    people = {}
    for user in User.objects.filter(groups__isnull=False).prefetch_related("groups"):
        user.set_password(PASSWORD)
        user.save(update_fields=["password"])
        people[user.groups.first().name] = user
    return people


def nav_pages(page: Page) -> list[str]:
    """The paths the header's navigation links to, each once, in order."""
    hrefs = page.locator("header nav a[href]").evaluate_all("links => links.map(a => a.href)")
    paths = []
    for href in hrefs:
        path = urlsplit(href)
        url = path.path + (f"?{path.query}" if path.query else "")
        if url not in paths:
            paths.append(url)
    return paths


def on_both_screens(page: Page, url: str) -> list[str]:
    """What is wrong with the page at either size: how far it scrolls sideways, axe-core's
    violations (all of them, so that one run lists every page to mend)."""
    problems = []
    for screen in (LAPTOP, PHONE):
        page.set_viewport_size(screen)
        page.goto(url)
        wide = sideways_scroll(page)
        if wide > 0:
            problems.append(f"{url} at {screen['width']} px scrolls sideways by {wide} px")
        problems += [f"{url} at {screen['width']} px: {v}" for v in axe_violations(page)]
    return problems


ROLES = [
    Role.AGENT,
    Role.HANDLER,
    Role.DEPARTMENT_HEAD,
    Role.QUALITY_MANAGER,
    Role.GENERAL_MANAGER,
    Role.ADMINISTRATOR,
]


def test_every_page_every_role_reaches_fits_both_screens(browser, live_server, demo):
    """Each role in turn, in a browser of its own; a page (its path: a filter of a list is the
    same page) is checked by the first role that reaches it, which keeps CI's minutes for the
    pages that differ."""
    case = Case.objects.exclude(step="closed").order_by("pk").first()
    seen: set[str] = set()
    problems: list[str] = []
    for role in ROLES:
        context = browser.new_context(base_url=live_server.url, locale="en-GB")
        page = context.new_page()
        log_in(page, demo[str(role)])
        pages = nav_pages(page)
        assert len(pages) >= 4, (role, pages)
        for url in [*pages, f"/cases/{case.reference}/"]:
            path = urlsplit(url).path
            if path not in seen:
                seen.add(path)
                problems += on_both_screens(page, url)
        context.close()
    assert {"/", "/cases/", "/escalations/", "/reports/", "/knowledge/", "/actions/"} <= seen
    assert problems == []


def test_the_refusal_and_not_found_pages_fit_both_screens(page: Page, demo):
    log_in(page, demo[str(Role.HANDLER)])
    for screen in (LAPTOP, PHONE):
        page.set_viewport_size(screen)
        response = page.goto("/reports/")
        assert response.status == 403
        expect(page.get_by_test_id("nav-my-cases")).to_be_attached()  # the site's own layout
        check_screen(page)
        response = page.goto("/cases/C000000-00000/")
        assert response.status == 404
        expect(page.get_by_role("button", name="Back to my cases")).to_be_visible()
        check_screen(page)
