"""The acknowledgement every received case gets: a notice written in the intake's transaction,
queued once after the commit, sent by email (or SMS to a mobile number) with a tracking link
minted for it alone, in the customer's language; and what happens when the broker or the mail
server is down.

Email goes to Django's in-memory mailer, SMS to ``conversation.sms.outbox`` (``locmem://``). The
test broker (memory://) only queues tasks: ``queued`` records what was published, and ``worker``
runs it as a worker would. A mail server that is down is a real SMTP connection to a closed local
port; a broker that is down is a real Redis URL nothing listens on."""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
from celery.signals import before_task_publish
from django.conf import settings
from django.core import mail
from django.core.management import call_command
from django.db import transaction
from django.test import Client, override_settings
from django.utils import formats, timezone, translation

from complaints import customer_actions
from complaints.models import Case, Step, TrackingToken, tracking_digest
from conversation import sms
from conversation.models import Channel, Notice, NoticeKind
from conversation.tasks import deliver_notices, outbox, send_tracking_link
from escalation.models import Deadline, Milestone

from ..factories import CustomerFactory, active_digests, intake_form, receive, walk
from ..outages import refusing_mailers

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 11, 5, 9, 30, tzinfo=UTC)  # a Thursday
PAGE = "/t/"
DELIVER = "conversation.deliver_notices"
EMAIL = "li.na@example.com"
PHONE = "+8613800138000"
MOBILE = "+8613900139000"
LANDLINE = "+861012345678"  # a Beijing fixed line: it cannot take a text message


class RolledBack(Exception):
    pass


# ---------------------------------------------------------------- helpers


def link_token(text: str) -> str:
    """The token of the one tracking link in a message."""
    tokens = re.findall(re.escape(settings.SITE_URL) + r"/t/([A-Za-z0-9_-]+)", text)
    assert len(tokens) == 1, text
    return tokens[0]


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


def shown(value: datetime, language: str = "en", format: str = "DATETIME_FORMAT") -> str:
    """A moment as a notice in ``language`` writes it (in TIME_ZONE)."""
    with translation.override(language):
        return formats.date_format(timezone.localtime(value), format)


def due(case: Case, milestone: str) -> datetime:
    return Deadline.objects.get(
        case=case, round=case.reopen_count, superseded_at=None, milestone=milestone
    ).due_at


def acknowledgement_of(case: Case) -> Notice:
    return Notice.objects.get(case=case, kind=NoticeKind.ACKNOWLEDGEMENT)


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
    """Time held still at T0: the deadlines are known to the minute."""
    time_machine.move_to(T0, tick=False)


@pytest.fixture
def li_na(db):
    """A customer with both an email address and a mobile number (no channel preferred)."""
    return CustomerFactory(name="Li Na", email=EMAIL, phone=PHONE)


@pytest.fixture
def received(agent, li_na, django_capture_on_commit_callbacks):
    """Li Na's complaint, logged by the agent (its acknowledgement queued after commit)."""
    with django_capture_on_commit_callbacks(execute=True):
        return receive(by=agent, customer=li_na)


@pytest.fixture
def acknowledgement(clock, queued, worker, received):
    """The acknowledgement email of Li Na's complaint, as the worker sent it."""
    worker()
    assert len(mail.outbox) == 1
    return mail.outbox[0]


# ---------------------------------------------------------------- written once, queued once


def test_a_received_case_writes_its_acknowledgement_and_queues_it_once_after_commit(
    agent, li_na, queued, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        case = receive(by=agent, customer=li_na).case
        notice = acknowledgement_of(case)  # written in the intake's transaction
        assert queued == []  # queued only once it commits

    # Ids in, no token: the link is minted when the notice is sent.
    assert queued == [(DELIVER, ([notice.pk],))]
    notice.refresh_from_db()
    assert (notice.status, notice.channel, notice.address, notice.language) == (
        Notice.Status.PENDING,
        Channel.EMAIL,
        EMAIL,
        "en",
    )
    assert (notice.customer, notice.event.kind) == (li_na, "received")


def test_a_case_moving_on_is_not_acknowledged_again(
    agent, after_sales, li_na, queued, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        case = receive(by=agent, customer=li_na).case
    with django_capture_on_commit_callbacks(execute=True):
        walk(case, to=Step.ANALYSE, by=agent, department=after_sales, person=agent)

    assert list(Notice.objects.values_list("kind", flat=True)) == [NoticeKind.ACKNOWLEDGEMENT]
    assert queued == [(DELIVER, ([acknowledgement_of(case).pk],))]


def test_a_rolled_back_intake_writes_and_queues_nothing(
    agent, li_na, queued, worker, django_capture_on_commit_callbacks
):
    with (
        django_capture_on_commit_callbacks(execute=True),
        pytest.raises(RolledBack),
        transaction.atomic(),
    ):
        receive(by=agent, customer=li_na)
        raise RolledBack

    outbox.apply()
    assert Case.objects.count() == 0
    assert Notice.objects.count() == 0
    assert queued == []
    assert mail.outbox == []


# ---------------------------------------------------------------- what the customer gets


def test_the_acknowledgement_goes_to_the_customer_once(clock, queued, worker, received):
    worker()
    outbox.apply()  # the outbox job finds nothing left to send
    deliver_notices.apply(args=([acknowledgement_of(received.case).pk],))  # nor a task run twice

    assert [message.to for message in mail.outbox] == [[EMAIL]]
    notice = acknowledgement_of(received.case)
    assert (notice.status, notice.attempts, notice.sent_at, notice.next_attempt_at) == (
        Notice.Status.SENT,
        1,
        T0,
        None,
    )
    assert notice.provider_id == mail.outbox[0].extra_headers["Message-ID"]


def test_acknowledgement_subject_has_the_reference(acknowledgement, received):
    assert received.case.reference in acknowledgement.subject
    assert "\n" not in acknowledgement.subject


def test_acknowledgement_greets_the_customer_by_name_and_gives_the_reference(
    acknowledgement, received
):
    assert acknowledgement.body.startswith("Dear Li Na,")
    assert f"its reference number is {received.case.reference}" in acknowledgement.body


def test_acknowledgement_says_the_day_the_case_was_received(acknowledgement):
    assert shown(T0, format="DATE_FORMAT") == "Nov. 5, 2026"
    assert "We received your complaint on Nov. 5, 2026;" in acknowledgement.body


def test_acknowledgement_gives_the_plan_by_date_and_time_of_the_decided_deadline(
    acknowledgement, received
):
    plan_by = due(received.case, Milestone.DECIDED)

    assert plan_by == T0 + timedelta(days=1)  # the default 1/3/7-day policy
    assert shown(plan_by) == "Nov. 6, 2026, 9:30 a.m."
    assert f"By {shown(plan_by)} we will have looked into it" in acknowledgement.body


def test_acknowledgement_gives_the_handled_by_date_and_time_of_the_closed_deadline(
    acknowledgement, received
):
    handled_by = due(received.case, Milestone.CLOSED)

    assert handled_by == T0 + timedelta(days=7)
    assert f"fully handled by {shown(handled_by)}" in acknowledgement.body


def test_acknowledgement_is_essential_and_says_nothing_about_hearing_less(acknowledgement):
    assert "Only essential messages" not in acknowledgement.body


def test_acknowledgement_link_opens_the_tracking_page_of_the_case(acknowledgement, received):
    token = link_token(acknowledgement.body)

    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", token)
    assert opens(token) == received.case


def test_the_sent_token_is_kept_nowhere_but_in_the_message(
    clock, agent, li_na, queued, worker, django_capture_on_commit_callbacks, caplog
):
    caplog.set_level(logging.DEBUG)
    with django_capture_on_commit_callbacks(execute=True):
        case = receive(by=agent, customer=li_na).case
    published = repr(queued)
    worker()
    token = link_token(mail.outbox[0].body)
    dump = StringIO()
    call_command("dumpdata", stdout=dump)

    assert token not in dump.getvalue()
    assert token not in published
    assert token not in caplog.text
    assert tracking_digest(token) in active_digests(case)  # only its SHA-256


def test_the_notice_keeps_what_was_sent_with_the_link_masked(acknowledgement, received):
    notice = acknowledgement_of(received.case)
    token = link_token(acknowledgement.body)

    assert notice.subject == acknowledgement.subject
    assert token not in notice.text
    assert f"\n{settings.SITE_URL}/t/…\n" in notice.text
    assert notice.text == acknowledgement.body.replace(token, "…")


def test_the_sent_link_is_a_new_link_beside_the_agents(acknowledgement, received):
    token = link_token(acknowledgement.body)

    assert token != received.tracking_token
    assert active_digests(received.case) == {
        tracking_digest(received.tracking_token),
        tracking_digest(token),
    }
    assert opens(received.tracking_token) == received.case
    assert opens(token) == received.case


def test_renewing_the_link_revokes_the_sent_one_too(acknowledgement, received, agent):
    token = link_token(acknowledgement.body)

    renewed = customer_actions.case_tracking_renew(case=received.case, by=agent)

    assert opens(token) is None
    assert opens(received.tracking_token) is None
    assert opens(renewed) == received.case


# ---------------------------------------------------------------- no email address


def test_a_customer_with_only_a_mobile_number_is_acknowledged_by_sms(
    clock, agent, queued, worker, django_capture_on_commit_callbacks
):
    customer = CustomerFactory(name="Wang Wei", email="", phone=MOBILE)
    with django_capture_on_commit_callbacks(execute=True):
        case = receive(by=agent, customer=customer).case
    worker()

    assert mail.outbox == []
    [message] = sms.outbox
    assert message.to == MOBILE
    assert message.text.startswith(f"{case.reference}: we have your complaint")
    assert f"by {shown(due(case, Milestone.DECIDED))} at the latest" in message.text
    assert opens(link_token(message.text)) == case
    notice = acknowledgement_of(case)
    assert (notice.channel, notice.address, notice.status) == (
        Channel.SMS,
        MOBILE,
        Notice.Status.SENT,
    )


def test_a_customer_with_only_a_landline_gets_nothing_and_the_notice_says_why(
    agent, queued, worker, django_capture_on_commit_callbacks
):
    customer = CustomerFactory(name="Wang Wei", email="", phone=LANDLINE)
    with django_capture_on_commit_callbacks(execute=True):
        received = receive(by=agent, customer=customer)
    worker()
    outbox.apply()

    assert queued == []
    assert mail.outbox == []
    assert sms.outbox == []
    notice = acknowledgement_of(received.case)
    assert (notice.status, notice.skipped_because, notice.channel, notice.address) == (
        Notice.Status.SKIPPED,
        Notice.Skip.NO_ADDRESS,
        "",
        "",
    )
    assert notice.next_attempt_at is None
    # No link was made for a message that went nowhere: the agent's is the only one.
    assert active_digests(received.case) == {tracking_digest(received.tracking_token)}


# ---------------------------------------------------------------- the screens that log a case


def test_a_case_logged_on_the_new_complaint_screen_is_acknowledged(
    client, agent, queued, worker, django_capture_on_commit_callbacks
):
    client.force_login(agent)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/intake/new/", intake_form(email="Li.Na@Example.com"))
    assert response.status_code == 302
    case = Case.objects.get()
    assert queued == [(DELIVER, ([acknowledgement_of(case).pk],))]
    worker()

    assert [message.to for message in mail.outbox] == [[EMAIL]]
    assert case.reference in mail.outbox[0].subject
    assert opens(link_token(mail.outbox[0].body)) == case


def test_a_case_logged_on_the_screen_with_only_a_mobile_number_is_acknowledged_by_sms(
    client, agent, queued, worker, django_capture_on_commit_callbacks
):
    client.force_login(agent)

    with django_capture_on_commit_callbacks(execute=True):
        client.post("/intake/new/", intake_form(email=""))
    worker()

    case = Case.objects.get()
    assert mail.outbox == []
    assert [message.to for message in sms.outbox] == [PHONE]
    assert opens(link_token(sms.outbox[0].text)) == case


def test_a_complaint_sent_on_the_chinese_form_is_acknowledged_in_chinese(
    clock, client, queued, worker, django_capture_on_commit_callbacks
):
    form = {
        "name": "李娜",
        "phone": "",
        "email": EMAIL,
        "category": "product_quality",
        "description": "水壶底部漏水。",
        "desired_outcome": "换一个新的。",
        "website": "",
    }

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/complain/", form, HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert response.status_code == 303
    worker()

    case = Case.objects.get()
    assert case.customer.language == "zh-hans"
    assert acknowledgement_of(case).language == "zh-hans"
    assert shown(due(case, Milestone.DECIDED), "zh-hans") == "2026年11月6日 09:30"
    assert "2026年11月6日 09:30" in mail.outbox[0].body


# ---------------------------------------------------------------- the broker or mail server down


def test_with_the_broker_down_the_intake_succeeds_and_the_outbox_job_sends_it(
    agent, li_na, broker_down, django_capture_on_commit_callbacks, caplog
):
    with (
        caplog.at_level(logging.WARNING, logger="conversation.outbox"),
        django_capture_on_commit_callbacks(execute=True),
    ):
        case = receive(by=agent, customer=li_na).case

    assert "the outbox job will send them" in caplog.text
    assert mail.outbox == []
    assert acknowledgement_of(case).status == Notice.Status.PENDING

    assert outbox.apply().get() == 1

    assert [message.to for message in mail.outbox] == [[EMAIL]]
    assert case.reference in mail.outbox[0].subject
    assert opens(link_token(mail.outbox[0].body)) == case


def test_with_the_broker_and_the_mail_server_down_the_intake_still_succeeds(
    clock, agent, li_na, broker_down, django_capture_on_commit_callbacks
):
    with (
        override_settings(MAILERS=refusing_mailers()),
        django_capture_on_commit_callbacks(execute=True),
    ):
        received = receive(by=agent, customer=li_na)
        outbox.apply()

    assert Case.objects.get() == received.case
    assert mail.outbox == []
    notice = acknowledgement_of(received.case)
    assert (notice.status, notice.attempts) == (Notice.Status.PENDING, 1)
    assert active_digests(received.case) == {tracking_digest(received.tracking_token)}


def test_with_the_mail_server_down_the_notice_waits_with_the_error_and_its_link_revoked(
    clock, queued, worker, received
):
    with override_settings(MAILERS=refusing_mailers()):
        worker()

    assert mail.outbox == []
    notice = acknowledgement_of(received.case)
    assert (notice.status, notice.attempts, notice.sent_at) == (Notice.Status.PENDING, 1, None)
    assert "ConnectionRefusedError" in notice.last_error
    assert notice.next_attempt_at == T0 + timedelta(minutes=1)
    assert notice.text == ""  # nothing went out
    # The link minted for the failed attempt opens nothing; the agent's still works.
    assert TrackingToken.objects.filter(case=received.case).count() == 2
    assert active_digests(received.case) == {tracking_digest(received.tracking_token)}


def test_a_notice_the_mail_server_refused_is_sent_later_with_one_working_link(
    clock, queued, worker, received, time_machine
):
    with override_settings(MAILERS=refusing_mailers()):
        worker()
    outbox.apply()  # not due yet
    assert mail.outbox == []

    time_machine.move_to(T0 + timedelta(minutes=1), tick=False)
    outbox.apply()

    [message] = mail.outbox
    token = link_token(message.body)
    assert opens(token) == received.case
    notice = acknowledgement_of(received.case)
    assert (notice.status, notice.attempts, notice.last_error) == (Notice.Status.SENT, 2, "")
    assert TrackingToken.objects.filter(case=received.case).count() == 3
    assert active_digests(received.case) == {
        tracking_digest(received.tracking_token),
        tracking_digest(token),
    }


# ---------------------------------------------------------------- language


def test_the_acknowledgement_to_a_chinese_customer_writes_dates_the_chinese_way(
    clock, agent, queued, worker, django_capture_on_commit_callbacks
):
    # The notices' sentences are not translated yet (locale/zh_Hans has none of them), so only
    # what Django itself translates, the date format, can be checked.
    customer = CustomerFactory(name="李娜", email=EMAIL, phone=PHONE, language="zh-hans")
    with django_capture_on_commit_callbacks(execute=True):
        case = receive(by=agent, customer=customer).case
    worker()

    body = mail.outbox[0].body
    assert acknowledgement_of(case).language == "zh-hans"
    assert "2026年11月5日" in body  # received
    assert "2026年11月6日 09:30" in body  # plan by
    assert shown(due(case, Milestone.CLOSED), "zh-hans") == "2026年11月12日 09:30"
    assert "2026年11月12日 09:30" in body  # handled by
    assert "Nov." not in body


# ---------------------------------------------------------------- queued before the upgrade


def test_a_tracking_link_email_queued_before_notices_existed_is_sent_as_a_notice(
    clock, agent, li_na
):
    # Received without the commit: nothing queued, the acknowledgement's notice left pending.
    case = receive(by=agent, customer=li_na).case

    result = send_tracking_link.apply(args=(case.pk, "lost_link", "en"))

    assert result.get() == 1
    [message] = mail.outbox
    assert message.subject == f"Your link to complaint {case.reference}"
    assert opens(link_token(message.body)) == case
