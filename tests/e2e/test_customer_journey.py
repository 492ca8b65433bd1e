"""The customer's side in a real browser: a customer with no account complains through the
public form with a photo, gets a reference and a tracking link, and follows the case at /t/. An
agent finds the complaint among those waiting to be taken, takes it and works it to Confirm; the
customer agrees with the decision, rates the handling and the outcome, and the case closes — and
the customer never sees what is internal. Also: a robot that fills the honeypot gets the
thank-you page and creates nothing."""

from __future__ import annotations

import html
import re
import struct
import zlib
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from playwright.sync_api import Page, expect

from complaints.models import (
    Attachment,
    Case,
    CaseEvent,
    Channel,
    Customer,
    Step,
    tracking_digest,
)
from intake import tracking

from ..caches import cache_clear
from ..factories import active_digests
from . import test_tracking_journey
from .conftest import TIMEOUT_MS
from .test_agent_journey import current_step, move, step_form
from .test_tracking_journey import log_in, now_at, send

# The live server reads what this test writes, so no wrapping transaction: the database is
# flushed after the test instead.
pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

expect.set_options(timeout=TIMEOUT_MS)

# A page in a browser of its own on each call (someone else's browser: the customer's).
new_browser = test_tracking_journey.new_browser

REFERENCE = re.compile(r"C\d{6}-\d{5}")
PLAN = "We repair the kettle's seal at your home within two days."
# What only staff may read: none of it may reach the customer's page.
INTERNAL = "Third kettle from batch K-9 this month; ask the supplier about the seals."
ROOT_CAUSE = "Seals from supplier batch K-9 shrink when hot."
REPORT = "Supplier K-9 informed; quality to audit the incoming seals."


def png_bytes() -> bytes:
    """A real PNG of one red pixel: the signature, then IHDR, IDAT and IEND chunks."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data)
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)  # 1 by 1 pixel, 8-bit RGB
    pixels = zlib.compress(b"\x00\xff\x00\x00")  # filter byte, then one RGB pixel
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


def fill_complaint(customer: Page) -> None:
    """The public form's fields a person fills in (not the photos, not the honeypot)."""
    customer.get_by_label("Your name").fill("Chen Jing")
    customer.get_by_label("Phone").fill("139 8765 4321")
    customer.get_by_label("Email").fill("chen.jing@example.com")
    customer.get_by_label("What is it about?").select_option("product_quality")
    customer.get_by_label("Product or service").fill("Kettle K-2")
    customer.get_by_label("Order number").fill("SO-20261201-3")
    customer.get_by_label("What happened?").fill("The kettle leaks from the base when it boils.")
    customer.get_by_label("What would you like us to do?").fill("Repair it or replace it.")


def expect_nothing_internal(customer: Page, *, staff_surname: str, handler_name: str) -> None:
    """The customer's page never shows an internal note, the analysis or the report, nor a
    member of staff beyond a first name and role."""
    body = customer.locator("main")
    for secret in (INTERNAL, ROOT_CAUSE, REPORT, staff_surname, handler_name):
        expect(body).not_to_contain_text(secret)


def test_customer_complains_online_follows_the_case_agrees_and_rates_it_closed(
    page: Page, new_browser, live_server, agent, after_sales, handler, tmp_path
):
    # The customer pages count requests per address in the cache (shared with the live
    # server's thread): start from empty so that no earlier test's count carries over.
    cache_clear()
    agent.first_name, agent.last_name = "Mei", "Zhang-Hollis"
    agent.save(update_fields=["first_name", "last_name"])
    handler.first_name, handler.last_name = "Bo", "Okonkwo-Lind"
    handler.save(update_fields=["first_name", "last_name"])
    hidden = {"staff_surname": "Zhang-Hollis", "handler_name": "Okonkwo-Lind"}
    photo = tmp_path / "leaking-base.png"
    photo.write_bytes(png_bytes())

    # The customer, in their own browser and with no account, fills in the public form.
    customer = new_browser()
    customer.goto("/complain/")
    expect(customer.get_by_test_id("complain")).to_be_visible()
    expect(customer.get_by_test_id("nav-my-cases")).to_have_count(0)
    fill_complaint(customer)
    customer.get_by_label("Photos or documents").set_input_files(str(photo))
    customer.get_by_test_id("complain-send").click()

    # The thank-you page: the reference, and the tracking link to keep.
    expect(customer.get_by_test_id("complain-thanks")).to_be_visible()
    expect(customer.get_by_test_id("complain-reference")).to_contain_text(REFERENCE)
    reference = REFERENCE.search(customer.get_by_test_id("complain-reference").inner_text())[0]
    link = customer.get_by_test_id("complain-link").input_value()
    assert link.startswith(f"{settings.SITE_URL}/t/"), link
    token = urlsplit(link).path.removeprefix("/t/")
    assert tracking.token_wellformed(token), link
    case = Case.objects.get(reference=reference)
    assert active_digests(case) == {tracking_digest(token)}

    # "Follow my complaint" opens the tracking page in this browser at once (the thank-you
    # page set the cookie): received, with the photo on the timeline.
    customer.get_by_test_id("complain-follow").click()
    expect(customer).to_have_url(f"{live_server.url}/t/")
    expect(customer.get_by_test_id("tracking-page")).to_contain_text(reference)
    expect(now_at(customer)).to_have_text("Received")
    expect(customer.get_by_test_id("tracking-now")).to_contain_text("Now: Received")
    timeline = customer.get_by_test_id("tracking-timeline")
    events = timeline.locator("ol > li")  # not the files listed inside an event
    expect(events).to_have_count(1)
    expect(events.first).to_contain_text("You sent us your complaint.")
    expect(events.first.locator(".actor")).to_have_text("You")
    photo_link = timeline.locator(".attachments a", has_text="leaking-base.png")
    expect(photo_link).to_have_count(1)
    # The photo comes back as it was sent, as a download, through the customer's cookie.
    download = customer.request.get(photo_link.get_attribute("href"))
    assert download.status == 200
    assert download.body() == png_bytes()
    assert download.headers["content-disposition"].startswith("attachment")

    # An agent logs in: one complaint waits to be taken.
    log_in(page, agent)
    unassigned = page.get_by_test_id("nav-unassigned")
    expect(unassigned).to_contain_text("To take")
    expect(unassigned.locator(".count")).to_have_text("1")
    unassigned.click()
    expect(page).to_have_url(re.compile(r"/cases/to-take/$"))
    rows = page.locator("#case-table tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Chen Jing")
    rows.first.get_by_role("link", name=reference).click()

    # The case page: nobody owns it yet, so nobody can work it; the agent takes it.
    expect(page).to_have_url(re.compile(rf"/cases/{reference}/$"))
    expect(current_step(page)).to_have_text("Receive")
    expect(page.get_by_test_id("owner")).to_have_text("—")
    expect(page.locator("[data-testid^='move-']")).to_have_count(0)
    received = page.get_by_test_id("timeline").locator("li[data-kind=received]")
    expect(received.get_by_test_id("attachments")).to_contain_text("leaking-base.png")
    page.get_by_test_id("take-case").click()
    expect(page.get_by_test_id("owner")).to_have_text("Mei Zhang-Hollis")
    expect(page.get_by_test_id("take-case")).to_have_count(0)
    expect(page.locator(".messages")).to_contain_text(f"{reference} is now yours.")
    expect(page.get_by_test_id("nav-unassigned").locator(".count")).to_have_text("0")

    # The agent works the case with the step form, up to Confirm, and writes an internal note.
    page.wait_for_function("() => window.htmx !== undefined")
    send(page, INTERNAL, to_customer=False)
    move(page, Step.LISTEN, then_at="Listen")
    form = step_form(page)
    form.locator("[name=customer_account]").fill("Leaks from the base on every boil since day one.")
    form.locator("[name=understanding_confirmed]").check()
    move(page, Step.ANALYSE, then_at="Analyse")
    form = step_form(page)
    form.locator("[name=validity]").select_option("valid")
    form.locator("[name=root_cause_category]").select_option("materials")
    form.locator("[name=root_cause_analysis]").fill(ROOT_CAUSE)
    form.locator("[name=department]").select_option(label=after_sales.name)
    form.locator("[name=responsible_person]").select_option(str(handler.pk))
    move(page, Step.DECIDE, then_at="Decide")
    form = step_form(page)
    form.locator("input[name=remedy_types][value=repair]").check()
    form.locator("input[name=remedy_types][value=apology]").check()
    form.locator("[name=remedy_value]").fill("80.00")  # within the agent's authority (500)
    form.locator("[name=remedy_plan]").fill(PLAN)
    move(page, Step.ACT, then_at="Act")
    form = step_form(page)
    form.locator("[name=actions_taken]").fill("Engineer booked for Thursday.")
    form.locator("[name=report]").fill(REPORT)
    move(page, Step.CONFIRM, then_at="Confirm")

    # The customer reloads: asked to agree, with the decision and the plan in front of them.
    customer.reload()
    expect(now_at(customer)).to_have_text("Your agreement")
    expect(customer.get_by_test_id("tracking-now")).to_contain_text("Now: Your agreement")
    expect(customer.get_by_test_id("tracking-decision")).to_contain_text("Apology, Repair")
    expect(customer.get_by_test_id("tracking-plan")).to_have_text(PLAN)
    expect(customer.get_by_test_id("tracking-follow-up")).to_have_count(0)
    actors = customer.get_by_test_id("tracking-timeline").locator(".actor")
    expect(actors.last).to_have_text("Mei (Agent)")
    expect_nothing_internal(customer, **hidden)

    answer = customer.get_by_test_id("tracking-answer")
    answer.get_by_label("I agree", exact=True).check()
    answer.get_by_test_id("tracking-answer-send").click()
    expect(customer.locator(".messages")).to_contain_text("Thank you for your answer.")
    expect(now_at(customer)).to_have_text("Checking with you")
    expect(customer.get_by_test_id("tracking-answer")).to_have_count(0)

    # Follow up: the customer rates the handling 4 and the outcome 5, and is satisfied.
    rating = customer.get_by_test_id("tracking-follow-up")
    rating.get_by_test_id("tracking-handling").get_by_label("4").check()
    rating.get_by_test_id("tracking-outcome").get_by_label("5").check()
    rating.get_by_label("Yes, I am satisfied").check()
    rating.get_by_test_id("tracking-follow-up-send").click()
    expect(customer.locator(".messages")).to_contain_text("Thank you for your rating.")
    expect(now_at(customer)).to_have_text("Closed")
    expect(customer.get_by_test_id("tracking-now")).to_contain_text("Now: Closed")
    expect(customer.get_by_test_id("tracking-follow-up")).to_have_count(0)
    expect(customer.get_by_test_id("tracking-write")).to_have_count(0)
    progress = customer.get_by_test_id("tracking-progress")
    expect(progress.locator("li.done")).to_have_count(len(tracking.CUSTOMER_STEPS) - 1)
    expect_nothing_internal(customer, **hidden)
    # Nor does the printable copy of the case hold anything internal.
    printable = customer.request.get("/t/download/")
    assert printable.status == 200
    printed = html.unescape(printable.text())
    assert PLAN in printed
    for secret in (INTERNAL, ROOT_CAUSE, REPORT, *hidden.values()):
        assert secret not in printed

    # The agent reloads the case page: closed, the customer's answer and rating on the timeline.
    page.reload()
    expect(current_step(page)).to_have_text("Closed")
    expect(page.locator("[data-testid^='move-']")).to_have_count(0)
    timeline = page.get_by_test_id("timeline")
    agreed = timeline.locator("li[data-kind=step][data-to-step=follow_up]")
    expect(agreed.locator(".actor")).to_have_text("The customer")
    expect(agreed).to_contain_text("moved the case from Confirm to Follow up")
    rated = timeline.locator("li[data-kind=step][data-to-step=closed]")
    expect(rated.locator(".actor")).to_have_text("The customer")
    expect(rated).to_contain_text("moved the case from Follow up to Closed")
    expect(rated.locator(".changes li", has_text="rating of the handling")).to_contain_text("4")
    expect(rated.locator(".changes li", has_text="rating (1 to 5)")).to_contain_text("5")
    expect(timeline.locator("li[data-kind=note]")).to_contain_text(INTERNAL)

    # The rows.
    case.refresh_from_db()
    assert case.step == Step.CLOSED
    assert case.closed_at is not None
    assert (case.handling_rating, case.satisfaction_rating) == (4, 5)
    assert case.customer_agreed is True
    assert case.follow_up_satisfied is True
    assert case.channel == Channel.WEB_FORM
    assert (case.owner_id, case.responsible_person_id) == (agent.pk, handler.pk)
    assert case.department_id == after_sales.pk
    assert (case.product, case.order_number) == ("Kettle K-2", "SO-20261201-3")
    assert case.customer.name == "Chen Jing"
    assert case.customer.email == "chen.jing@example.com"
    assert Customer.objects.count() == 1
    attachment = Attachment.objects.get(case=case)
    assert attachment.name == "leaking-base.png"
    assert attachment.content_type == "image/png"
    assert attachment.event.kind == CaseEvent.Kind.RECEIVED
    with attachment.file.open("rb") as stored:
        assert stored.read() == png_bytes()
    by_customer = case.events.filter(by_customer=True, kind=CaseEvent.Kind.STEP)
    assert list(by_customer.order_by("pk").values_list("to_step", flat=True)) == [
        Step.FOLLOW_UP,
        Step.CLOSED,
    ]
    assert not by_customer.filter(actor__isnull=False).exists()
    note = case.events.get(kind=CaseEvent.Kind.NOTE)
    assert (note.note, note.customer_visible) == (INTERNAL, False)
    assert not case.events.filter(customer_visible=True, kind=CaseEvent.Kind.NOTE).exists()
    assert customer.problems == []  # no script errors, every static file served
    assert page.problems == []


def test_a_filled_honeypot_gets_the_thank_you_page_and_creates_nothing(new_browser):
    cache_clear()  # the public form's limit counts per address
    robot = new_browser()
    robot.goto("/complain/")
    fill_complaint(robot)
    honeypot = robot.locator(".hp input[name=website]")
    expect(honeypot).to_have_count(1)
    expect(robot.locator(".hp")).to_have_attribute("aria-hidden", "true")
    # Hidden from people (off-screen, out of the tab order); a robot fills it all the same.
    honeypot.evaluate("(input, value) => { input.value = value; }", "https://cheap.example")
    robot.get_by_test_id("complain-send").click()

    thanks = robot.get_by_test_id("complain-thanks")
    expect(thanks).to_be_visible()
    expect(thanks).to_contain_text("We will be in touch.")
    expect(robot.get_by_test_id("complain-reference")).to_have_count(0)
    expect(robot.get_by_test_id("complain-link")).to_have_count(0)
    assert [c for c in robot.context.cookies() if c["name"] == tracking.COOKIE_NAME] == []
    assert Case.objects.count() == 0
    assert Customer.objects.count() == 0
    assert robot.problems == []
