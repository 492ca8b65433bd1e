""" "Lost your link?" (/t/lost/): the case's reference and the customer's email address or phone
number get one new tracking link, sent to that contact (an email address by email, a mobile
number by SMS) as a notice; the answer is the same page whether or not anything matched, so the
form tells nobody which references exist. Rate-limited per address, CSRF-checked, never indexed
or cached, and on the case's timeline.

Email goes to Django's in-memory mailer, SMS to ``conversation.sms.outbox``; the test broker
only queues tasks, and ``ask`` runs what was queued as a worker would."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from celery.signals import before_task_publish
from django.conf import settings
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from complaints.models import Case, CaseEvent, Step, TrackingToken
from conversation import sms
from conversation.models import Channel, Notice, NoticeKind
from conversation.tasks import deliver_notices

from ..factories import CustomerFactory, receive, walk

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 11, 5, 9, 30, tzinfo=UTC)
LOST = "/t/lost/"
PAGE = "/t/"
DELIVER = "conversation.deliver_notices"
EMAIL = "li.na@example.com"
PHONE = "+8613800138000"
LANDLINE = "+861012345678"  # a Beijing fixed line: it cannot take a text message


# ---------------------------------------------------------------- helpers


def link_token(text: str) -> str:
    """The token of the one tracking link in a message."""
    tokens = re.findall(re.escape(settings.SITE_URL) + r"/t/([A-Za-z0-9_-]+)", text)
    assert len(tokens) == 1, text
    return tokens[0]


def opens(token: str) -> Case | None:
    """The case the customer sees when they follow the link in a fresh browser; None when the
    link opens nothing."""
    browser = Client()
    opened = browser.get(f"/t/{token}")
    if opened.status_code == 404:
        return None
    assert opened.status_code == 303
    page = browser.get(PAGE)
    assert page.status_code == 200
    return Case.objects.get(reference=page.context["case"].reference)


def text(response) -> str:
    return response.content.decode()


def page_body(response) -> str:
    """The body with what differs on every response blanked out (the CSRF tokens, the address
    the language switcher returns to)."""
    body = re.sub(
        r'(X-CSRFToken": "|name="csrfmiddlewaretoken" value=")[^"]*', r"\1-", text(response)
    )
    return re.sub(r'(name="next" type="hidden" value=")[^"]*', r"\1-", body)


def sent() -> list[tuple[str, str]]:
    """Every message that went out, as (channel, address)."""
    return [("email", to) for message in mail.outbox for to in message.to] + [
        ("sms", message.to) for message in sms.outbox
    ]


def lost_link_notices() -> list[Notice]:
    return list(Notice.objects.filter(kind=NoticeKind.LOST_LINK))


# ---------------------------------------------------------------- fixtures


@pytest.fixture(autouse=True)
def _sms_outbox_cleared():
    sms.outbox.clear()
    yield
    sms.outbox.clear()


@pytest.fixture
def queued():
    """The tasks published to the broker, as (task name, args): what a worker would get."""
    published: list[tuple[str, tuple]] = []

    def record(sender=None, body=None, headers=None, **kwargs):
        args, _kwargs, _embed = body
        published.append((headers["task"], tuple(args)))

    before_task_publish.connect(record, weak=False)
    yield published
    before_task_publish.disconnect(record)


@pytest.fixture
def worker(queued):
    """Runs the tasks queued so far, once each, as a Celery worker would."""

    def run() -> None:
        while queued:
            name, args = queued.pop(0)
            assert name == DELIVER
            result = deliver_notices.apply(args=args)
            assert result.successful(), result.traceback

    return run


@pytest.fixture
def clock(time_machine):
    """Time held still at T0: every request in one rate-limit minute."""
    time_machine.move_to(T0, tick=False)


@pytest.fixture
def li_na(db):
    """A customer with an email address and a mobile number."""
    return CustomerFactory(name="Li Na", email=EMAIL, phone=PHONE)


@pytest.fixture
def received(agent, li_na):
    """Li Na's complaint, logged by the agent; its acknowledgement written but never queued
    (the test's transaction does not commit), so the outboxes start empty."""
    return receive(by=agent, customer=li_na)


@pytest.fixture
def case(received) -> Case:
    return received.case


@pytest.fixture
def ask(client, worker, django_capture_on_commit_callbacks):
    """The customer asks for a new link on /t/lost/; the worker then does what was queued."""

    def post(reference: str, contact: str, **extra):
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(LOST, {"reference": reference, "contact": contact}, **extra)
        worker()
        return response

    return post


@pytest.fixture
def sent_page(ask, case):
    """The page shown after a request that matched, as the customer saw it."""
    response = ask(case.reference, EMAIL)
    assert response.status_code == 200
    assert len(mail.outbox) == 1
    mail.outbox.clear()
    return page_body(response)


# ---------------------------------------------------------------- the form


def test_lost_link_form_opens(client, db):
    response = client.get(LOST)

    assert response.status_code == 200
    assert 'data-testid="tracking-lost"' in text(response)
    assert 'name="reference"' in text(response)
    assert 'name="contact"' in text(response)


def test_not_found_page_links_to_the_lost_link_form(client, db):
    response = client.get("/t/" + "A" * 43)

    assert response.status_code == 404
    assert f'href="{LOST}"' in text(response)


# ---------------------------------------------------------------- a request that matches


def test_reference_and_email_get_one_new_link_by_email(ask, case):
    response = ask(case.reference, EMAIL)

    assert response.status_code == 200
    assert 'data-testid="tracking-lost-sent"' in text(response)
    assert sent() == [("email", EMAIL)]
    assert mail.outbox[0].subject == f"Your link to complaint {case.reference}"
    assert opens(link_token(mail.outbox[0].body)) == case
    [notice] = lost_link_notices()
    assert (notice.case, notice.channel, notice.address, notice.status) == (
        case,
        Channel.EMAIL,
        EMAIL,
        Notice.Status.SENT,
    )


def test_lost_link_email_greets_the_customer_and_does_not_say_old_links_stopped(ask, case):
    ask(case.reference, EMAIL)

    body = mail.outbox[0].body
    assert body.startswith("Dear Li Na,")
    assert case.reference in body
    assert "no longer work" not in body  # a lost link revokes nothing


def test_reference_and_email_match_whatever_their_case(ask, case):
    ask(f"  {case.reference.lower()} ", "  LI.NA@Example.COM ")

    assert sent() == [("email", EMAIL)]


@pytest.mark.parametrize("phone", ["138 0013 8000", "+86 138-0013-8000", "13800138000", PHONE])
def test_reference_and_mobile_number_in_any_format_send_the_link_by_sms_to_that_number(
    ask, case, phone
):
    ask(case.reference, phone)

    assert sent() == [("sms", PHONE)]
    message = sms.outbox[0]
    assert message.text.startswith(f"Your link to complaint {case.reference}: ")
    assert opens(link_token(message.text)) == case
    [notice] = lost_link_notices()
    assert (notice.channel, notice.address) == (Channel.SMS, PHONE)


def test_a_customer_who_prefers_sms_but_types_their_email_gets_the_link_by_email(ask, case):
    case.customer.preferred_channel = "sms"
    case.customer.save(update_fields=["preferred_channel"])

    ask(case.reference, EMAIL)

    assert sent() == [("email", EMAIL)]


def test_a_landline_typed_sends_the_link_to_the_customers_email_on_file(ask, agent):
    # A fixed line cannot take a text; the link goes to the customer's own email instead.
    customer = CustomerFactory(name="Zhang Min", email="zhang@example.com", phone=LANDLINE)
    case = receive(by=agent, customer=customer).case

    ask(case.reference, "010 1234 5678")

    assert sent() == [("email", "zhang@example.com")]
    assert opens(link_token(mail.outbox[0].body)) == case


def test_the_new_link_is_written_in_the_customers_language(ask, case):
    case.customer.language = "zh-hans"
    case.customer.save(update_fields=["language"])

    ask(case.reference, EMAIL, HTTP_ACCEPT_LANGUAGE="en")

    [notice] = lost_link_notices()
    assert notice.language == "zh-hans"


def test_a_new_link_leaves_the_old_links_working(ask, received):
    ask(received.case.reference, EMAIL)
    first = link_token(mail.outbox[0].body)
    mail.outbox.clear()

    ask(received.case.reference, EMAIL)
    new = link_token(mail.outbox[0].body)

    assert len({new, first, received.tracking_token}) == 3
    for token in (new, first, received.tracking_token):
        assert opens(token) == received.case


def test_a_case_closed_within_the_days_allowed_still_gets_a_new_link(
    ask, agent, li_na, after_sales
):
    closing = timezone.now() - timedelta(days=settings.TRACKING_LINK_DAYS_AFTER_CLOSE - 1)
    with time_machine.travel(closing, tick=False):
        case = receive(by=agent, customer=li_na).case
        walk(case, to=Step.CLOSED, by=agent, department=after_sales, person=agent)

    ask(case.reference, EMAIL)

    assert sent() == [("email", EMAIL)]
    assert opens(link_token(mail.outbox[0].body)) == case


def test_the_request_is_on_the_cases_timeline_with_its_notice(client, ask, case, agent):
    ask(case.reference, PHONE)

    event = case.events.get(kind=CaseEvent.Kind.LINK_REQUESTED)
    assert (event.by_customer, event.actor, event.changes) == (
        True,
        None,
        {"contact": [None, "sms"]},
    )
    client.force_login(agent)
    page = text(client.get(reverse("complaints:case_detail", args=[case.reference])))
    [item] = re.findall(
        r'<li class="event[^"]*" data-kind="link_requested".*?</li>\s*</ul>', page, re.S
    )
    assert "Tracking link asked for again" in item
    assert "The customer" in item
    assert 'data-notice-kind="lost_link" data-status="sent" data-channel="sms"' in item
    assert "+86138****8000" in item
    assert PHONE not in item


# ---------------------------------------------------------------- a request that matches nothing


def _wrong_reference(case, agent, after_sales):
    return "C209901-00001", EMAIL


def _another_cases_reference(case, agent, after_sales):
    other = receive(by=agent, customer=CustomerFactory()).case
    return other.reference, EMAIL


def _wrong_email(case, agent, after_sales):
    return case.reference, "someone.else@example.com"


def _wrong_phone(case, agent, after_sales):
    return case.reference, "139 0000 0000"


def _malformed_phone(case, agent, after_sales):
    return case.reference, "12"


def _not_a_phone_or_email(case, agent, after_sales):
    return case.reference, "li.na at example"


def _malformed_email(case, agent, after_sales):
    return case.reference, "li.na@"


def _expired_case(case, agent, after_sales):
    closing = timezone.now() - timedelta(days=settings.TRACKING_LINK_DAYS_AFTER_CLOSE, minutes=1)
    with time_machine.travel(closing, tick=False):
        old = receive(by=agent, customer=case.customer).case
        walk(old, to=Step.CLOSED, by=agent, department=after_sales, person=agent)
    return old.reference, EMAIL


@pytest.mark.parametrize(
    "asking",
    [
        _wrong_reference,
        _another_cases_reference,
        _wrong_email,
        _wrong_phone,
        _malformed_phone,
        _not_a_phone_or_email,
        _malformed_email,
        _expired_case,
    ],
)
def test_a_request_that_matches_nothing_sends_nothing_and_gets_the_same_page(
    ask, sent_page, case, agent, after_sales, asking
):
    reference, contact = asking(case, agent, after_sales)
    links, notices = TrackingToken.objects.count(), len(lost_link_notices())
    requests = CaseEvent.objects.filter(kind=CaseEvent.Kind.LINK_REQUESTED).count()

    response = ask(reference, contact)

    assert response.status_code == 200
    assert page_body(response) == sent_page
    assert sent() == []
    assert len(lost_link_notices()) == notices
    assert CaseEvent.objects.filter(kind=CaseEvent.Kind.LINK_REQUESTED).count() == requests
    assert TrackingToken.objects.count() == links


def test_a_customer_with_only_a_landline_gets_nothing_and_the_same_page(ask, sent_page, agent):
    other = receive(by=agent, customer=CustomerFactory(email="", phone=LANDLINE)).case
    links = TrackingToken.objects.filter(case=other).count()

    response = ask(other.reference, "010 1234 5678")

    assert page_body(response) == sent_page
    assert sent() == []
    assert TrackingToken.objects.filter(case=other).count() == links
    # The timeline says it was asked for, and that the customer could not be told.
    [notice] = Notice.objects.filter(kind=NoticeKind.LOST_LINK, case=other)
    assert (notice.case, notice.status, notice.skipped_because) == (
        other,
        Notice.Status.SKIPPED,
        Notice.Skip.NO_ADDRESS,
    )


def test_a_request_without_a_contact_shows_the_form_again_and_sends_nothing(ask, case):
    response = ask(case.reference, "")

    assert response.status_code == 400
    assert 'data-testid="tracking-lost"' in text(response)
    assert sent() == []
    assert lost_link_notices() == []


def test_the_lost_link_form_checks_the_csrf_token(
    case, queued, worker, django_capture_on_commit_callbacks
):
    browser = Client(enforce_csrf_checks=True)

    with django_capture_on_commit_callbacks(execute=True):
        refused = browser.post(LOST, {"reference": case.reference, "contact": EMAIL})
    assert refused.status_code == 403
    assert queued == []
    assert lost_link_notices() == []

    browser.get(LOST)
    with django_capture_on_commit_callbacks(execute=True):
        accepted = browser.post(
            LOST,
            {
                "reference": case.reference,
                "contact": EMAIL,
                "csrfmiddlewaretoken": browser.cookies[settings.CSRF_COOKIE_NAME].value,
            },
        )
    assert accepted.status_code == 200
    [notice] = lost_link_notices()
    assert queued == [(DELIVER, ([notice.pk],))]
    worker()
    assert sent() == [("email", EMAIL)]


# ---------------------------------------------------------------- the rate limit


def test_requests_beyond_the_limit_from_one_address_are_refused(clock, ask, case):
    for _ in range(settings.LOST_LINK_RATE_LIMIT):
        assert ask(case.reference, EMAIL, REMOTE_ADDR="203.0.113.7").status_code == 200
    assert len(mail.outbox) == settings.LOST_LINK_RATE_LIMIT
    mail.outbox.clear()

    response = ask(case.reference, PHONE, REMOTE_ADDR="203.0.113.7")

    assert response.status_code == 429
    assert response["Retry-After"] == "60"
    assert sent() == []
    assert len(lost_link_notices()) == settings.LOST_LINK_RATE_LIMIT


def test_the_limit_is_per_address(clock, ask, case, settings):
    settings.LOST_LINK_RATE_LIMIT = 1
    ask(case.reference, EMAIL, REMOTE_ADDR="203.0.113.7")
    assert ask(case.reference, EMAIL, REMOTE_ADDR="203.0.113.7").status_code == 429

    assert ask(case.reference, EMAIL, REMOTE_ADDR="198.51.100.2").status_code == 200
    assert len(mail.outbox) == 2


def test_the_limit_lifts_after_the_minute(clock, ask, case, settings, time_machine):
    settings.LOST_LINK_RATE_LIMIT = 1
    ask(case.reference, EMAIL)
    assert ask(case.reference, EMAIL).status_code == 429

    time_machine.move_to(T0 + timedelta(minutes=1), tick=False)

    assert ask(case.reference, EMAIL).status_code == 200
    assert len(mail.outbox) == 2


# ---------------------------------------------------------------- headers


def _form(client, case, settings):
    return client.get(LOST)


def _sent(client, case, settings):
    return client.post(LOST, {"reference": case.reference, "contact": EMAIL})


def _invalid(client, case, settings):
    return client.post(LOST, {"reference": case.reference, "contact": ""})


def _too_many(client, case, settings):
    settings.LOST_LINK_RATE_LIMIT = 0
    return client.post(LOST, {"reference": case.reference, "contact": EMAIL})


@pytest.mark.parametrize(
    ("answer", "status"),
    [
        pytest.param(_form, 200, id="form"),
        pytest.param(_sent, 200, id="sent"),
        pytest.param(_invalid, 400, id="invalid"),
        pytest.param(_too_many, 429, id="too-many"),
    ],
)
def test_lost_link_pages_are_not_indexed_or_cached(client, case, settings, answer, status):
    response = answer(client, case, settings)

    assert response.status_code == status
    assert "noindex" in response["X-Robots-Tag"]
    assert response["Cache-Control"] == "no-store"
