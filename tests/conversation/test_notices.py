"""Which events the customer is told of, by which channel and in which language; what each notice
says; the customers who asked for essential messages only; and the notices on the case's
timeline.

The rule (``conversation.notices``): a staff message the customer can see, a decision waiting for
their agreement (Confirm), a request to rate (Follow up), a reopening with its new dates, a
stopped clock restarting (a promised date moved), the closing, and a renewed link. What the
customer did themselves tells them nothing, except the dates of a reopening. Notices are written
in the transaction of the change and sent here with ``notices_deliver`` (what the worker runs);
email goes to Django's in-memory mailer, SMS to ``conversation.sms.outbox``."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from django.conf import settings
from django.core import mail
from django.db import connection, transaction
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import formats, timezone, translation

from complaints import contact, customer_actions, services
from complaints.merging import case_merge
from complaints.models import Case, CaseEvent, Step, TrackingToken, tracking_digest
from conversation import sms
from conversation.models import ESSENTIAL, Channel, Notice, NoticeKind
from conversation.notices import notices_for_event
from conversation.outbox import notices_deliver
from escalation.models import Deadline, Milestone, Pause, Policy
from escalation.services import case_pause, case_resume

from ..factories import CustomerFactory, receive, receive_case, walk
from ..outages import refusing_mailers

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 11, 5, 9, 30, tzinfo=UTC)  # a Thursday
EMAIL = "li.na@example.com"
MOBILE = "+8613800138000"
LANDLINE = "+861012345678"  # a Beijing fixed line: it cannot take a text message
MESSAGE = "We have booked the repair for Tuesday morning."
WAITING = "service_process"  # the category whose policy lets the clock stop (``waiting_policy``)


class RolledBack(Exception):
    pass


# ---------------------------------------------------------------- helpers


def link_token(text: str) -> str:
    """The token of the one tracking link in a message."""
    tokens = re.findall(re.escape(settings.SITE_URL) + r"/t/([A-Za-z0-9_-]+)", text)
    assert len(tokens) == 1, text
    return tokens[0]


def linked_case(text: str) -> Case | None:
    """The case the message's link opens (None: it opens nothing)."""
    link = (
        TrackingToken.objects.filter(digest=tracking_digest(link_token(text)), revoked_at=None)
        .select_related("case")
        .first()
    )
    return link.case if link else None


def shown(value: datetime, language: str = "en") -> str:
    """A moment as a notice in ``language`` writes it (in TIME_ZONE)."""
    with translation.override(language):
        return formats.date_format(timezone.localtime(value), "DATETIME_FORMAT")


def due(case: Case, milestone: str) -> datetime:
    case.refresh_from_db()
    return Deadline.objects.get(
        case=case, round=case.reopen_count, superseded_at=None, milestone=milestone
    ).due_at


def kinds(case: Case | None = None) -> list[str]:
    """The kinds of the notices written (about ``case``), oldest first."""
    notices = Notice.objects.all() if case is None else Notice.objects.filter(case=case)
    return list(notices.values_list("kind", flat=True))


def received_by_customer() -> list[dict]:
    """Everything that went out, email and SMS, in one shape."""
    return [
        {"channel": "email", "to": m.to[0], "subject": m.subject, "text": m.body}
        for m in mail.outbox
    ] + [{"channel": "sms", "to": m.to, "subject": "", "text": m.text} for m in sms.outbox]


def deliver(kind: str) -> dict:
    """Send the one notice of ``kind`` and return what the customer got."""
    notice = Notice.objects.get(kind=kind)
    mail.outbox.clear()
    sms.outbox.clear()
    assert notices_deliver(ids=[notice.pk]) == 1
    [got] = received_by_customer()
    return got


def not_satisfied(case: Case) -> None:
    """The customer says on the tracking page that they are not satisfied: reopened."""
    customer_actions.case_customer_follow_up(
        case=case, handling=2, outcome=1, satisfied=False, comment="Still loud on spin."
    )


# ---------------------------------------------------------------- fixtures


@pytest.fixture(autouse=True)
def _sms_outbox_cleared():
    sms.outbox.clear()
    yield
    sms.outbox.clear()


@pytest.fixture
def clock(time_machine):
    """Time held still at T0 (moved on by the tests that need it)."""
    time_machine.move_to(T0, tick=False)


@pytest.fixture
def waiting_policy(db):
    """A policy whose every milestone may wait on the customer (the default's clock never
    stops), for cases of the ``WAITING`` category."""
    return Policy.objects.create(
        name="Delays", category=WAITING, pausable_milestones=["decided", "acted", "closed"]
    )


@pytest.fixture
def li_na(db):
    """A customer with an email address and a mobile number, no channel preferred."""
    return CustomerFactory(name="Li Na", email=EMAIL, phone=MOBILE)


@pytest.fixture
def case(agent, li_na) -> Case:
    """Li Na's complaint, logged by the agent (its acknowledgement written, not sent)."""
    return receive_case(by=agent, customer=li_na)


@pytest.fixture
def to(agent, after_sales):
    """Move a case forward to a step, the agent working it."""

    def move(case: Case, step: str) -> Case:
        return walk(case, to=step, by=agent, department=after_sales, person=agent)

    return move


# ---------------------------------------------------------------- each event, channel, language


def _message(case, agent, to):
    services.case_add_note(case=case, by=agent, body=MESSAGE, customer_visible=True)


def _decision(case, agent, to):
    to(case, Step.CONFIRM)


def _rating(case, agent, to):
    to(case, Step.FOLLOW_UP)


def _reopened(case, agent, to):
    to(case, Step.FOLLOW_UP)
    not_satisfied(case)


def _extended(case, agent, to):
    to(case, Step.DECIDE)
    case_pause(case=case, by=agent, reason=Pause.Reason.CUSTOMER)
    case_resume(case=case, by=agent)


def _closed(case, agent, to):
    to(case, Step.CLOSED)


def _link_renewed(case, agent, to):
    customer_actions.case_tracking_renew(case=case, by=agent)


# What each event is, the notice it causes, its email's subject and SMS's start (English; the
# notices' sentences are not in locale/zh_Hans yet), and the promise it gives, if any.
EVENTS = {
    "message": (
        _message,
        NoticeKind.MESSAGE,
        "A message about your complaint {ref}",
        "{ref}: Ann wrote to you. Read it: ",
        None,
    ),
    "decision": (
        _decision,
        NoticeKind.DECISION,
        "Our decision on your complaint {ref}: do you agree?",
        "{ref}: our decision is ready. Do you agree? Tell us: ",
        None,
    ),
    "rating": (
        _rating,
        NoticeKind.RATING,
        "How did we do with your complaint {ref}?",
        "{ref}: are you satisfied? Rate us: ",
        None,
    ),
    "reopened": (
        _reopened,
        NoticeKind.REOPENED,
        "We are looking at your complaint {ref} again",
        "{ref}: we are looking at it again and will contact you by ",
        Milestone.DECIDED,
    ),
    "extended": (
        _extended,
        NoticeKind.EXTENDED,
        "A new date for your complaint {ref}",
        "{ref}: we are going on with it and aim to finish by ",
        Milestone.CLOSED,
    ),
    "closed": (
        _closed,
        NoticeKind.CLOSED,
        "Your complaint {ref} is closed",
        "{ref}: your complaint is closed. Thank you. ",
        None,
    ),
    "link_renewed": (
        _link_renewed,
        NoticeKind.LINK_RENEWED,
        "A new link to your complaint {ref}",
        "{ref}: your new link (the old one no longer works): ",
        None,
    ),
}


@pytest.mark.parametrize("language", ["en", "zh-hans"])
@pytest.mark.parametrize("channel", [Channel.EMAIL, Channel.SMS])
@pytest.mark.parametrize("event", list(EVENTS))
def test_each_event_the_customer_is_told_of_is_sent_by_their_channel_in_their_language(
    agent, after_sales, to, waiting_policy, event, channel, language
):
    act, kind, subject, sms_start, promise = EVENTS[event]
    agent.first_name = "Ann"
    agent.save(update_fields=["first_name"])
    customer = CustomerFactory(
        name="Li Na", email=EMAIL, phone=MOBILE, preferred_channel=channel, language=language
    )
    case = receive_case(by=agent, customer=customer, category=WAITING)

    act(case, agent, to)

    notice = Notice.objects.get(kind=kind)
    assert (notice.case, notice.customer, notice.channel, notice.language) == (
        case,
        customer,
        channel,
        language,
    )
    assert notice.address == (EMAIL if channel == Channel.EMAIL else MOBILE)
    got = deliver(kind)
    assert (got["channel"], got["to"]) == (channel, notice.address)
    assert case.reference in got["text"]
    assert linked_case(got["text"]) == case
    assert "{" not in got["subject"] + got["text"]  # every placeholder filled in
    if promise:
        assert shown(due(case, promise), language) in got["text"]
    if language == "en":
        if channel == Channel.EMAIL:
            assert got["subject"] == subject.format(ref=case.reference)
            assert got["text"].startswith("Dear Li Na,")
        else:
            assert got["text"].startswith(sms_start.format(ref=case.reference))
    elif promise:
        assert "年" in shown(due(case, promise), language)
    notice.refresh_from_db()
    assert (notice.status, notice.subject) == (Notice.Status.SENT, got["subject"])


# ---------------------------------------------------------------- what each notice says


def test_a_message_visible_to_the_customer_is_emailed_to_them_with_its_text(case, agent):
    services.case_add_note(case=case, by=agent, body=MESSAGE, customer_visible=True)

    got = deliver(NoticeKind.MESSAGE)

    assert got["to"] == EMAIL
    assert f"\n\n{MESSAGE}\n\n" in got["text"]
    assert f"wrote to you about your complaint {case.reference}:" in got["text"]
    assert linked_case(got["text"]) == case


def test_a_message_by_sms_says_who_wrote_but_not_what(case, agent, li_na):
    # A text message is read on a lock screen: the words stay behind the link.
    li_na.preferred_channel = Channel.SMS
    li_na.save(update_fields=["preferred_channel"])
    services.case_add_note(case=case, by=agent, body=MESSAGE, customer_visible=True)

    got = deliver(NoticeKind.MESSAGE)

    assert got["channel"] == "sms"
    assert MESSAGE not in got["text"]
    assert linked_case(got["text"]) == case


def test_an_email_that_is_not_essential_says_how_to_hear_less(case, agent):
    services.case_add_note(case=case, by=agent, body=MESSAGE, customer_visible=True)

    got = deliver(NoticeKind.MESSAGE)

    assert got["text"].endswith("choose “Only essential messages”.")


def test_an_internal_note_tells_the_customer_nothing(case, agent):
    services.case_add_note(case=case, by=agent, body="Customer sounds upset.")

    assert kinds(case) == [NoticeKind.ACKNOWLEDGEMENT]


def test_moving_to_confirm_sends_the_decision_with_the_remedies_and_the_plan(case, to):
    to(case, Step.CONFIRM)

    got = deliver(NoticeKind.DECISION)

    assert "What we will do: Repair, Apology\nRepair within two days." in got["text"]
    assert "Please tell us whether you agree" in got["text"]


def test_moving_to_follow_up_asks_the_customer_to_rate(case, to):
    to(case, Step.FOLLOW_UP)

    assert kinds(case) == [NoticeKind.ACKNOWLEDGEMENT, NoticeKind.DECISION, NoticeKind.RATING]
    assert "Please rate the handling and the outcome" in deliver(NoticeKind.RATING)["text"]


def test_the_steps_in_between_tell_the_customer_nothing(case, to):
    to(case, Step.ACT)

    assert kinds(case) == [NoticeKind.ACKNOWLEDGEMENT]


def test_closing_tells_the_customer_the_case_is_closed(case, to):
    to(case, Step.CLOSED)

    assert kinds(case)[-1] == NoticeKind.CLOSED
    got = deliver(NoticeKind.CLOSED)
    assert f"Your complaint {case.reference} has been handled and is now closed." in got["text"]
    assert linked_case(got["text"]) == case


def test_closing_tells_the_customer_of_a_case_merged_into_it_with_a_link_to_their_own_case(
    agent, li_na, to
):
    survivor = receive_case(by=agent, customer=li_na)
    wang = CustomerFactory(name="Wang Fang", email="wang@example.com", phone="+8613900139000")
    absorbed = receive_case(by=agent, customer=wang)
    case_merge(survivor=survivor, absorbed=absorbed, by=agent, note="The same drum.")

    to(survivor, Step.CLOSED)

    closing = survivor.events.get(to_step=Step.CLOSED)
    told = Notice.objects.filter(kind=NoticeKind.CLOSED).order_by("pk")
    assert [(n.case, n.customer, n.event, n.address) for n in told] == [
        (survivor, li_na, closing, EMAIL),
        (absorbed, wang, closing, "wang@example.com"),
    ]
    assert notices_deliver() >= 2
    to_wang = next(m for m in mail.outbox if m.to == ["wang@example.com"])
    assert to_wang.body.startswith("Dear Wang Fang,")
    assert absorbed.reference in to_wang.subject
    assert survivor.reference not in to_wang.body
    assert linked_case(to_wang.body) == absorbed


def test_closing_tells_a_customer_with_two_merged_cases_once(agent, li_na, to):
    survivor = receive_case(by=agent, customer=li_na)
    absorbed = receive_case(by=agent, customer=li_na)
    case_merge(survivor=survivor, absorbed=absorbed, by=agent, note="Called twice.")

    to(survivor, Step.CLOSED)

    assert [n.case for n in Notice.objects.filter(kind=NoticeKind.CLOSED)] == [survivor]


def test_reopening_tells_the_customer_the_new_rounds_dates(clock, case, to, time_machine):
    to(case, Step.FOLLOW_UP)
    first_plan_by = due(case, Milestone.DECIDED)
    time_machine.move_to(T0 + timedelta(days=2), tick=False)

    not_satisfied(case)

    case.refresh_from_db()
    assert case.reopen_count == 1
    plan_by, handled_by = due(case, Milestone.DECIDED), due(case, Milestone.CLOSED)
    assert plan_by > first_plan_by
    got = deliver(NoticeKind.REOPENED)
    assert f"By {shown(plan_by)} we will contact you" in got["text"]
    assert f"handled by {shown(handled_by)} at the latest" in got["text"]
    assert shown(first_plan_by) not in got["text"]


def test_a_stopped_clock_restarting_tells_the_customer_the_new_date(
    clock, agent, li_na, to, waiting_policy, time_machine
):
    case = receive_case(by=agent, customer=li_na, category=WAITING)
    to(case, Step.DECIDE)
    handled_by_before = due(case, Milestone.CLOSED)
    case_pause(case=case, by=agent, reason=Pause.Reason.CUSTOMER, note="Photos asked for.")
    assert kinds(case) == [NoticeKind.ACKNOWLEDGEMENT]  # stopping it is no news to send
    time_machine.move_to(T0 + timedelta(days=2), tick=False)

    case_resume(case=case, by=agent)

    handled_by = due(case, Milestone.CLOSED)
    assert handled_by == handled_by_before + timedelta(days=2)
    got = deliver(NoticeKind.EXTENDED)
    assert f"aim to have it handled by {shown(handled_by)} at the latest" in got["text"]


def test_a_reopening_that_restarts_a_stopped_clock_sends_only_the_reopening(
    clock, agent, li_na, to, waiting_policy
):
    case = receive_case(by=agent, customer=li_na, category=WAITING)
    to(case, Step.FOLLOW_UP)
    case_pause(case=case, by=agent, reason=Pause.Reason.CUSTOMER)

    not_satisfied(case)

    assert not case.pauses.filter(ended_at=None).exists()  # the reopening restarted it
    assert kinds(case)[-1:] == [NoticeKind.REOPENED]
    assert NoticeKind.EXTENDED not in kinds(case)


def test_a_clock_stopped_after_a_reopening_tells_the_new_date_when_it_restarts(
    clock, agent, li_na, to, waiting_policy
):
    case = receive_case(by=agent, customer=li_na, category=WAITING)
    to(case, Step.FOLLOW_UP)
    not_satisfied(case)
    case_pause(case=case, by=agent, reason=Pause.Reason.THIRD_PARTY)

    case_resume(case=case, by=agent)

    assert kinds(case)[-2:] == [NoticeKind.REOPENED, NoticeKind.EXTENDED]


def test_closing_a_case_whose_clock_is_stopped_sends_only_the_closing(
    clock, agent, li_na, to, waiting_policy
):
    case = receive_case(by=agent, customer=li_na, category=WAITING)
    to(case, Step.FOLLOW_UP)
    case_pause(case=case, by=agent, reason=Pause.Reason.CUSTOMER)

    to(case, Step.CLOSED)

    assert kinds(case)[-1:] == [NoticeKind.CLOSED]
    assert NoticeKind.EXTENDED not in kinds(case)


def test_renewing_the_link_sends_the_new_link_and_says_the_old_ones_stopped(case, agent):
    token = customer_actions.case_tracking_renew(case=case, by=agent)

    got = deliver(NoticeKind.LINK_RENEWED)

    assert "the earlier links no longer work" in got["text"]
    sent = link_token(got["text"])
    assert sent != token
    assert linked_case(got["text"]) == case


# ---------------------------------------------------------------- what the customer did themselves


def test_agreeing_at_confirm_on_the_tracking_page_tells_the_customer_nothing(case, to):
    to(case, Step.CONFIRM)

    customer_actions.case_customer_answer(case=case, agree=True)

    case.refresh_from_db()
    assert case.step == Step.FOLLOW_UP
    assert kinds(case) == [NoticeKind.ACKNOWLEDGEMENT, NoticeKind.DECISION]


def test_disagreeing_at_confirm_on_the_tracking_page_tells_the_customer_nothing(case, to):
    to(case, Step.CONFIRM)

    customer_actions.case_customer_answer(case=case, agree=False, reason="Too slow.")

    case.refresh_from_db()
    assert case.step == Step.DECIDE
    assert kinds(case) == [NoticeKind.ACKNOWLEDGEMENT, NoticeKind.DECISION]


def test_rating_and_closing_on_the_tracking_page_tells_the_customer_nothing(case, to):
    to(case, Step.FOLLOW_UP)
    before = kinds(case)

    customer_actions.case_customer_follow_up(case=case, handling=5, outcome=5, satisfied=True)

    case.refresh_from_db()
    assert case.step == Step.CLOSED
    assert kinds(case) == before


def test_not_satisfied_on_the_tracking_page_tells_the_customer_the_reopenings_dates(case, to):
    to(case, Step.FOLLOW_UP)
    before = kinds(case)

    not_satisfied(case)

    assert kinds(case) == [*before, NoticeKind.REOPENED]


def test_a_message_from_the_customer_tells_them_nothing(case):
    customer_actions.case_customer_message(case=case, body="Any news?")

    assert kinds(case) == [NoticeKind.ACKNOWLEDGEMENT]


# ---------------------------------------------------------------- the channel


@pytest.mark.parametrize(
    ("email", "phone", "preferred", "channel", "address"),
    [
        pytest.param(EMAIL, MOBILE, "", "email", EMAIL, id="both-automatic-email"),
        pytest.param(EMAIL, MOBILE, "email", "email", EMAIL, id="both-prefers-email"),
        pytest.param(EMAIL, MOBILE, "sms", "sms", MOBILE, id="both-prefers-sms"),
        pytest.param(EMAIL, "", "sms", "email", EMAIL, id="prefers-sms-has-no-phone"),
        pytest.param(EMAIL, LANDLINE, "sms", "email", EMAIL, id="prefers-sms-has-a-landline"),
        pytest.param("", MOBILE, "", "sms", MOBILE, id="mobile-only"),
        pytest.param("", MOBILE, "email", "sms", MOBILE, id="prefers-email-has-none"),
        pytest.param("", "+12025550143", "", "sms", "+12025550143", id="us-number"),
    ],
)
def test_a_notice_goes_by_the_preferred_channel_if_there_is_its_address_else_the_other(
    agent, email, phone, preferred, channel, address
):
    customer = CustomerFactory(email=email, phone=phone, preferred_channel=preferred)
    case = receive_case(by=agent, customer=customer)

    services.case_add_note(case=case, by=agent, body=MESSAGE, customer_visible=True)

    notice = Notice.objects.get(kind=NoticeKind.MESSAGE)
    assert (notice.channel, notice.address, notice.status) == (
        channel,
        address,
        Notice.Status.PENDING,
    )
    got = deliver(NoticeKind.MESSAGE)
    assert (got["channel"], got["to"]) == (channel, address)


def test_a_customer_with_only_a_landline_is_told_nothing_and_the_notice_says_why(agent):
    customer = CustomerFactory(email="", phone=LANDLINE)
    case = receive_case(by=agent, customer=customer)

    services.case_add_note(case=case, by=agent, body=MESSAGE, customer_visible=True)
    notices_deliver()

    notice = Notice.objects.get(kind=NoticeKind.MESSAGE)
    assert (notice.status, notice.skipped_because, notice.attempts) == (
        Notice.Status.SKIPPED,
        Notice.Skip.NO_ADDRESS,
        0,
    )
    assert received_by_customer() == []


def test_a_notice_goes_to_the_address_it_was_written_for(case, agent, li_na):
    services.case_add_note(case=case, by=agent, body=MESSAGE, customer_visible=True)
    li_na.email = "li.na@new.example.com"
    li_na.save(update_fields=["email"])

    assert deliver(NoticeKind.MESSAGE)["to"] == EMAIL


# ---------------------------------------------------------------- essential messages only


def test_a_customer_who_wants_essential_messages_only_gets_only_those(case, agent, to):
    contact.customer_preferences_set(case=case, by=None, essential_only=True)

    services.case_add_note(case=case, by=agent, body=MESSAGE, customer_visible=True)
    to(case, Step.FOLLOW_UP)
    not_satisfied(case)
    to(case, Step.CLOSED)
    customer_actions.case_tracking_renew(case=case, by=agent)

    written = [(n.kind, n.status, n.skipped_because) for n in Notice.objects.filter(case=case)]
    assert written == [
        (NoticeKind.ACKNOWLEDGEMENT, "pending", ""),
        (NoticeKind.MESSAGE, "skipped", "essential_only"),
        (NoticeKind.DECISION, "pending", ""),
        (NoticeKind.RATING, "skipped", "essential_only"),
        (NoticeKind.REOPENED, "skipped", "essential_only"),
        (NoticeKind.DECISION, "pending", ""),
        (NoticeKind.RATING, "skipped", "essential_only"),
        (NoticeKind.CLOSED, "pending", ""),
        (NoticeKind.LINK_RENEWED, "pending", ""),
    ]
    assert {kind for kind, status, _why in written if status == "pending"} <= ESSENTIAL
    assert notices_deliver() == 5
    assert len(mail.outbox) == 5
    # An essential message says nothing of hearing less: they already chose to.
    assert not any("Only essential messages" in m.body for m in mail.outbox)


def test_a_customer_back_to_every_message_is_told_everything_again(case, agent):
    contact.customer_preferences_set(case=case, by=None, essential_only=True)
    contact.customer_preferences_set(case=case, by=None, essential_only=False)

    services.case_add_note(case=case, by=agent, body=MESSAGE, customer_visible=True)

    assert Notice.objects.get(kind=NoticeKind.MESSAGE).status == Notice.Status.PENDING


# ---------------------------------------------------------------- in the change's transaction


def test_a_rolled_back_change_writes_no_notice(case, agent, django_capture_on_commit_callbacks):
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RolledBack),
        transaction.atomic(),
    ):
        services.case_add_note(case=case, by=agent, body=MESSAGE, customer_visible=True)
        raise RolledBack

    assert kinds(case) == [NoticeKind.ACKNOWLEDGEMENT]
    assert callbacks == []  # nothing queued for after a commit that never came


def test_writing_a_notice_takes_a_fixed_number_of_queries_however_long_the_cases_history(
    agent, li_na, django_assert_max_num_queries
):
    fresh = receive_case(by=agent, customer=li_na)
    long = receive_case(by=agent, customer=li_na)
    # A case's first message to the customer also meets its first-response deadline (a few
    # queries, once): each case here has had its first.
    services.case_add_note(case=fresh, by=agent, body="Note 0", customer_visible=True)
    for n in range(20):
        services.case_add_note(case=long, by=agent, body=f"Note {n}", customer_visible=True)

    counts = []
    for case in Case.objects.filter(pk__in=[fresh.pk, long.pk]).order_by("pk"):
        with CaptureQueriesContext(connection) as queries:
            services.case_add_note(case=case, by=agent, body=MESSAGE, customer_visible=True)
        counts.append(len(queries))
    assert counts[0] == counts[1]

    # The notice alone (written here a second time for the same message): the event's case and
    # customer, and its own row.
    event = CaseEvent.objects.filter(case=long, kind=CaseEvent.Kind.MESSAGE).last()
    with django_assert_max_num_queries(3):
        notices_for_event(event=event)


# ---------------------------------------------------------------- on the case's timeline


def timeline_item(page: str, kind: str) -> str:
    """The HTML of the timeline's event of ``kind`` (the first one)."""
    match = re.search(
        rf'<li class="event[^"]*" data-kind="{kind}".*?</li>\s*</ul>', page, re.DOTALL
    )
    assert match, f"no {kind} event on the timeline"
    return match.group(0)


def case_page(client, user, case: Case) -> str:
    client.force_login(user)
    response = client.get(reverse("complaints:case_detail", args=[case.reference]))
    assert response.status_code == 200
    return response.content.decode()


def test_the_timeline_shows_a_sent_notice_with_its_channel_masked_address_and_status(
    client, case, agent
):
    notices_deliver()

    item = timeline_item(case_page(client, agent, case), "received")

    assert 'data-notice-kind="acknowledgement" data-status="sent" data-channel="email"' in item
    assert "Acknowledgement to the customer by Email (l***@example.com)" in item
    assert "<strong>Sent</strong>" in item
    assert EMAIL not in item
    assert f"{settings.SITE_URL}/t/…" in item  # what was sent, its link masked


def test_the_timeline_shows_a_pending_sms_notice_with_its_masked_number(client, case, agent, li_na):
    li_na.preferred_channel = Channel.SMS
    li_na.save(update_fields=["preferred_channel"])
    services.case_add_note(case=case, by=agent, body=MESSAGE, customer_visible=True)

    item = timeline_item(case_page(client, agent, case), "message")

    assert 'data-notice-kind="message" data-status="pending" data-channel="sms"' in item
    assert "Message from staff to the customer by SMS (+86138****8000)" in item
    assert "<strong>Waiting to be sent</strong>" in item
    assert MOBILE not in item


def test_the_timeline_says_a_notice_due_long_ago_and_not_sent_is_late(client, case, agent):
    """The broker or the worker is away: the acknowledgement, due 20 minutes ago, waits. The
    page says so (what /readyz calls late); one just written, or waiting out a retry's backoff,
    is not. (Late: due READY_OUTBOX_MAX_AGE, 15 minutes, ago.)"""
    fresh = timeline_item(case_page(client, agent, case), "received")
    Notice.objects.filter(case=case).update(next_attempt_at=timezone.now() + timedelta(hours=1))
    backing_off = timeline_item(case_page(client, agent, case), "received")
    Notice.objects.filter(case=case).update(next_attempt_at=timezone.now() - timedelta(minutes=20))
    late = timeline_item(case_page(client, agent, case), "received")

    assert 'data-testid="notice-late"' not in fresh
    assert 'data-testid="notice-late"' not in backing_off
    assert 'data-testid="notice-late"' in late
    assert "not sent yet: due since" in late and "goes as soon as it is back" in late


def test_the_timeline_shows_a_notice_the_mail_server_refused_with_the_error(client, case, agent):
    with override_settings(MAILERS=refusing_mailers()):
        notices_deliver()

    item = timeline_item(case_page(client, agent, case), "received")

    assert 'data-status="pending"' in item
    assert "ConnectionRefusedError" in item
    assert "1 attempt; trying again" in item


def test_the_timeline_says_why_a_notice_was_not_sent(client, agent):
    case = receive_case(by=agent, customer=CustomerFactory(email="", phone=LANDLINE))
    contact.customer_preferences_set(case=case, by=agent, essential_only=True)
    services.case_add_note(case=case, by=agent, body=MESSAGE, customer_visible=True)

    page = case_page(client, agent, case)

    received = timeline_item(page, "received")
    assert 'data-notice-kind="acknowledgement" data-status="skipped"' in received
    assert "Acknowledgement not sent to the customer: no email address or mobile number." in (
        " ".join(received.split())
    )
    message = timeline_item(page, "message")
    assert "Message from staff not sent to the customer: no email address or mobile number." in (
        " ".join(message.split())
    )


def test_the_timeline_says_a_notice_was_skipped_because_the_customer_wants_essentials_only(
    client, case, agent
):
    contact.customer_preferences_set(case=case, by=agent, essential_only=True)
    services.case_add_note(case=case, by=agent, body=MESSAGE, customer_visible=True)

    item = " ".join(timeline_item(case_page(client, agent, case), "message").split())

    assert (
        "Message from staff not sent to the customer: "
        "the customer asked for essential messages only." in item
    )


def test_the_timeline_of_a_survivor_shows_the_notices_of_the_case_merged_into_it(
    client, agent, li_na
):
    survivor = receive_case(by=agent, customer=li_na)
    absorbed = receive(by=agent, customer=CustomerFactory(email="wang@example.com")).case
    case_merge(survivor=survivor, absorbed=absorbed, by=agent, note="The same drum.")

    page = case_page(client, agent, survivor)

    assert page.count('data-notice-kind="acknowledgement"') == 2
    assert "w***@example.com" in page
