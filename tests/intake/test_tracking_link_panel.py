"""The tracking-link panel of the agent's case page: until the case reaches Analyse it shows the
acknowledgement to read out on the phone (the reference, the plan-by and handled-by dates) and
says how the customer was sent it (email, text message, or not at all); from then on only the
button that renews the link."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from django.urls import reverse
from django.utils import formats, timezone, translation

from complaints.models import Case, Step
from escalation.models import Deadline, Milestone

from ..factories import CustomerFactory, receive_case, walk

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 11, 5, 9, 30, tzinfo=UTC)


def shown(value: datetime) -> str:
    with translation.override("en"):
        return formats.date_format(timezone.localtime(value), "DATETIME_FORMAT")


def due(case: Case, milestone: str) -> datetime:
    return Deadline.objects.get(
        case=case, round=case.reopen_count, superseded_at=None, milestone=milestone
    ).due_at


def panel(client, user, case: Case) -> str:
    client.force_login(user)
    response = client.get(reverse("complaints:case_detail", args=[case.reference]))
    assert response.status_code == 200
    match = re.search(
        r'<article data-testid="tracking-link-panel">(.*?)</article>',
        response.content.decode(),
        re.DOTALL,
    )
    assert match, "no tracking-link panel"
    return match.group(1)


def read_out(panel_html: str) -> str | None:
    match = re.search(r'data-testid="acknowledgement">(.*?)</section>', panel_html, re.DOTALL)
    return " ".join(match.group(1).split()) if match else None


@pytest.fixture
def clock(time_machine):
    time_machine.move_to(T0, tick=False)


@pytest.fixture
def li_na(db):
    return CustomerFactory(name="Li Na", email="li.na@example.com", phone="+8613800138000")


@pytest.mark.parametrize("step", [Step.RECEIVE, Step.LISTEN])
def test_the_panel_shows_the_acknowledgement_to_read_out_until_analysis(
    clock, client, agent, after_sales, li_na, step
):
    case = receive_case(by=agent, customer=li_na)
    walk(case, to=step, by=agent, department=after_sales, person=agent)

    said = read_out(panel(client, agent, case))

    assert said is not None
    assert f"its reference number is {case.reference}" in said
    assert f"By {shown(due(case, Milestone.DECIDED))}" in said
    assert f"fully handled by {shown(due(case, Milestone.CLOSED))}" in said


def test_the_panel_says_the_acknowledgement_was_emailed(client, agent, li_na):
    case = receive_case(by=agent, customer=li_na)

    said = read_out(panel(client, agent, case))

    assert "Emailed to the customer with their tracking link" in said
    assert "text message" not in said


def test_the_panel_says_the_acknowledgement_went_by_text_message_to_a_mobile_only_customer(
    client, agent
):
    case = receive_case(by=agent, customer=CustomerFactory(email="", phone="+8613900139000"))

    said = read_out(panel(client, agent, case))

    assert "Sent to the customer by text message with their tracking link" in said
    assert "Emailed to the customer" not in said


def test_the_panel_says_the_acknowledgement_went_by_text_message_when_the_customer_prefers_it(
    client, agent, li_na
):
    li_na.preferred_channel = "sms"
    li_na.save(update_fields=["preferred_channel"])
    case = receive_case(by=agent, customer=li_na)

    said = read_out(panel(client, agent, case))

    assert "Sent to the customer by text message" in said


def test_the_panel_says_there_is_no_address_to_send_to_for_a_landline_only_customer(client, agent):
    case = receive_case(by=agent, customer=CustomerFactory(email="", phone="+861012345678"))

    said = read_out(panel(client, agent, case))

    assert "We have no email address or mobile number for the customer" in said
    assert "Emailed to the customer" not in said
    assert "text message" not in said
    assert case.reference in said


@pytest.mark.parametrize("step", [Step.ANALYSE, Step.DECIDE])
def test_the_panel_no_longer_shows_the_acknowledgement_from_analysis_on(
    client, agent, after_sales, li_na, step
):
    case = receive_case(by=agent, customer=li_na)
    walk(case, to=step, by=agent, department=after_sales, person=agent)

    html = panel(client, agent, case)

    assert read_out(html) is None
    assert 'data-testid="renew-tracking-link"' in html
