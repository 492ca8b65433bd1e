"""Sending the outbox: a sender claims the due notices under a lease and holds each one only while
its lease runs (renewed right before it is sent), so two senders never send one notice together,
and a sender killed mid-way leaves its rows to the next once the lease runs out (the one it was
sending may go twice, none is lost). A provider's refusal for good fails a notice at once; any
other failure is retried after 1, 2, 4 … minutes, up to ``MAX_ATTEMPTS``. Time is moved with
time-machine, never slept.

The mail servers here are stand-ins configured through ``MAILERS`` (one slow enough for another
sender to step in, one killed mid-send, one refusing an address); an SMS provider that is down
is a real HTTP client talking to a closed local port."""

from __future__ import annotations

import smtplib
from datetime import UTC, datetime, timedelta

import pytest
from django.core import mail
from django.core.mail.backends.base import BaseEmailBackend
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext

from complaints import services
from complaints.models import CaseEvent, TrackingToken
from conversation import sms
from conversation.models import Channel, Notice, NoticeKind
from conversation.outbox import MAX_ATTEMPTS, lease, notices_deliver
from conversation.tasks import outbox
from escalation.models import ScheduledJob

from ..factories import CustomerFactory, active_digests, receive, receive_case
from ..outages import closed_port

# The Twilio library logs each request's date with utcfromtimestamp, deprecated in Python 3.12.
pytestmark = [
    pytest.mark.django_db,
    pytest.mark.filterwarnings("ignore:datetime.datetime.utcfromtimestamp"),
]

T0 = datetime(2026, 11, 5, 9, 30, tzinfo=UTC)
MOBILE = "+8613800138000"
TWILIO_SID = "AC" + "0123456789abcdef" * 2


# ---------------------------------------------------------------- stand-in mail servers


class SlowMailer(BaseEmailBackend):
    """Delivers, but so slowly that meanwhile another sender takes the row in ``taken`` (its
    lease had run out): that row's lease is now the other sender's."""

    taken: dict[int, datetime] = {}
    delivered: list = []

    def send_messages(self, messages):
        for pk, until in SlowMailer.taken.items():
            Notice.objects.filter(pk=pk).update(next_attempt_at=until)
        SlowMailer.taken = {}
        SlowMailer.delivered.extend(messages)
        return len(messages)


class WatchingMailer(BaseEmailBackend):
    """Delivers, noting the lease each notice has while it is sent."""

    leases: list[datetime] = []

    def send_messages(self, messages):
        for message in messages:
            address = message.to[0]
            WatchingMailer.leases.append(
                Notice.objects.get(address=address, status="pending").next_attempt_at
            )
        mail.outbox.extend(messages)
        return len(messages)


class Killed(BaseException):
    """The worker process killed (the OOM killer, a deploy): nothing in Heed can catch it."""


class DyingMailer(BaseEmailBackend):
    """Delivers the first message, and the sender is killed before it can record that."""

    def send_messages(self, messages):
        mail.outbox.extend(messages)
        raise Killed


class UnknownAddressMailer(BaseEmailBackend):
    """A mail server that refuses the address for good (550), as the SMTP backend reports it."""

    def send_messages(self, messages):
        raise smtplib.SMTPRecipientsRefused({messages[0].to[0]: (550, b"5.1.1 No such user here")})


def mailer(backend: type) -> override_settings:
    return override_settings(
        MAILERS={"default": {"BACKEND": f"{backend.__module__}.{backend.__qualname__}"}}
    )


# ---------------------------------------------------------------- helpers and fixtures


@pytest.fixture(autouse=True)
def _outboxes_cleared():
    sms.outbox.clear()
    SlowMailer.taken, SlowMailer.delivered = {}, []
    WatchingMailer.leases = []
    yield
    sms.outbox.clear()


@pytest.fixture
def now(time_machine):
    """Time held still at T0."""
    time_machine.move_to(T0, tick=False)
    return T0


def acknowledgements(agent, count: int, **customer) -> list[Notice]:
    """``count`` received cases' acknowledgements, pending (the test's transaction never commits:
    no task was queued)."""
    for _ in range(count):
        receive_case(by=agent, customer=CustomerFactory(**customer))
    return list(Notice.objects.filter(kind=NoticeKind.ACKNOWLEDGEMENT).order_by("pk"))


def reload(notice: Notice) -> Notice:
    notice.refresh_from_db()
    return notice


def sms_notice(agent, address: str) -> Notice:
    """A notice by SMS to ``address``, as the outbox holds it (written directly: Heed itself
    writes only the numbers it can read, and a provider may still refuse one of those)."""
    received = receive(by=agent, customer=CustomerFactory(email="", phone=MOBILE))
    event = received.case.events.get(kind=CaseEvent.Kind.RECEIVED)
    Notice.objects.filter(case=received.case).delete()
    return Notice.objects.create(
        case=received.case,
        event=event,
        customer=received.case.customer,
        kind=NoticeKind.ACKNOWLEDGEMENT,
        channel=Channel.SMS,
        address=address,
        language="en",
    )


def twilio_at_a_closed_port() -> str:
    return f"twilio://{TWILIO_SID}:secret@127.0.0.1:{closed_port()}?from=%2B15005550006"


# ---------------------------------------------------------------- one sender per notice


def test_a_notice_held_by_another_senders_lease_is_not_sent(agent, now, time_machine):
    [notice] = acknowledgements(agent, 1)
    Notice.objects.filter(pk=notice.pk).update(next_attempt_at=now + lease())

    assert notices_deliver() == 0

    assert mail.outbox == []
    assert (reload(notice).status, notice.attempts) == (Notice.Status.PENDING, 0)
    assert TrackingToken.objects.filter(case=notice.case).count() == 1  # no link minted


def test_a_notice_whose_lease_ran_out_is_taken_over(agent, now, time_machine):
    [notice] = acknowledgements(agent, 1)
    Notice.objects.filter(pk=notice.pk).update(next_attempt_at=now + lease())

    time_machine.move_to(now + lease(), tick=False)

    assert notices_deliver() == 1
    assert len(mail.outbox) == 1
    assert reload(notice).status == Notice.Status.SENT


def test_a_row_another_sender_took_meanwhile_is_left_to_it(agent, now):
    first, second = acknowledgements(agent, 2)
    theirs = now + timedelta(hours=1)
    # While the first row's message was slow to leave, the claim's lease ran out and another
    # sender took the second row: its lease is now theirs.
    SlowMailer.taken = {second.pk: theirs}

    with mailer(SlowMailer):
        assert notices_deliver() == 1

    assert [m.to for m in SlowMailer.delivered] == [[first.address]]
    reload(second)
    assert (second.status, second.next_attempt_at, second.attempts) == (
        Notice.Status.PENDING,
        theirs,
        0,
    )
    assert TrackingToken.objects.filter(case=second.case).count() == 1  # no link minted


def test_each_notice_is_held_for_its_own_send_when_it_is_sent(agent, now):
    acknowledgements(agent, 2)

    with mailer(WatchingMailer):
        notices_deliver()

    assert WatchingMailer.leases == [now + lease(), now + lease()]


def test_a_killed_sender_leaves_its_rows_to_the_next_and_at_most_one_goes_twice(
    agent, now, time_machine
):
    notices = acknowledgements(agent, 3)

    with mailer(DyingMailer), pytest.raises(Killed):
        notices_deliver()
    assert [m.to for m in mail.outbox] == [[notices[0].address]]  # it left, unrecorded

    # It held only the row it was sending: the others go at once, that one once its lease ran out.
    assert notices_deliver() == 2
    assert notices_deliver() == 0
    time_machine.move_to(now + lease(), tick=False)
    assert notices_deliver() == 1

    sent_to = [m.to[0] for m in mail.outbox]
    assert sorted(sent_to) == sorted([notices[0].address, *(n.address for n in notices)])
    assert all(reload(n).status == Notice.Status.SENT for n in notices)
    # Both messages the first customer got carry a link that works: each was committed first.
    first_case = notices[0].case
    assert len(active_digests(first_case)) == 3  # the agent's and the two sent


# ---------------------------------------------------------------- failures


def test_a_number_the_provider_can_never_reach_fails_at_once_with_the_error(agent, now):
    notice = sms_notice(agent, "+1")

    assert notices_deliver() == 0

    reload(notice)
    assert (notice.status, notice.attempts, notice.next_attempt_at) == (
        Notice.Status.FAILED,
        1,
        None,
    )
    assert "is not an E.164 number" in notice.last_error
    assert sms.outbox == []
    # The link minted for it went nowhere: revoked (the agent's alone works).
    assert TrackingToken.objects.filter(case=notice.case).count() == 2
    assert TrackingToken.objects.filter(case=notice.case, revoked_at=None).count() == 1


def test_an_address_the_mail_server_refuses_for_good_fails_at_once(agent, now):
    [notice] = acknowledgements(agent, 1)

    with mailer(UnknownAddressMailer):
        notices_deliver()

    reload(notice)
    assert (notice.status, notice.attempts, notice.next_attempt_at) == (
        Notice.Status.FAILED,
        1,
        None,
    )
    assert "No such user here" in notice.last_error
    assert TrackingToken.objects.filter(case=notice.case, revoked_at=None).count() == 1


def test_a_failed_notice_is_not_tried_again(agent, now, time_machine):
    notice = sms_notice(agent, "+1")
    notices_deliver()

    time_machine.move_to(now + timedelta(days=1), tick=False)

    assert notices_deliver() == 0
    assert reload(notice).attempts == 1


def test_an_sms_provider_that_is_down_is_tried_again_after_1_2_4_minutes_then_given_up(
    agent, now, time_machine
):
    notice = sms_notice(agent, MOBILE)
    waits = []

    with override_settings(SMS_URL=twilio_at_a_closed_port()):
        at = now
        for attempt in range(1, MAX_ATTEMPTS + 1):
            assert notices_deliver() == 0
            reload(notice)
            assert notice.attempts == attempt
            assert "Twilio unreachable" in notice.last_error
            if notice.status == Notice.Status.FAILED:
                break
            assert notices_deliver() == 0  # not due before its wait is over
            waits.append((notice.next_attempt_at - at) / timedelta(minutes=1))
            at = notice.next_attempt_at
            time_machine.move_to(at, tick=False)

    assert waits == [1, 2, 4, 8, 16, 32, 60, 60, 60]  # an hour at most
    assert (notice.status, notice.attempts, notice.next_attempt_at) == (
        Notice.Status.FAILED,
        MAX_ATTEMPTS,
        None,
    )
    # Every attempt minted a link and revoked it: only the agent's works.
    assert TrackingToken.objects.filter(case=notice.case).count() == 1 + MAX_ATTEMPTS
    assert TrackingToken.objects.filter(case=notice.case, revoked_at=None).count() == 1


def test_an_sms_that_failed_for_now_is_sent_when_the_provider_is_back(agent, now, time_machine):
    notice = sms_notice(agent, MOBILE)
    with override_settings(SMS_URL=twilio_at_a_closed_port()):
        notices_deliver()

    time_machine.move_to(now + timedelta(minutes=1), tick=False)
    assert notices_deliver() == 1

    [message] = sms.outbox
    assert message.to == MOBILE
    reload(notice)
    assert (notice.status, notice.attempts, notice.last_error) == (Notice.Status.SENT, 2, "")
    assert notice.provider_id


# ---------------------------------------------------------------- the outbox job


def test_the_outbox_job_sends_what_is_due_and_nothing_else(agent, now):
    due, later, done = acknowledgements(agent, 3)
    Notice.objects.filter(pk=later.pk).update(next_attempt_at=now + timedelta(minutes=4))
    notices_deliver(ids=[done.pk])
    mail.outbox.clear()
    skipped = receive_case(by=agent, customer=CustomerFactory(email="", phone="+861012345678"))
    services.case_add_note(case=skipped, by=agent, body="Any news?", customer_visible=True)

    assert outbox.apply().get() == 1

    assert [m.to for m in mail.outbox] == [[due.address]]
    assert reload(due).status == Notice.Status.SENT
    assert reload(later).status == Notice.Status.PENDING
    assert Notice.objects.filter(case=skipped, status=Notice.Status.SKIPPED).count() == 2


def test_the_outbox_job_runs_every_minute(db):
    job = ScheduledJob.objects.get(name="conversation-outbox")

    assert (job.task, job.enabled) == ("conversation.outbox", True)


# ---------------------------------------------------------------- queries


def queries_to_send(agent, count: int) -> int:
    """The queries ``notices_deliver`` makes to send ``count`` notices of varied cases."""
    for n in range(count):
        case = receive_case(by=agent, customer=CustomerFactory(language=["en", "zh-hans"][n % 2]))
        services.case_add_note(case=case, by=agent, body=f"Note {n}", customer_visible=True)
    assert Notice.objects.filter(status=Notice.Status.PENDING).count() == 2 * count
    with CaptureQueriesContext(connection) as queries:
        assert notices_deliver() == 2 * count
    return len(queries)


def test_sending_costs_the_same_few_queries_per_notice_however_many_there_are(agent, now):
    ten, twenty, thirty = (queries_to_send(agent, n // 2) for n in (10, 20, 30))

    # Per notice, a fixed dozen: its claim (locked, leased, in a savepoint of its own) and the
    # row with its case, customer and event read at once; its link minted (a savepoint of its
    # own); its text and its case's promised dates read; the outcome written. Nothing grows
    # with the number of notices but their number (no N+1).
    assert ten <= 10 * 12
    assert thirty - twenty == twenty - ten <= 10 * 12
