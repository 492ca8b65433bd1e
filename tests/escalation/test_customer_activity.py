"""Staff emails about what the customer did are coalesced (``escalation.notifications``): the
first action writes one notification per handler of the case (its owner and responsible
person; with neither, the people ``tier_members`` falls back to), due
``CUSTOMER_ACTIVITY_DELAY`` later; what the customer does meanwhile adds nothing; the sweep then
sends one email listing it all, in order, with their words. What they do after that email was
sent makes a new one, listing only what is new."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from django.conf import settings
from django.core import mail
from django.urls import reverse
from django.utils import formats, timezone, translation

from complaints import customer_actions, services
from complaints.merging import case_merge
from complaints.models import Case, Step
from escalation.models import Notification
from escalation.notifications import CUSTOMER_ACTIVITY_DELAY, notifications_deliver
from escalation.sweep import sweep

from ..factories import CustomerFactory, receive_case, walk

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 11, 5, 9, 30, tzinfo=UTC)
QUESTION = "Will the engineer bring a new drum or repair the old one?"
AGAIN = "Also: could they come before noon?"
COMMENT = "Quick and polite."


# ---------------------------------------------------------------- helpers


def shown(moment: datetime) -> str:
    """A moment as the (English) staff email writes it."""
    with translation.override("en"):
        return formats.date_format(timezone.localtime(moment), "SHORT_DATETIME_FORMAT")


def customer_rows(case: Case) -> list[Notification]:
    return list(
        Notification.objects.filter(case=case, kind=Notification.Kind.CUSTOMER).order_by(
            "recipient__username", "pk"
        )
    )


def emails_to(person) -> list[mail.EmailMessage]:
    return [message for message in mail.outbox if message.to == [person.email]]


def activity(body: str) -> list[str]:
    """The lines of the email listing what the customer did."""
    return [line for line in body.splitlines() if line.startswith("- ")]


@pytest.fixture
def clock(time_machine):
    """Time held still at T0; ``clock(moment)`` moves it."""
    time_machine.move_to(T0, tick=False)

    def move(moment: datetime) -> None:
        time_machine.move_to(moment, tick=False)

    return move


@pytest.fixture
def at_confirm(clock, agent, handler, after_sales) -> Case:
    """A case the agent owns, the After-sales handler responsible, waiting at Confirm for the
    customer's answer (everything done at T0 - 1 hour; now is T0)."""
    clock(T0 - timedelta(hours=1))
    case = receive_case(by=agent)
    walk(case, to=Step.CONFIRM, by=agent, department=after_sales, person=handler)
    clock(T0)
    return case


@pytest.fixture
def busy_minute(clock, at_confirm) -> Case:
    """Within a minute the customer writes (T0), agrees at Confirm (T0 + 20 s) and rates it,
    satisfied (T0 + 40 s: their message still waits, so the case waits at Follow up)."""
    case = at_confirm
    customer_actions.case_customer_message(case=case, body=QUESTION)
    clock(T0 + timedelta(seconds=20))
    customer_actions.case_customer_answer(case=case, agree=True)
    clock(T0 + timedelta(seconds=40))
    customer_actions.case_customer_follow_up(
        case=case, handling=4, outcome=5, satisfied=True, comment=COMMENT
    )
    return case


# ---------------------------------------------------------------- one notification per handler


def test_a_busy_minute_of_the_customer_writes_one_notification_per_handler(
    busy_minute, agent, handler
):
    rows = customer_rows(busy_minute)

    assert [row.recipient for row in rows] == [agent, handler]
    assert {(row.created_at, row.next_attempt_at, row.sent_at) for row in rows} == {
        (T0, T0 + CUSTOMER_ACTIVITY_DELAY, None)
    }


def test_the_delay_is_three_minutes():
    assert timedelta(minutes=3) == CUSTOMER_ACTIVITY_DELAY


def test_nothing_is_sent_before_the_delay_is_up(clock, busy_minute):
    clock(T0 + CUSTOMER_ACTIVITY_DELAY - timedelta(seconds=1))

    sweep()

    assert mail.outbox == []
    assert all(row.sent_at is None for row in customer_rows(busy_minute))


def test_the_sweep_sends_one_email_per_handler_listing_the_three_actions_in_order(
    clock, busy_minute, agent, handler
):
    clock(T0 + CUSTOMER_ACTIVITY_DELAY)

    assert sweep().sent == 2

    for person in (agent, handler):
        [email] = emails_to(person)
        assert email.subject == f"[Heed] {busy_minute.reference}: the customer wrote"
        assert f"The customer wrote on case {busy_minute.reference}:" in email.body
        assert activity(email.body) == [
            f"- {shown(T0)} a message: {QUESTION}",
            f"- {shown(T0 + timedelta(seconds=20))} agreed with the decision",
            f"- {shown(T0 + timedelta(seconds=40))} rated it and is satisfied, but waits for "
            f"your answer: {COMMENT}",
        ]
        assert (
            "Their message has no answer yet: answer them with a message to the customer."
            in email.body
        )
    assert len(mail.outbox) == 2
    assert {row.sent_at for row in customer_rows(busy_minute)} == {T0 + CUSTOMER_ACTIVITY_DELAY}


def test_notifications_deliver_sends_the_email_once_it_is_due(clock, busy_minute, handler):
    assert notifications_deliver() == 0

    clock(T0 + CUSTOMER_ACTIVITY_DELAY)

    assert notifications_deliver() == 2
    [email] = emails_to(handler)
    assert len(activity(email.body)) == 3


def test_an_email_sent_after_the_answer_does_not_ask_for_one(clock, busy_minute, agent):
    services.case_add_note(case=busy_minute, by=agent, body="A new drum.", customer_visible=True)
    clock(T0 + CUSTOMER_ACTIVITY_DELAY)

    sweep()

    [email] = emails_to(agent)
    assert len(activity(email.body)) == 3
    assert "Their message has no answer yet" not in email.body


def test_activity_after_the_email_was_sent_makes_a_new_one_listing_only_what_is_new(
    clock, busy_minute, agent, handler
):
    clock(T0 + CUSTOMER_ACTIVITY_DELAY)
    sweep()
    mail.outbox.clear()
    later = T0 + timedelta(minutes=5)
    clock(later)

    customer_actions.case_customer_message(case=busy_minute, body=AGAIN)

    new = [row for row in customer_rows(busy_minute) if row.sent_at is None]
    assert [(row.recipient, row.next_attempt_at) for row in new] == [
        (agent, later + CUSTOMER_ACTIVITY_DELAY),
        (handler, later + CUSTOMER_ACTIVITY_DELAY),
    ]
    clock(later + CUSTOMER_ACTIVITY_DELAY)
    assert sweep().sent == 2
    for person in (agent, handler):
        [email] = emails_to(person)
        assert activity(email.body) == [f"- {shown(later)} a message: {AGAIN}"]


def test_the_customers_actions_on_the_tracking_page_make_one_email(clock, client, agent, handler):
    clock(T0 - timedelta(hours=1))
    received = services.case_receive(
        by=agent,
        customer=CustomerFactory(),
        channel="phone",
        category="product_quality",
        description="The drum is loud.",
        desired_outcome="A repair.",
    )
    case = received.case
    walk(case, to=Step.CONFIRM, by=agent, department=handler.department, person=handler)
    clock(T0)
    client.get(f"/t/{received.tracking_token}")

    assert client.post("/t/message/", {"body": QUESTION}).status_code == 303
    clock(T0 + timedelta(seconds=30))
    assert client.post("/t/answer/", {"agree": "yes", "reason": ""}).status_code == 303

    assert len(customer_rows(case)) == 2
    clock(T0 + CUSTOMER_ACTIVITY_DELAY)
    sweep()
    [email] = emails_to(handler)
    assert activity(email.body) == [
        f"- {shown(T0)} a message: {QUESTION}",
        f"- {shown(T0 + timedelta(seconds=30))} agreed with the decision",
    ]


# ---------------------------------------------------------------- cases nobody owns


@pytest.fixture
def from_the_public_form(clock) -> Case:
    """A complaint the customer sent through the public form an hour ago: nobody owns it, no
    department answers for it yet."""
    clock(T0 - timedelta(hours=1))
    received = customer_actions.case_receive_from_customer(
        customer=CustomerFactory(),
        category="product_quality",
        description="The kettle leaks.",
        desired_outcome="A new kettle.",
    )
    clock(T0)
    return received.case


def test_a_message_on_a_case_nobody_owns_goes_to_the_quality_manager(
    clock, from_the_public_form, quality_manager, department_head, agent
):
    customer_actions.case_customer_message(case=from_the_public_form, body=QUESTION)

    assert [row.recipient for row in customer_rows(from_the_public_form)] == [quality_manager]
    clock(T0 + CUSTOMER_ACTIVITY_DELAY)
    sweep()
    [email] = emails_to(quality_manager)
    assert activity(email.body) == [f"- {shown(T0)} a message: {QUESTION}"]
    assert emails_to(department_head) == emails_to(agent) == []


def test_a_message_on_a_case_handed_to_a_department_without_an_owner_goes_to_its_head(
    from_the_public_form, quality_manager, department_head, after_sales
):
    services.case_assign(case=from_the_public_form, by=quality_manager, department=after_sales)

    customer_actions.case_customer_message(case=from_the_public_form, body=QUESTION)

    assert [row.recipient for row in customer_rows(from_the_public_form)] == [department_head]


@pytest.mark.parametrize("persona", ["handler", "agent"])
def test_the_email_links_to_the_case_page_which_the_recipient_may_open(
    request, clock, client, busy_minute, persona
):
    person = request.getfixturevalue(persona)
    clock(T0 + CUSTOMER_ACTIVITY_DELAY)
    sweep()
    [email] = emails_to(person)

    link = re.search(rf"{re.escape(settings.SITE_URL)}(/cases/[^/\s]+/)", email.body).group(1)

    assert link == reverse("complaints:case_detail", args=[busy_minute.reference])
    client.force_login(person)
    assert client.get(link).status_code == 200


def test_the_fallback_recipient_may_open_the_case_page_of_the_email(
    clock, client, from_the_public_form, quality_manager
):
    customer_actions.case_customer_message(case=from_the_public_form, body=QUESTION)
    clock(T0 + CUSTOMER_ACTIVITY_DELAY)
    sweep()
    [email] = emails_to(quality_manager)

    link = re.search(rf"{re.escape(settings.SITE_URL)}(/cases/[^/\s]+/)", email.body).group(1)

    client.force_login(quality_manager)
    response = client.get(link)
    assert response.status_code == 200
    assert from_the_public_form.reference in response.content.decode()


def test_the_email_is_in_english_whatever_language_is_active(clock, busy_minute, handler):
    clock(T0 + CUSTOMER_ACTIVITY_DELAY)

    with translation.override("zh-hans"):
        sweep()

    [email] = emails_to(handler)
    assert email.subject == f"[Heed] {busy_minute.reference}: the customer wrote"
    assert "agreed with the decision" in email.body


# ---------------------------------------------------------------- a case merged into another


def test_the_absorbed_customers_message_is_told_to_the_survivors_handlers(
    clock, at_confirm, agent, handler
):
    absorbed = receive_case(by=agent, customer=CustomerFactory(name="Wang Fang"))
    case_merge(survivor=at_confirm, absorbed=absorbed, by=agent, note="The same order.")

    customer_actions.case_customer_message(case=absorbed, body=QUESTION)

    assert [row.recipient for row in customer_rows(at_confirm)] == [agent, handler]
    clock(T0 + CUSTOMER_ACTIVITY_DELAY)
    sweep()
    [email] = emails_to(handler)
    assert activity(email.body) == [f"- {shown(T0)} a message: {QUESTION}"]
