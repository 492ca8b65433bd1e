"""Reminders to rate (``conversation.reminders``): a case reaching Follow up gets a
``RatingReminder`` due on the working day ``FOLLOW_UP_REMINDER_DAYS[0]`` after it got there, at
the same local time (working days of the case's policy's calendar: China's, with its public
holidays and working-day swaps); ``reminders_send`` turns each due reminder into a
RATING_REMINDER notice and moves it on to the next of those days, until none is left. A rating,
a message of the customer's waiting for our answer, or the case moving on stops them; a case
that comes to Follow up again starts afresh. Each reminder is written once, however many runs
overlap (its row locked, those locked skipped), in a number of queries that grows by a fixed
amount per reminder, the due ones found through the partial index on ``due_at``.

The deployment here is a Chinese one (``TIME_ZONE`` Asia/Shanghai): "local time" is Beijing
time."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext

from complaints import contact, customer_actions, services
from complaints.models import Case, CaseEvent, Ending, Step
from conversation import tasks
from conversation.models import Notice, NoticeKind, RatingReminder
from conversation.reminders import reminders_send
from escalation.clock import is_working_day
from escalation.models import ScheduledJob

from ..databases import postgresql_only
from ..factories import CustomerFactory, receive_case, walk
from ..threads import run_together

pytestmark = pytest.mark.django_db

BEIJING = ZoneInfo("Asia/Shanghai")
# A Friday morning: the 2nd working day after it is Tuesday, the 4th Thursday.
FRIDAY = datetime(2026, 11, 6, 9, 30, tzinfo=BEIJING)
TUESDAY = datetime(2026, 11, 10, 9, 30, tzinfo=BEIJING)
THURSDAY = datetime(2026, 11, 12, 9, 30, tzinfo=BEIJING)
MINUTE = timedelta(minutes=1)


# ---------------------------------------------------------------- helpers


def reminders(case: Case) -> list[Notice]:
    return list(Notice.objects.filter(case=case, kind=NoticeKind.RATING_REMINDER))


def row(case: Case) -> RatingReminder:
    return RatingReminder.objects.get(case=case)


def local(moment: datetime | None) -> datetime | None:
    return moment.astimezone(BEIJING) if moment is not None else None


# ---------------------------------------------------------------- fixtures


@pytest.fixture(autouse=True)
def _beijing(settings):
    settings.TIME_ZONE = "Asia/Shanghai"


@pytest.fixture
def clock(time_machine):
    """Time held still; ``clock(moment)`` moves it there."""

    def move(moment: datetime) -> None:
        time_machine.move_to(moment, tick=False)

    return move


@pytest.fixture
def to(agent, after_sales, handler):
    """Move a case forward to a step, the handler of After-sales responsible."""

    def move(case: Case, step: str) -> Case:
        return walk(case, to=step, by=agent, department=after_sales, person=handler)

    return move


@pytest.fixture
def following_up(agent, to, clock) -> Case:
    """A case that reached Follow up on Friday morning, Beijing time."""
    clock(FRIDAY)
    case = receive_case(by=agent, customer=CustomerFactory(name="Li Na"))
    return to(case, Step.FOLLOW_UP)


# ---------------------------------------------------------------- when they are due


def test_the_calendar_of_the_friday_case_is_plain_working_days():
    # What the dates below rely on: a plain week in China's calendar (no holiday, no swap).
    days = [FRIDAY.date() + timedelta(days=n) for n in range(7)]
    assert [is_working_day(d, country="CN") for d in days] == [
        True,  # Friday
        False,  # Saturday
        False,  # Sunday
        True,  # Monday
        True,  # Tuesday
        True,  # Wednesday
        True,  # Thursday
    ]


def test_reaching_follow_up_writes_a_reminder_due_on_the_second_working_day_same_time(
    following_up,
):
    reminder = row(following_up)

    arrived = following_up.events.get(to_step=Step.FOLLOW_UP)
    assert reminder.event == arrived
    assert (reminder.started_at, reminder.sent) == (FRIDAY, 0)
    assert settings.FOLLOW_UP_REMINDER_DAYS == [2, 4]
    # Friday → Monday (1st) → Tuesday (2nd): the weekend does not count.
    assert local(reminder.due_at) == TUESDAY


def test_no_reminder_is_sent_before_it_is_due(following_up):
    for moment in (
        datetime(2026, 11, 8, 9, 30, tzinfo=BEIJING),  # Sunday: two calendar days
        datetime(2026, 11, 9, 9, 30, tzinfo=BEIJING),  # Monday: one working day
        TUESDAY - MINUTE,
    ):
        assert reminders_send(now=moment) == 0

    assert reminders(following_up) == []
    assert row(following_up).sent == 0


def test_a_due_reminder_becomes_a_notice_and_the_next_is_due_on_the_fourth_working_day(
    following_up,
):
    assert reminders_send(now=TUESDAY) == 1

    [notice] = reminders(following_up)
    assert (notice.event, notice.customer, notice.status) == (
        row(following_up).event,
        following_up.customer,
        Notice.Status.PENDING,
    )
    reminder = row(following_up)
    assert reminder.sent == 1
    # Friday → Mon, Tue, Wed → Thursday (4th).
    assert local(reminder.due_at) == THURSDAY


def test_the_second_reminder_is_the_last(following_up):
    reminders_send(now=TUESDAY)
    assert reminders_send(now=datetime(2026, 11, 11, 9, 30, tzinfo=BEIJING)) == 0  # Wednesday

    assert reminders_send(now=THURSDAY) == 1

    reminder = row(following_up)
    assert (reminder.sent, reminder.due_at) == (2, None)
    assert reminders_send(now=THURSDAY + timedelta(days=30)) == 0
    assert len(reminders(following_up)) == 2


def test_a_late_run_sends_one_reminder_and_the_next_stays_on_its_own_day(following_up):
    # The job did not run for two days: one reminder now, not two at once.
    assert reminders_send(now=TUESDAY + timedelta(days=1)) == 1

    assert local(row(following_up).due_at) == THURSDAY


def test_reminders_skip_china_s_national_day_holiday_and_count_its_working_saturday(
    agent, to, clock
):
    # 2026: 1 to 7 October off (the 6th and 7th swapped for Sunday 20 September and Saturday
    # 10 October, which are working days).
    assert not any(is_working_day(date(2026, 10, d), country="CN") for d in range(1, 8))
    assert is_working_day(date(2026, 10, 10), country="CN")  # a Saturday
    clock(datetime(2026, 9, 30, 16, 0, tzinfo=BEIJING))  # the Wednesday before
    case = to(receive_case(by=agent), Step.FOLLOW_UP)

    # 2nd working day: Thursday 8 October (1st), Friday 9 October (2nd).
    assert local(row(case).due_at) == datetime(2026, 10, 9, 16, 0, tzinfo=BEIJING)
    reminders_send(now=datetime(2026, 10, 9, 16, 0, tzinfo=BEIJING))
    # 4th: Saturday 10 October (3rd, a working day), Monday 12 October (4th).
    assert local(row(case).due_at) == datetime(2026, 10, 12, 16, 0, tzinfo=BEIJING)


def test_working_days_follow_the_local_date_not_the_utc_one(agent, to, clock):
    # 07:00 on 1 October in Beijing is still 30 September (a working day) in UTC: counted from
    # the local date, the holiday week is skipped whole.
    clock(datetime(2026, 10, 1, 7, 0, tzinfo=BEIJING))
    case = to(receive_case(by=agent), Step.FOLLOW_UP)

    assert local(row(case).due_at) == datetime(2026, 10, 9, 7, 0, tzinfo=BEIJING)


def test_a_case_reaching_follow_up_by_the_customers_agreement_gets_a_reminder(agent, to, clock):
    clock(FRIDAY)
    case = to(receive_case(by=agent), Step.CONFIRM)

    customer_actions.case_customer_answer(case=case, agree=True)

    assert local(row(case).due_at) == TUESDAY


# ---------------------------------------------------------------- what stops them


def test_a_satisfied_rating_closes_the_case_and_stops_the_reminders(following_up):
    customer_actions.case_customer_follow_up(
        case=following_up, handling=5, outcome=5, satisfied=True
    )

    assert row(following_up).due_at is None
    assert reminders_send(now=TUESDAY) == 0
    assert reminders(following_up) == []


def test_a_dissatisfied_rating_reopens_the_case_and_stops_the_reminders(following_up):
    customer_actions.case_customer_follow_up(
        case=following_up, handling=2, outcome=1, satisfied=False, comment="Still loud."
    )

    following_up.refresh_from_db()
    assert following_up.step == Step.ANALYSE
    assert row(following_up).due_at is None
    assert reminders_send(now=TUESDAY) == 0


def test_a_rating_given_while_a_message_waits_stops_the_reminders(following_up):
    customer_actions.case_customer_message(case=following_up, body="When is the invoice due?")
    customer_actions.case_customer_follow_up(
        case=following_up, handling=4, outcome=5, satisfied=True
    )

    following_up.refresh_from_db()
    assert following_up.step == Step.FOLLOW_UP  # waiting for our answer, rated
    assert row(following_up).due_at is None
    assert reminders_send(now=TUESDAY) == 0


def test_a_rating_recorded_by_staff_stops_the_reminders(following_up, agent):
    # The customer rated on the phone; the handler records it and has not closed it yet.
    services.case_update(case=following_up, by=agent, data={"satisfaction_rating": 4})

    assert reminders_send(now=TUESDAY) == 0
    assert reminders(following_up) == []
    assert row(following_up).due_at is None


def test_no_reminder_goes_while_a_message_of_the_customers_waits_for_our_answer(following_up):
    customer_actions.case_customer_message(case=following_up, body="Is the engineer coming?")

    assert reminders_send(now=TUESDAY) == 0

    assert reminders(following_up) == []


def test_closing_the_case_stops_the_reminders(following_up, to):
    to(following_up, Step.CLOSED)

    assert row(following_up).due_at is None
    assert reminders_send(now=TUESDAY) == 0


def test_closing_the_case_as_withdrawn_stops_the_reminders(following_up, agent):
    services.case_transition(
        case=following_up,
        to=Step.CLOSED,
        by=agent,
        ending=Ending.WITHDRAWN,
        note="She called: the shop replaced it.",
    )

    assert row(following_up).due_at is None
    assert reminders_send(now=TUESDAY) == 0


def test_a_case_that_comes_to_follow_up_again_gets_a_fresh_reminder(following_up, to, clock):
    reminders_send(now=TUESDAY)
    clock(TUESDAY + timedelta(hours=1))
    customer_actions.case_customer_follow_up(
        case=following_up, handling=2, outcome=1, satisfied=False, comment="Still loud."
    )
    monday = datetime(2026, 11, 16, 10, 0, tzinfo=BEIJING)
    clock(monday)

    to(following_up, Step.FOLLOW_UP)

    reminder = row(following_up)
    arrived = following_up.events.filter(to_step=Step.FOLLOW_UP).latest("at", "pk")
    assert (reminder.event, reminder.started_at, reminder.sent) == (arrived, monday, 0)
    # Monday → Tuesday (1st) → Wednesday (2nd).
    assert local(reminder.due_at) == datetime(2026, 11, 18, 10, 0, tzinfo=BEIJING)
    assert reminders_send(now=datetime(2026, 11, 18, 10, 0, tzinfo=BEIJING)) == 1
    assert [n.event for n in reminders(following_up)][-1] == arrived


def test_a_case_back_at_follow_up_after_a_reopening_is_reminded_its_old_rating_cleared(
    following_up, to, clock
):
    customer_actions.case_customer_follow_up(
        case=following_up, handling=2, outcome=1, satisfied=False, comment="Still loud."
    )
    monday = datetime(2026, 11, 9, 10, 0, tzinfo=BEIJING)
    clock(monday)
    to(following_up, Step.FOLLOW_UP)
    following_up.refresh_from_db()
    # The new round's Follow up asks anew: the first round's answer is on the timeline only.
    assert (
        following_up.satisfaction_rating,
        following_up.handling_rating,
        following_up.follow_up_comment,
        following_up.follow_up_satisfied,
    ) == (None, None, "", None)
    reopened = following_up.events.get(kind=CaseEvent.Kind.REOPENED)
    assert reopened.changes["satisfaction_rating"] == [None, 1]
    assert reopened.changes["follow_up_comment"] == ["", "Still loud."]

    assert reminders_send(now=datetime(2026, 11, 11, 10, 0, tzinfo=BEIJING)) == 1

    assert len(reminders(following_up)) == 1


def test_a_rating_recorded_by_staff_in_a_later_round_stops_the_reminders(
    following_up, to, clock, agent
):
    customer_actions.case_customer_follow_up(
        case=following_up, handling=2, outcome=1, satisfied=False, comment="Still loud."
    )
    clock(datetime(2026, 11, 9, 10, 0, tzinfo=BEIJING))
    to(following_up, Step.FOLLOW_UP)

    services.case_update(case=following_up, by=agent, data={"satisfaction_rating": 4})

    assert row(following_up).due_at is None
    assert reminders_send(now=datetime(2026, 11, 11, 10, 0, tzinfo=BEIJING)) == 0


# ---------------------------------------------------------------- essential messages only


def test_the_reminder_to_a_customer_who_wants_essential_messages_only_is_written_skipped(
    following_up,
):
    contact.customer_preferences_set(case=following_up, by=None, essential_only=True)

    assert reminders_send(now=TUESDAY) == 1

    [notice] = reminders(following_up)
    assert (notice.status, notice.skipped_because) == (
        Notice.Status.SKIPPED,
        Notice.Skip.ESSENTIAL_ONLY,
    )
    assert row(following_up).sent == 1


# ---------------------------------------------------------------- once, whatever runs


def test_a_second_run_at_the_same_moment_writes_nothing(following_up):
    assert reminders_send(now=TUESDAY) == 1

    assert reminders_send(now=TUESDAY) == 0

    assert len(reminders(following_up)) == 1
    assert row(following_up).sent == 1


def test_the_reminders_task_runs_the_reminders(following_up, clock):
    clock(TUESDAY)

    assert tasks.remind.name == "conversation.remind"
    assert tasks.remind() == 1  # the task's body, as the worker runs it
    assert tasks.remind() == 0  # redelivered: nothing more

    assert len(reminders(following_up)) == 1


def test_the_reminders_job_is_scheduled_by_beat():
    job = ScheduledJob.objects.get(name="conversation-reminders")

    assert (job.task, job.enabled) == ("conversation.remind", True)
    assert settings.CELERY_BEAT_SCHEDULE["conversation-reminders"]["task"] == "conversation.remind"


# ---------------------------------------------------------------- cost


def due_cases(n: int, agent, to) -> list[Case]:
    """``n`` cases reaching Follow up now."""
    return [to(receive_case(by=agent), Step.FOLLOW_UP) for _ in range(n)]


# The queries of one reminder sent (in a test's transaction; in production the savepoint and its
# release are the transaction's BEGIN and COMMIT): the savepoint, the row locked with its case,
# customer and event, the case's policy (whose calendar gives the next reminder's day: one query
# when a policy names the case's urgency or category, two when it falls back to the default),
# the notice, the row saved, the savepoint released. Before them, one query for the due rows.
PER_REMINDER = (6, 7)


def test_sending_reminders_costs_a_fixed_number_of_queries_per_reminder(agent, to, clock):
    clock(FRIDAY)
    due_cases(5, agent, to)  # due on Tuesday
    clock(datetime(2026, 11, 9, 9, 0, tzinfo=BEIJING))
    due_cases(20, agent, to)  # due on Wednesday
    with CaptureQueriesContext(connection) as five:
        assert reminders_send(now=TUESDAY) == 5
    with CaptureQueriesContext(connection) as twenty:
        assert reminders_send(now=datetime(2026, 11, 11, 9, 0, tzinfo=BEIJING)) == 20

    per_reminder, left = divmod(len(five) - 1, 5)
    assert left == 0 and per_reminder in PER_REMINDER, [
        q["sql"][:80] for q in five.captured_queries
    ]
    assert len(twenty) == 1 + 20 * per_reminder


def test_the_due_reminders_are_found_by_their_due_time_alone(following_up):
    with CaptureQueriesContext(connection) as captured:
        reminders_send(now=TUESDAY)

    first = captured.captured_queries[0]["sql"]
    # One query on the reminders, by due_at (the partial index rating_reminder_due), with no
    # look at the cases: not a scan of every case waiting at Follow up.
    assert re.search(r'FROM "conversation_ratingreminder" WHERE .*"due_at" <=', first), first
    assert "complaints_case" not in first
    assert 'ORDER BY "conversation_ratingreminder"."due_at"' in first
    assert "LIMIT" in first


@postgresql_only("the plan of PostgreSQL's planner")
def test_the_due_reminders_can_be_read_from_the_partial_index(following_up):
    query = (
        RatingReminder.objects.filter(due_at__lte=TUESDAY)
        .order_by("due_at")
        .values_list("pk", flat=True)[:500]
    )
    sql, params = query.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(f"EXPLAIN {sql}", params)
        plan = "\n".join(r[0] for r in cursor.fetchall())

    assert "rating_reminder_due" in plan, plan


# ---------------------------------------------------------------- two runs at once


@pytest.mark.pg
@pytest.mark.concurrency
@pytest.mark.django_db(transaction=True)
@postgresql_only("row locks across connections")
def test_runs_at_the_same_time_write_each_reminder_once(agent, to, clock):
    clock(FRIDAY)
    cases = due_cases(12, agent, to)

    def run(i, barrier):
        barrier.wait()
        return reminders_send(now=TUESDAY, batch_size=50)

    results, errors = run_together(4, run)

    assert errors == []
    assert sum(results) == 12
    for case in cases:
        assert len(reminders(case)) == 1
        assert row(case).sent == 1
    assert CaseEvent.objects.filter(kind=CaseEvent.Kind.STEP, to_step=Step.FOLLOW_UP).count() == 12
