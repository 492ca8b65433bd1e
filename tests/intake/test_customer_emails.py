"""The emails that carry a customer's tracking link: the acknowledgement every case gets when it
is received, and a new link for the customer who lost theirs (/t/lost/); and the acknowledgement
the agent reads out from the case page.

Email goes to Django's in-memory mailer (the test set-up swaps every mailer for it). The test
broker (memory://) only queues tasks: ``queued`` records what was published, and ``worker`` runs
it as a worker would. A mail server that is down is a real SMTP connection to a closed local
port; a broker that is down is a real Redis URL nothing listens on."""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
import time_machine
from celery.signals import before_task_publish, task_retry
from django.conf import settings
from django.core import mail
from django.core.management import call_command
from django.test import Client, override_settings
from django.urls import reverse
from django.utils import formats, timezone, translation

from complaints import customer_actions, services
from complaints.models import Case, Step, TrackingToken, tracking_digest
from escalation.models import Deadline, Milestone
from intake.emails import ACKNOWLEDGEMENT, LOST_LINK, tracking_link_email_send
from intake.tasks import send_tracking_link

from ..factories import CustomerFactory, active_digests, intake_form, walk
from ..outages import refusing_mailers

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 11, 5, 9, 30, tzinfo=UTC)  # a Thursday
LOST = "/t/lost/"
PAGE = "/t/"
TASK = "intake.send_tracking_link"
EMAIL = "li.na@example.com"
PHONE = "+8613800138000"
EMAILED_LINK = re.compile(r"^(?P<site>\S+)/t/(?P<token>\S+)$", re.MULTILINE)


# ---------------------------------------------------------------- helpers


def receive(*, by, customer) -> services.Received:
    """A complaint logged through the real intake service, with the agent's one-time token."""
    return services.case_receive(
        by=by,
        customer=customer,
        channel="phone",
        category="product_quality",
        urgency="yellow",
        product="Washing machine W-200",
        order_number="SO-1",
        description="The drum is loud.",
        desired_outcome="A repair.",
    )


def emailed_token(message) -> str:
    """The token of the one tracking link in an email."""
    links = EMAILED_LINK.findall(message.body)
    assert len(links) == 1, message.body
    site, token = links[0]
    assert site == settings.SITE_URL
    return token


def opens(token: str) -> Case | None:
    """The case the customer sees when they follow the link in a fresh browser: 303 to the
    tracking page, then the page itself. None when the link opens nothing."""
    browser = Client()
    opened = browser.get(f"/t/{token}")
    if opened.status_code == 404:
        return None
    assert opened.status_code == 303
    assert opened["Location"] == PAGE
    page = browser.get(PAGE)
    assert page.status_code == 200
    return Case.objects.get(reference=page.context["case"].reference)


def shown(value: datetime, language: str = "en") -> str:
    """A date and time as an email or page in ``language`` writes it."""
    with translation.override(language):
        return formats.date_format(timezone.localtime(value), "DATETIME_FORMAT")


def due(case: Case, milestone: str) -> datetime:
    return Deadline.objects.get(
        case=case, round=case.reopen_count, superseded_at=None, milestone=milestone
    ).due_at


def text(response) -> str:
    return response.content.decode()


def page_body(response) -> str:
    """The body with what differs on every response blanked out (the CSRF tokens, the address
    the language switcher returns to)."""
    body = re.sub(
        r'(X-CSRFToken": "|name="csrfmiddlewaretoken" value=")[^"]*', r"\1-", text(response)
    )
    return re.sub(r'(name="next" type="hidden" value=")[^"]*', r"\1-", body)


# ---------------------------------------------------------------- fixtures


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
            assert name == TASK
            result = send_tracking_link.apply(args=args)
            assert result.successful(), result.traceback

    return run


@pytest.fixture
def clock(time_machine):
    """Time held still at T0: the deadlines, and every request in one rate-limit minute."""
    time_machine.move_to(T0, tick=False)


@pytest.fixture
def li_na(db):
    """A customer with both an email address and a phone number."""
    return CustomerFactory(name="Li Na", email=EMAIL, phone=PHONE)


@pytest.fixture
def phone_only(db):
    return CustomerFactory(name="Wang Wei", email="", phone="+8613900139000")


@pytest.fixture
def received(agent, li_na, django_capture_on_commit_callbacks) -> services.Received:
    """Li Na's complaint, logged by the agent (its acknowledgement queued after commit)."""
    with django_capture_on_commit_callbacks(execute=True):
        return receive(by=agent, customer=li_na)


@pytest.fixture
def acknowledgement(clock, queued, worker, received):
    """The acknowledgement email of Li Na's complaint, as the worker sent it."""
    worker()
    assert len(mail.outbox) == 1
    return mail.outbox[0]


# ---------------------------------------------------------------- the acknowledgement is sent


def test_a_received_case_queues_its_acknowledgement_once_after_commit(
    agent, li_na, queued, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        case = receive(by=agent, customer=li_na).case
        assert queued == []  # nothing before the intake commits

    # Ids in, no token: the link is made when the email is sent.
    # In the language of the request that logged the case (the test client: English).
    assert queued == [(TASK, (case.pk, ACKNOWLEDGEMENT, "en"))]


def test_a_case_moving_on_is_not_acknowledged_again(
    agent, after_sales, li_na, queued, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        case = receive(by=agent, customer=li_na).case
    with django_capture_on_commit_callbacks(execute=True):
        walk(case, to=Step.ANALYSE, by=agent, department=after_sales, person=agent)

    # In the language of the request that logged the case (the test client: English).
    assert queued == [(TASK, (case.pk, ACKNOWLEDGEMENT, "en"))]


def test_a_rolled_back_intake_queues_nothing(agent, li_na, queued):
    # Without the on-commit callbacks run, the test's own transaction never commits.
    receive(by=agent, customer=li_na)

    assert queued == []
    assert mail.outbox == []


def test_the_acknowledgement_goes_to_the_customer_once(clock, queued, worker, received):
    worker()

    assert [message.to for message in mail.outbox] == [[EMAIL]]


def test_acknowledgement_subject_has_the_reference(acknowledgement, received):
    assert received.case.reference in acknowledgement.subject
    assert "\n" not in acknowledgement.subject


def test_acknowledgement_greets_the_customer_by_name_and_gives_the_reference(
    acknowledgement, received
):
    assert "Dear Li Na," in acknowledgement.body
    assert f"its reference number is {received.case.reference}" in acknowledgement.body


def test_acknowledgement_says_when_the_case_was_received(acknowledgement):
    assert f"We received your complaint on {shown(T0)}" in acknowledgement.body


def test_acknowledgement_gives_the_plan_by_date_of_the_decided_deadline(acknowledgement, received):
    plan_by = due(received.case, Milestone.DECIDED)

    assert plan_by == T0 + timedelta(days=1)  # the default 1/3/7-day policy
    assert f"By {shown(plan_by)} we will have looked into it" in acknowledgement.body


def test_acknowledgement_gives_the_handled_by_date_of_the_closed_deadline(
    acknowledgement, received
):
    handled_by = due(received.case, Milestone.CLOSED)

    assert handled_by == T0 + timedelta(days=7)
    assert f"fully handled by {shown(handled_by)}" in acknowledgement.body


def test_acknowledgement_link_opens_the_tracking_page_of_the_case(acknowledgement, received):
    token = emailed_token(acknowledgement)

    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", token)
    assert opens(token) == received.case


def test_the_emailed_token_is_kept_nowhere_but_in_the_email(
    clock, agent, li_na, queued, worker, django_capture_on_commit_callbacks, caplog
):
    caplog.set_level(logging.DEBUG)
    with django_capture_on_commit_callbacks(execute=True):
        case = receive(by=agent, customer=li_na).case
    published = repr(queued)
    worker()
    token = emailed_token(mail.outbox[0])
    dump = StringIO()
    call_command("dumpdata", stdout=dump)

    assert token not in dump.getvalue()
    assert token not in published
    assert token not in caplog.text
    assert tracking_digest(token) in active_digests(case)  # only its SHA-256


def test_the_emailed_link_is_a_new_link_beside_the_agents(acknowledgement, received):
    token = emailed_token(acknowledgement)

    assert token != received.tracking_token
    assert active_digests(received.case) == {
        tracking_digest(received.tracking_token),
        tracking_digest(token),
    }
    assert opens(received.tracking_token) == received.case
    assert opens(token) == received.case


def test_renewing_the_link_revokes_the_emailed_one_too(acknowledgement, received, agent):
    token = emailed_token(acknowledgement)

    renewed = customer_actions.case_tracking_renew(case=received.case, by=agent)

    assert opens(token) is None
    assert opens(received.tracking_token) is None
    assert opens(renewed) == received.case


def test_no_acknowledgement_for_a_customer_without_an_email_address(
    agent, phone_only, queued, worker, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        receive(by=agent, customer=phone_only)
    worker()

    assert queued == []
    assert mail.outbox == []


def test_sending_to_a_customer_without_an_email_address_sends_nothing_and_makes_no_link(
    agent, phone_only
):
    case = receive(by=agent, customer=phone_only).case
    links = TrackingToken.objects.count()

    assert tracking_link_email_send(case_id=case.pk, kind=ACKNOWLEDGEMENT) is False

    assert mail.outbox == []
    assert TrackingToken.objects.count() == links


# ---------------------------------------------------------------- a case logged on the screen


def test_a_case_logged_on_the_new_complaint_screen_is_acknowledged(
    client, agent, queued, worker, django_capture_on_commit_callbacks
):
    client.force_login(agent)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/intake/new/", intake_form(email="Li.Na@Example.com"))
    assert response.status_code == 302
    case = Case.objects.get()
    # In the language of the request that logged the case (the test client: English).
    assert queued == [(TASK, (case.pk, ACKNOWLEDGEMENT, "en"))]
    worker()

    assert [message.to for message in mail.outbox] == [[EMAIL]]
    assert case.reference in mail.outbox[0].subject
    assert opens(emailed_token(mail.outbox[0])) == case


def test_a_case_logged_on_the_screen_with_only_a_phone_gets_no_email(
    client, agent, queued, django_capture_on_commit_callbacks
):
    client.force_login(agent)

    with django_capture_on_commit_callbacks(execute=True):
        client.post("/intake/new/", intake_form(email=""))

    assert Case.objects.count() == 1
    assert queued == []
    assert mail.outbox == []


# ---------------------------------------------------------------- the broker or mail server down


def test_with_the_broker_down_the_acknowledgement_is_sent_directly(
    agent, li_na, broker_down, django_capture_on_commit_callbacks, caplog
):
    with (
        caplog.at_level(logging.WARNING, logger="intake.emails"),
        django_capture_on_commit_callbacks(execute=True),
    ):
        case = receive(by=agent, customer=li_na).case

    assert "Broker unreachable" in caplog.text
    assert [message.to for message in mail.outbox] == [[EMAIL]]
    assert case.reference in mail.outbox[0].subject
    assert opens(emailed_token(mail.outbox[0])) == case


def test_with_the_broker_and_the_mail_server_down_the_intake_still_succeeds(
    agent, li_na, broker_down, django_capture_on_commit_callbacks, caplog
):
    with (
        override_settings(MAILERS=refusing_mailers()),
        caplog.at_level(logging.WARNING, logger="intake.emails"),
        django_capture_on_commit_callbacks(execute=True),
    ):
        case = receive(by=agent, customer=li_na).case

    assert "could not be sent" in caplog.text
    assert mail.outbox == []
    assert TrackingToken.objects.filter(case=case).count() == 1  # the agent's link only


def test_a_failed_send_raises_and_leaves_no_new_link(received):
    case = received.case
    before = active_digests(case)

    with override_settings(MAILERS=refusing_mailers()), pytest.raises(OSError):
        send_tracking_link(case.pk, ACKNOWLEDGEMENT, None)

    assert mail.outbox == []
    assert TrackingToken.objects.filter(case=case).count() == 1
    assert active_digests(case) == before


def test_the_task_retries_a_send_the_mail_server_refused(received):
    retries = []

    def record(sender=None, **kwargs):
        retries.append(kwargs["reason"])

    task_retry.connect(record, weak=False)
    try:
        with override_settings(MAILERS=refusing_mailers()):
            result = send_tracking_link.apply(args=(received.case.pk, ACKNOWLEDGEMENT, None))
    finally:
        task_retry.disconnect(record)

    # Run eagerly, the retries follow at once; a worker waits with backoff between them.
    assert len(retries) == send_tracking_link.max_retries
    assert all(isinstance(reason.exc, OSError) for reason in retries)
    assert result.failed()
    assert isinstance(result.result, OSError)
    assert TrackingToken.objects.filter(case=received.case).count() == 1


def test_a_retried_send_that_succeeds_sends_one_working_link(received):
    with override_settings(MAILERS=refusing_mailers()), pytest.raises(OSError):
        send_tracking_link(received.case.pk, ACKNOWLEDGEMENT, None)

    send_tracking_link(received.case.pk, ACKNOWLEDGEMENT, None)

    assert len(mail.outbox) == 1
    assert TrackingToken.objects.filter(case=received.case).count() == 2
    assert opens(emailed_token(mail.outbox[0])) == received.case


def test_an_unknown_kind_of_email_is_refused(received):
    with pytest.raises(ValueError):
        tracking_link_email_send(case_id=received.case.pk, kind="newsletter")

    assert mail.outbox == []


# ---------------------------------------------------------------- language


def test_the_acknowledgement_in_chinese_writes_dates_the_chinese_way(clock, received):
    # The email's sentences are not translated yet (locale/zh_Hans has none of them), so only
    # what Django itself translates, the date format, can be checked.
    tracking_link_email_send(case_id=received.case.pk, kind=ACKNOWLEDGEMENT, language="zh-hans")

    body = mail.outbox[0].body
    assert shown(due(received.case, Milestone.DECIDED), "zh-hans") == "2026年11月6日 09:30"
    assert "2026年11月6日 09:30" in body
    assert shown(due(received.case, Milestone.CLOSED), "zh-hans") in body
    assert "Nov. 6, 2026" not in body


# ---------------------------------------------------------------- lost link


@pytest.fixture
def ask(client, queued, worker, django_capture_on_commit_callbacks):
    """The customer asks for a new link on /t/lost/; the worker then does what was queued."""

    def post(reference: str, contact: str, **extra):
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(LOST, {"reference": reference, "contact": contact}, **extra)
        worker()
        return response

    return post


@pytest.fixture
def case(queued, received) -> Case:
    """Li Na's complaint, its acknowledgement left unsent (the outbox starts empty)."""
    queued.clear()
    return received.case


@pytest.fixture
def sent_page(ask, case):
    """The page shown after a request that matched, as the customer saw it."""
    response = ask(case.reference, EMAIL)
    assert response.status_code == 200
    assert len(mail.outbox) == 1
    mail.outbox.clear()
    return page_body(response)


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


def test_reference_and_email_get_one_new_link_by_email(ask, case):
    response = ask(case.reference, EMAIL)

    assert response.status_code == 200
    assert 'data-testid="tracking-lost-sent"' in text(response)
    assert [message.to for message in mail.outbox] == [[EMAIL]]
    assert case.reference in mail.outbox[0].subject
    assert opens(emailed_token(mail.outbox[0])) == case


def test_lost_link_email_greets_the_customer_and_does_not_say_old_links_stopped(ask, case):
    ask(case.reference, EMAIL)

    body = mail.outbox[0].body
    assert "Dear Li Na," in body
    assert case.reference in body
    assert "no longer work" not in body  # a lost link revokes nothing


def test_reference_and_email_match_whatever_their_case(ask, case):
    ask(f"  {case.reference.lower()} ", "  LI.NA@Example.COM ")

    assert [message.to for message in mail.outbox] == [[EMAIL]]


@pytest.mark.parametrize("phone", ["138 0013 8000", "+86 138-0013-8000", "13800138000", PHONE])
def test_reference_and_phone_in_any_format_send_the_link_to_the_email_on_file(ask, case, phone):
    ask(case.reference, phone)

    assert [message.to for message in mail.outbox] == [[EMAIL]]
    assert opens(emailed_token(mail.outbox[0])) == case


def test_the_lost_link_task_carries_the_language_the_customer_asked_in(
    client, case, queued, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            LOST, {"reference": case.reference, "contact": EMAIL}, HTTP_ACCEPT_LANGUAGE="zh-hans"
        )

    assert queued == [(TASK, (case.pk, LOST_LINK, "zh-hans"))]


def test_a_new_link_leaves_the_old_links_working(ask, acknowledgement, received):
    first = emailed_token(acknowledgement)
    mail.outbox.clear()

    ask(received.case.reference, EMAIL)
    new = emailed_token(mail.outbox[0])

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

    assert [message.to for message in mail.outbox] == [[EMAIL]]


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

    response = ask(reference, contact)

    assert response.status_code == 200
    assert page_body(response) == sent_page
    assert mail.outbox == []


def test_a_customer_without_an_email_address_gets_nothing_and_the_same_page(
    ask, sent_page, agent, phone_only
):
    other = receive(by=agent, customer=phone_only).case
    links = TrackingToken.objects.filter(case=other).count()

    response = ask(other.reference, "139 0013 9000")

    assert page_body(response) == sent_page
    assert mail.outbox == []
    assert TrackingToken.objects.filter(case=other).count() == links


def test_a_request_without_a_contact_shows_the_form_again_and_sends_nothing(ask, case):
    response = ask(case.reference, "")

    assert response.status_code == 400
    assert 'data-testid="tracking-lost"' in text(response)
    assert mail.outbox == []


def test_the_lost_link_form_checks_the_csrf_token(case, queued, django_capture_on_commit_callbacks):
    browser = Client(enforce_csrf_checks=True)

    with django_capture_on_commit_callbacks(execute=True):
        refused = browser.post(LOST, {"reference": case.reference, "contact": EMAIL})
    assert refused.status_code == 403
    assert queued == []

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
    assert queued == [(TASK, (case.pk, LOST_LINK, "en"))]


def test_requests_beyond_the_limit_from_one_address_are_refused(clock, ask, case):
    for _ in range(settings.LOST_LINK_RATE_LIMIT):
        assert ask(case.reference, EMAIL, REMOTE_ADDR="203.0.113.7").status_code == 200
    assert len(mail.outbox) == settings.LOST_LINK_RATE_LIMIT
    mail.outbox.clear()

    response = ask(case.reference, EMAIL, REMOTE_ADDR="203.0.113.7")

    assert response.status_code == 429
    assert response["Retry-After"] == "60"
    assert mail.outbox == []


def test_the_limit_is_per_address(clock, ask, case, settings):
    settings.LOST_LINK_RATE_LIMIT = 1
    ask(case.reference, EMAIL, REMOTE_ADDR="203.0.113.7")
    assert ask(case.reference, EMAIL, REMOTE_ADDR="203.0.113.7").status_code == 429

    assert ask(case.reference, EMAIL, REMOTE_ADDR="198.51.100.2").status_code == 200


def test_the_limit_lifts_after_the_minute(clock, ask, case, settings, time_machine):
    settings.LOST_LINK_RATE_LIMIT = 1
    ask(case.reference, EMAIL)
    assert ask(case.reference, EMAIL).status_code == 429

    time_machine.move_to(T0 + timedelta(minutes=1), tick=False)

    assert ask(case.reference, EMAIL).status_code == 200


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


# ---------------------------------------------------------------- the agent reads it out


def panel(client, user, case: Case) -> str:
    client.force_login(user)
    response = client.get(reverse("complaints:case_detail", args=[case.reference]))
    assert response.status_code == 200
    match = re.search(
        r'<article data-testid="tracking-link-panel">(.*?)</article>', text(response), re.DOTALL
    )
    assert match, "no tracking-link panel"
    return match.group(1)


def read_out(panel_html: str) -> str | None:
    match = re.search(r'data-testid="acknowledgement">(.*?)</section>', panel_html, re.DOTALL)
    return " ".join(match.group(1).split()) if match else None


@pytest.mark.parametrize("step", [Step.RECEIVE, Step.LISTEN])
def test_the_panel_shows_the_acknowledgement_to_read_out_until_analysis(
    clock, client, agent, after_sales, li_na, step
):
    case = receive(by=agent, customer=li_na).case
    walk(case, to=step, by=agent, department=after_sales, person=agent)

    said = read_out(panel(client, agent, case))

    assert said is not None
    assert f"its reference number is {case.reference}" in said
    assert f"By {shown(due(case, Milestone.DECIDED))}" in said
    assert f"fully handled by {shown(due(case, Milestone.CLOSED))}" in said
    assert "Emailed to the customer" in said


@pytest.mark.parametrize("step", [Step.ANALYSE, Step.DECIDE])
def test_the_panel_no_longer_shows_the_acknowledgement_from_analysis_on(
    client, agent, after_sales, li_na, step
):
    case = receive(by=agent, customer=li_na).case
    walk(case, to=step, by=agent, department=after_sales, person=agent)

    html = panel(client, agent, case)

    assert read_out(html) is None
    assert 'data-testid="renew-tracking-link"' in html


def test_the_panel_says_the_customer_has_no_email_address(client, agent, phone_only):
    case = receive(by=agent, customer=phone_only).case

    said = read_out(panel(client, agent, case))

    assert "has no email address" in said
    assert "Emailed to the customer" not in said
    assert case.reference in said
