"""Each case's deadlines: made at receipt from the policy that applies, met as the case moves on,
superseded and made anew when the customer is not satisfied, stopped and restarted with the
clock, and summarised into ``Case.due_at``, which the core's "overdue" reads.

The default policy (migration 0002) is 1/3/7 days of calendar time, warning at 75 % of each
window and again two hours before it ends; its limits are absolute (no clock stops). Each round
also has a first-response deadline by the case's urgency (yellow here: 24 hours), tested in
``test_first_response.py``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine

from complaints import services, signals
from complaints.errors import AccessDenied, TransitionRefused
from complaints.models import Case, CaseEvent, Step, Tier
from complaints.selectors import case_list, navigation_counts, overdue_q
from complaints.services import case_add_note, case_transition
from escalation.models import Deadline, Escalation, Milestone, Pause, Policy
from escalation.services import case_pause, case_resume

from ..factories import receive_case, step_data, walk

SHANGHAI = ZoneInfo("Asia/Shanghai")
# Tuesday 3 March 2026, 10:00 UTC: an ordinary week, no holiday within seven days.
RECEIVED = datetime(2026, 3, 3, 10, tzinfo=UTC)
H = timedelta(hours=1)
D = timedelta(days=1)


def deadlines(case: Case, round: int = 0) -> dict[str, Deadline]:
    return {d.milestone: d for d in Deadline.objects.filter(case=case, round=round)}


def reload(case: Case) -> Case:
    case.refresh_from_db()
    return case


@pytest.fixture
def default_policy(db) -> Policy:
    return Policy.objects.get(is_default=True)


@pytest.fixture
def received(agent) -> Case:
    """A yellow product-quality case (the default policy) received at RECEIVED."""
    with time_machine.travel(RECEIVED, tick=False):
        return receive_case(by=agent, received_at=RECEIVED)


def working_policy(**overrides) -> Policy:
    """Green cases counted in working time, 09:00 to 18:00 in Shanghai, China's calendar."""
    return Policy.objects.create(
        **{
            "name": "Green, working time",
            "urgency": "green",
            "clock": Policy.Clock.WORKING,
            "time_zone": "Asia/Shanghai",
            "decided_within": 8 * H,
            "acted_within": 27 * H,
            "closed_within": 45 * H,
            **overrides,
        }
    )


def receive_at(when: datetime, *, by, **data) -> Case:
    with time_machine.travel(when, tick=False):
        return receive_case(by=by, received_at=when, **data)


def move(case: Case, *, to: str, at: datetime, by, **data) -> Case:
    with time_machine.travel(at, tick=False):
        case_transition(case=case, to=to, by=by, data=data)
    return reload(case)


def walk_at(case: Case, *, to: str, at: datetime, by, department, person) -> Case:
    with time_machine.travel(at, tick=False):
        walk(case, to=to, by=by, department=department, person=person)
    return reload(case)


def respond_at(case: Case, when: datetime, *, by) -> Case:
    """A message to the customer: the case's first-response deadline is met."""
    with time_machine.travel(when, tick=False):
        case_add_note(case=case, by=by, body="We are looking into it.", customer_visible=True)
    return reload(case)


def reopen(case: Case, *, at: datetime, by) -> Case:
    return move(
        case, to=Step.ANALYSE, at=at, by=by, satisfaction_rating=2, follow_up_comment="Still loud."
    )


# ------------------------------------------------------------------ at receipt


def test_a_received_case_gets_one_deadline_per_milestone(received):
    rows = Deadline.objects.filter(case=received)

    assert sorted(rows.values_list("milestone", "round")) == [
        ("acted", 0),
        ("closed", 0),
        ("decided", 0),
        ("responded", 0),
    ]


def test_the_default_deadlines_are_one_three_and_seven_days_after_receipt(received):
    rows = deadlines(received)

    assert rows["decided"].due_at == RECEIVED + 1 * D
    assert rows["acted"].due_at == RECEIVED + 3 * D
    assert rows["closed"].due_at == RECEIVED + 7 * D
    assert {d.starts_at for d in rows.values()} == {RECEIVED}
    assert {d.clock for d in rows.values()} == {"calendar"}


def test_the_first_warning_falls_at_three_quarters_of_each_window(received):
    rows = deadlines(received)

    assert rows["decided"].warn_at == RECEIVED + 18 * H
    assert rows["acted"].warn_at == RECEIVED + 54 * H
    assert rows["closed"].warn_at == RECEIVED + 126 * H


def test_the_last_warning_falls_two_hours_before_each_deadline(received):
    for deadline in deadlines(received).values():
        assert deadline.warn_before_at == deadline.due_at - 2 * H


def test_the_sweep_looks_next_at_the_earliest_point_still_to_come(received):
    rows = deadlines(received)

    assert rows["decided"].next_check_at == RECEIVED + 18 * H
    assert rows["acted"].next_check_at == RECEIVED + 54 * H
    assert rows["closed"].next_check_at == RECEIVED + 126 * H


def test_each_deadline_records_the_policy_and_version_it_came_from(received, default_policy):
    for deadline in deadlines(received).values():
        assert deadline.policy == default_policy
        assert deadline.policy_version == default_policy.version == 1


def test_the_cases_next_deadline_is_its_earliest_first_response_and_decided_alike(received):
    # Yellow: the first response is due within 24 hours, as Decide is within a day.
    rows = deadlines(received)
    assert received.due_at == RECEIVED + 1 * D == rows["decided"].due_at
    assert rows["responded"].due_at == RECEIVED + 1 * D


def test_editing_a_policy_raises_its_version(default_policy):
    default_policy.decided_within = 2 * D
    default_policy.save()

    default_policy.refresh_from_db()
    assert default_policy.version == 2


def test_editing_a_policy_does_not_move_existing_deadlines(received, default_policy):
    default_policy.decided_within = 2 * D
    default_policy.save()

    decided = deadlines(received)["decided"]
    assert decided.due_at == RECEIVED + 1 * D
    assert decided.policy_version == 1
    assert reload(received).due_at == RECEIVED + 1 * D


def test_a_case_received_after_a_policy_edit_gets_the_new_limits(agent, default_policy):
    default_policy.decided_within = 2 * D
    default_policy.save()

    case = receive_at(RECEIVED, by=agent)

    decided = deadlines(case)["decided"]
    assert decided.due_at == RECEIVED + 2 * D
    assert decided.policy_version == 2


def test_a_red_case_follows_the_red_urgency_policy(agent):
    case = receive_at(RECEIVED, by=agent, urgency="red")

    rows = deadlines(case)
    assert rows["decided"].policy.name == "Red urgency"
    assert rows["decided"].due_at == RECEIVED + 8 * H
    assert rows["acted"].due_at == RECEIVED + 2 * D
    assert rows["closed"].due_at == RECEIVED + 5 * D
    assert rows["decided"].warn_before_at == RECEIVED + 7 * H  # its last warning: 1 h before
    assert rows["responded"].due_at == RECEIVED + 2 * H
    assert reload(case).due_at == RECEIVED + 2 * H  # the first response comes first


# ------------------------------------------------------------------ in working time


def test_a_working_time_deadline_from_friday_evening_falls_on_monday(agent):
    working_policy()
    friday_five_pm = datetime(2026, 3, 6, 17, tzinfo=SHANGHAI)

    case = receive_at(friday_five_pm, by=agent, urgency="green")

    # One working hour on Friday (17 to 18), seven on Monday (09 to 16).
    decided = deadlines(case)["decided"]
    assert decided.clock == "working"
    assert decided.due_at == datetime(2026, 3, 9, 16, tzinfo=SHANGHAI)
    assert reload(case).due_at == datetime(2026, 3, 9, 8, tzinfo=UTC)


def test_a_working_time_warning_is_counted_in_working_time(agent):
    working_policy()

    case = receive_at(datetime(2026, 3, 6, 17, tzinfo=SHANGHAI), by=agent, urgency="green")

    # 75 % of 8 working hours is 6: one on Friday, five on Monday.
    decided = deadlines(case)["decided"]
    assert decided.warn_at == datetime(2026, 3, 9, 14, tzinfo=SHANGHAI)
    # The last warning is two hours of calendar time before the deadline.
    assert decided.warn_before_at == datetime(2026, 3, 9, 14, tzinfo=SHANGHAI)


def test_a_working_time_deadline_skips_national_day(agent):
    working_policy()

    case = receive_at(datetime(2026, 9, 30, 17, tzinfo=SHANGHAI), by=agent, urgency="green")

    rows = deadlines(case)
    assert rows["decided"].due_at == datetime(2026, 10, 8, 16, tzinfo=SHANGHAI)
    # 27 working hours = 3 days: 1 h on 30 Sep, 9 on 8 Oct, 9 on 9 Oct, 8 on Saturday 10 Oct.
    assert rows["acted"].due_at == datetime(2026, 10, 10, 17, tzinfo=SHANGHAI)


# ------------------------------------------------------------------ meeting deadlines


def test_finishing_decide_meets_the_decided_deadline(received, agent, after_sales, handler):
    done = RECEIVED + 5 * H

    walk_at(received, to=Step.ACT, at=done, by=agent, department=after_sales, person=handler)

    rows = deadlines(received)
    assert rows["decided"].met_at == done
    assert rows["decided"].next_check_at is None
    assert rows["decided"].met_in_time is True
    assert rows["acted"].met_at is None
    assert rows["closed"].met_at is None


def test_once_decided_the_cases_next_deadline_is_the_acted_one(
    received, agent, after_sales, handler
):
    walk_at(
        received, to=Step.ACT, at=RECEIVED + 5 * H, by=agent, department=after_sales, person=handler
    )

    assert reload(received).due_at == RECEIVED + 3 * D


def test_a_deadline_met_late_is_met_but_not_in_time(received, agent, after_sales, handler):
    late = RECEIVED + 2 * D

    walk_at(received, to=Step.ACT, at=late, by=agent, department=after_sales, person=handler)

    decided = deadlines(received)["decided"]
    assert decided.met_at == late
    assert decided.met_in_time is False


def test_closing_meets_every_deadline_and_leaves_no_next_deadline(
    received, agent, after_sales, handler
):
    closed = RECEIVED + 2 * D

    walk_at(received, to=Step.CLOSED, at=closed, by=agent, department=after_sales, person=handler)

    assert all(d.met_at == closed for d in deadlines(received).values())
    assert all(d.next_check_at is None for d in deadlines(received).values())
    assert reload(received).due_at is None


def test_the_customer_refusing_at_confirm_does_not_unmeet_the_decided_deadline(
    received, agent, after_sales, handler
):
    decided_at = RECEIVED + 5 * H
    walk_at(
        received, to=Step.CONFIRM, at=decided_at, by=agent, department=after_sales, person=handler
    )

    move(received, to=Step.DECIDE, at=RECEIVED + 8 * H, by=agent, agreement_note="Wants a refund.")

    rows = deadlines(received)
    assert rows["decided"].met_at == decided_at
    assert rows["acted"].met_at == decided_at
    assert reload(received).due_at == RECEIVED + 7 * D


def test_a_complaint_found_not_valid_meets_the_acted_deadline_as_it_skips_act(
    received, agent, after_sales, handler
):
    # Not valid: Decide writes an explanation and goes straight to Confirm.
    done = RECEIVED + 4 * H
    with time_machine.travel(done, tick=False):
        for source, target in [
            (Step.RECEIVE, Step.LISTEN),
            (Step.LISTEN, Step.ANALYSE),
            (Step.ANALYSE, Step.DECIDE),
            (Step.DECIDE, Step.CONFIRM),
        ]:
            data = step_data(source, department=after_sales, person=handler, valid=False)
            case_transition(case=received, to=target, by=agent, data=data)

    rows = deadlines(received)
    assert rows["decided"].met_at == rows["acted"].met_at == done
    assert reload(received).due_at == RECEIVED + 7 * D


# ------------------------------------------------------------------ reopening


@pytest.fixture
def reopened(received, agent, after_sales, handler) -> tuple[Case, datetime]:
    """The customer was not satisfied at follow-up, two days after receipt."""
    walk_at(
        received,
        to=Step.FOLLOW_UP,
        at=RECEIVED + 1 * D,
        by=agent,
        department=after_sales,
        person=handler,
    )
    when = RECEIVED + 2 * D
    return reopen(received, at=when, by=agent), when


def test_reopening_supersedes_what_the_old_round_had_not_met(reopened):
    case, when = reopened

    old = deadlines(case, round=0)
    assert old["closed"].superseded_at == when
    assert old["closed"].next_check_at is None
    assert old["closed"].met_at is None
    # What was met stays met, and is not superseded.
    assert old["decided"].met_at == old["acted"].met_at == RECEIVED + 1 * D
    assert old["decided"].superseded_at is None


def test_reopening_starts_a_new_round_counted_from_the_reopening(reopened):
    case, when = reopened

    new = deadlines(case, round=1)
    assert sorted(new) == ["acted", "closed", "decided", "responded"]
    assert {d.starts_at for d in new.values()} == {when}
    assert new["responded"].due_at == when + 1 * D
    assert new["decided"].due_at == when + 1 * D
    assert new["acted"].due_at == when + 3 * D
    assert new["closed"].due_at == when + 7 * D
    assert all(d.is_open for d in new.values())


def test_after_reopening_the_cases_next_deadline_is_from_the_new_round(reopened):
    case, when = reopened

    assert case.due_at == when + 1 * D


def test_reopening_raises_the_case_one_tier_as_dissatisfied(reopened, agent):
    case, when = reopened

    assert case.tier == Tier.DEPARTMENT_HEAD
    escalation = Escalation.objects.get(case=case)
    assert escalation.reason == Escalation.Reason.DISSATISFIED
    assert (escalation.from_tier, escalation.to_tier) == (Tier.HANDLER, Tier.DEPARTMENT_HEAD)
    assert escalation.round == 1
    assert escalation.at == when
    assert escalation.by == agent
    assert escalation.note == "Still loud."


def test_the_new_round_is_met_as_the_case_moves_on_again(reopened, agent, after_sales, handler):
    case, when = reopened

    walk_at(case, to=Step.ACT, at=when + 3 * H, by=agent, department=after_sales, person=handler)

    assert deadlines(case, round=1)["decided"].met_at == when + 3 * H
    # The round began past Listen: its first response waits for someone to speak to the
    # customer, and is the case's next deadline until then.
    assert deadlines(case, round=1)["responded"].met_at is None
    assert reload(case).due_at == when + 1 * D
    with time_machine.travel(when + 4 * H, tick=False):
        services.case_add_note(case=case, by=agent, body="Looking again.", customer_visible=True)
    assert deadlines(case, round=1)["responded"].met_at == when + 4 * H
    assert reload(case).due_at == when + 3 * D


# ------------------------------------------------------------------ overdue in the core's lists


def overdue(now: datetime) -> list[Case]:
    return list(Case.objects.filter(overdue_q(now)))


def test_a_case_is_overdue_once_its_next_deadline_has_passed(received):
    assert overdue(RECEIVED + 1 * D) == []
    assert overdue(RECEIVED + 1 * D + timedelta(minutes=1)) == [received]


def test_a_case_whose_next_deadline_is_met_is_no_longer_overdue(
    received, agent, after_sales, handler
):
    walk_at(
        received, to=Step.ACT, at=RECEIVED + 2 * D, by=agent, department=after_sales, person=handler
    )

    assert overdue(RECEIVED + 2 * D) == []
    assert overdue(RECEIVED + 3 * D + timedelta(minutes=1)) == [received]


def test_a_closed_case_is_never_overdue(received, agent, after_sales, handler):
    walk_at(
        received,
        to=Step.CLOSED,
        at=RECEIVED + 1 * H,
        by=agent,
        department=after_sales,
        person=handler,
    )

    assert overdue(RECEIVED + 30 * D) == []


def test_the_case_list_and_the_navigation_count_show_overdue_cases(received, agent):
    with time_machine.travel(RECEIVED + 1 * D + timedelta(minutes=1), tick=False):
        assert case_list(user=agent).get(pk=received.pk).is_overdue
        assert navigation_counts(user=agent) == {
            "open": 1,
            "overdue": 1,
            "waiting": 0,
            "unassigned": 0,
        }

    with time_machine.travel(RECEIVED + 23 * H, tick=False):
        assert not case_list(user=agent).get(pk=received.pk).is_overdue
        assert navigation_counts(user=agent) == {
            "open": 1,
            "overdue": 0,
            "waiting": 0,
            "unassigned": 0,
        }


# ------------------------------------------------------------------ stopping the clock


def pause_at(case: Case, when: datetime, *, by, reason: str = Pause.Reason.CUSTOMER) -> Pause:
    with time_machine.travel(when, tick=False):
        pause = case_pause(case=case, by=by, reason=reason, note="Waiting for photos.")
    reload(case)
    return pause


def resume_at(case: Case, when: datetime, *, by) -> Pause | None:
    with time_machine.travel(when, tick=False):
        pause = case_resume(case=case, by=by)
    reload(case)
    return pause


def test_the_default_policys_limits_are_absolute(received, agent):
    with pytest.raises(TransitionRefused), time_machine.travel(RECEIVED + 1 * H, tick=False):
        case_pause(case=received, by=agent, reason=Pause.Reason.CUSTOMER)

    assert not Pause.objects.filter(case=received).exists()
    assert not Deadline.objects.filter(case=received, paused_since__isnull=False).exists()
    assert not received.events.filter(kind=CaseEvent.Kind.PAUSED).exists()


@pytest.fixture
def pausable(default_policy) -> Policy:
    """The default policy, edited so that Decide and Act may wait on the customer."""
    default_policy.pausable_milestones = [Milestone.DECIDED, Milestone.ACTED]
    default_policy.save()
    return default_policy


@pytest.fixture
def stoppable(pausable, agent) -> Case:
    with time_machine.travel(RECEIVED, tick=False):
        return receive_case(by=agent, received_at=RECEIVED)


def test_a_policy_may_let_some_milestones_wait(stoppable):
    rows = deadlines(stoppable)

    assert rows["decided"].pausable
    assert rows["acted"].pausable
    assert not rows["closed"].pausable


def test_stopping_the_clock_stops_the_deadlines_the_policy_lets_stop(stoppable, agent):
    stopped = RECEIVED + 2 * H

    pause_at(stoppable, stopped, by=agent)

    rows = deadlines(stoppable)
    assert rows["decided"].paused_since == rows["acted"].paused_since == stopped
    assert rows["decided"].next_check_at is None
    assert rows["acted"].next_check_at is None
    assert rows["closed"].paused_since is None
    assert rows["closed"].next_check_at == RECEIVED + 126 * H


def test_stopped_deadlines_are_not_the_cases_next_deadline(stoppable, agent):
    respond_at(stoppable, RECEIVED + 1 * H, by=agent)
    pause_at(stoppable, RECEIVED + 2 * H, by=agent)

    assert stoppable.due_at == RECEIVED + 7 * D
    assert overdue(RECEIVED + 1 * D + 1 * H) == []


def test_stopping_the_clock_is_recorded_and_shown_to_the_customer(stoppable, agent):
    stopped = RECEIVED + 2 * H

    pause = pause_at(stoppable, stopped, by=agent, reason=Pause.Reason.THIRD_PARTY)

    pause.refresh_from_db()
    assert (pause.reason, pause.started_at, pause.started_by, pause.ended_at) == (
        Pause.Reason.THIRD_PARTY,
        stopped,
        agent,
        None,
    )
    event = stoppable.events.get(kind=CaseEvent.Kind.PAUSED)
    assert event.customer_visible
    assert event.actor == agent
    assert event.at == stopped
    assert event.changes == {"pause": [None, "third_party"]}


def test_only_someone_who_may_work_the_case_may_stop_its_clock(stoppable, outsider):
    with pytest.raises(AccessDenied), time_machine.travel(RECEIVED + 1 * H, tick=False):
        case_pause(case=stoppable, by=outsider, reason=Pause.Reason.CUSTOMER)

    assert not Pause.objects.filter(case=stoppable).exists()
    assert deadlines(stoppable)["decided"].paused_since is None


def test_the_clock_cannot_be_stopped_twice(stoppable, agent):
    pause_at(stoppable, RECEIVED + 2 * H, by=agent)

    with pytest.raises(TransitionRefused), time_machine.travel(RECEIVED + 3 * H, tick=False):
        case_pause(case=stoppable, by=agent, reason=Pause.Reason.CUSTOMER)

    assert Pause.objects.filter(case=stoppable).count() == 1
    assert deadlines(stoppable)["decided"].paused_since == RECEIVED + 2 * H


def test_restarting_the_clock_credits_the_stopped_time_to_each_deadline(stoppable, agent):
    respond_at(stoppable, RECEIVED + 1 * H, by=agent)
    before = deadlines(stoppable)
    pause_at(stoppable, RECEIVED + 2 * H, by=agent)

    resume_at(stoppable, RECEIVED + 7 * H, by=agent)

    for name in ("decided", "acted"):
        after = deadlines(stoppable)[name]
        assert after.paused_since is None
        assert after.paused_total == 5 * H
        assert after.due_at == before[name].due_at + 5 * H
        assert after.warn_at == before[name].warn_at + 5 * H
        assert after.warn_before_at == before[name].warn_before_at + 5 * H
        assert after.next_check_at == after.warn_at
    assert deadlines(stoppable)["closed"].due_at == before["closed"].due_at
    assert stoppable.due_at == RECEIVED + 1 * D + 5 * H


def test_restarting_the_clock_is_recorded_and_shown_to_the_customer(stoppable, agent):
    pause = pause_at(stoppable, RECEIVED + 2 * H, by=agent)

    resume_at(stoppable, RECEIVED + 7 * H, by=agent)

    pause.refresh_from_db()
    assert (pause.ended_at, pause.ended_by) == (RECEIVED + 7 * H, agent)
    event = stoppable.events.get(kind=CaseEvent.Kind.RESUMED)
    assert event.customer_visible
    assert event.actor == agent


def test_a_warning_already_past_when_the_clock_stopped_stays_where_it_was(stoppable, agent):
    # The decided warning fell at 18 h; the clock stops at 20 h and restarts at 21 h.
    pause_at(stoppable, RECEIVED + 20 * H, by=agent)
    resume_at(stoppable, RECEIVED + 21 * H, by=agent)

    decided = deadlines(stoppable)["decided"]
    assert decided.warn_at == RECEIVED + 18 * H
    assert decided.warn_before_at == RECEIVED + 23 * H
    assert decided.due_at == RECEIVED + 25 * H


def test_restarting_a_running_clock_does_nothing(stoppable, agent):
    assert resume_at(stoppable, RECEIVED + 1 * H, by=agent) is None

    assert not stoppable.events.filter(kind=CaseEvent.Kind.RESUMED).exists()
    assert deadlines(stoppable)["decided"].due_at == RECEIVED + 1 * D


def test_in_working_time_a_stop_over_the_weekend_credits_only_working_time(agent):
    working_policy(pausable_milestones=[Milestone.DECIDED])
    # Received Friday 10:00 Shanghai: 8 working hours → due Friday 18:00.
    case = receive_at(datetime(2026, 3, 6, 10, tzinfo=SHANGHAI), by=agent, urgency="green")
    assert deadlines(case)["decided"].due_at == datetime(2026, 3, 6, 18, tzinfo=SHANGHAI)

    pause_at(case, datetime(2026, 3, 6, 17, tzinfo=SHANGHAI), by=agent)
    resume_at(case, datetime(2026, 3, 9, 10, tzinfo=SHANGHAI), by=agent)

    # Stopped one working hour on Friday and one on Monday; one hour was left when it stopped.
    decided = deadlines(case)["decided"]
    assert decided.paused_total == 2 * H
    assert decided.due_at == datetime(2026, 3, 9, 11, tzinfo=SHANGHAI)


def test_in_working_time_the_last_warning_keeps_its_calendar_lead_after_a_stop(agent):
    working_policy(pausable_milestones=[Milestone.DECIDED], decided_within=10 * H)
    # Received Friday 09:00 Shanghai: due Monday 10:00, last warning two hours before (08:00).
    case = receive_at(datetime(2026, 3, 6, 9, tzinfo=SHANGHAI), by=agent, urgency="green")

    pause_at(case, datetime(2026, 3, 6, 17, tzinfo=SHANGHAI), by=agent)
    resume_at(case, datetime(2026, 3, 9, 9, tzinfo=SHANGHAI), by=agent)

    decided = deadlines(case)["decided"]
    assert decided.due_at == datetime(2026, 3, 9, 11, tzinfo=SHANGHAI)
    assert decided.warn_before_at == datetime(2026, 3, 9, 9, tzinfo=SHANGHAI)


def test_the_customers_reply_restarts_the_clock(stoppable, agent):
    respond_at(stoppable, RECEIVED + 1 * H, by=agent)
    pause = pause_at(stoppable, RECEIVED + 2 * H, by=agent)

    with time_machine.travel(RECEIVED + 4 * H, tick=False):
        signals.customer_replied.send(sender=Case, case=stoppable)

    pause.refresh_from_db()
    assert pause.ended_at == RECEIVED + 4 * H
    assert pause.ended_by is None
    event = stoppable.events.get(kind=CaseEvent.Kind.RESUMED)
    assert event.actor is None
    assert event.customer_visible
    assert deadlines(stoppable)["decided"].due_at == RECEIVED + 1 * D + 2 * H
    assert reload(stoppable).due_at == RECEIVED + 1 * D + 2 * H


def test_the_clock_cannot_stop_when_no_open_deadline_may_wait(
    stoppable, agent, after_sales, handler
):
    # Decide and Act are met; the closing limit is absolute.
    walk_at(
        stoppable,
        to=Step.FOLLOW_UP,
        at=RECEIVED + 1 * H,
        by=agent,
        department=after_sales,
        person=handler,
    )

    with pytest.raises(TransitionRefused), time_machine.travel(RECEIVED + 2 * H, tick=False):
        case_pause(case=stoppable, by=agent, reason=Pause.Reason.CUSTOMER)

    assert not Pause.objects.filter(case=stoppable).exists()


def test_closing_the_case_ends_a_running_stop_and_meets_its_deadlines(
    stoppable, agent, after_sales, handler
):
    pause = pause_at(stoppable, RECEIVED + 1 * H, by=agent)

    closed = RECEIVED + 3 * H
    walk_at(stoppable, to=Step.CLOSED, at=closed, by=agent, department=after_sales, person=handler)

    pause.refresh_from_db()
    assert pause.ended_at == closed
    assert stoppable.events.filter(kind=CaseEvent.Kind.RESUMED).count() == 1
    rows = deadlines(stoppable)
    assert all(d.met_at == closed and d.paused_since is None for d in rows.values())
    assert rows["decided"].paused_total == 2 * H
    assert stoppable.due_at is None


def test_reopening_restarts_a_stopped_clock_before_the_new_round(
    default_policy, agent, after_sales, handler
):
    default_policy.pausable_milestones = [Milestone.CLOSED]
    default_policy.save()
    with time_machine.travel(RECEIVED, tick=False):
        case = receive_case(by=agent, received_at=RECEIVED)
    walk_at(
        case,
        to=Step.FOLLOW_UP,
        at=RECEIVED + 2 * H,
        by=agent,
        department=after_sales,
        person=handler,
    )
    pause = pause_at(case, RECEIVED + 3 * H, by=agent)

    reopen(case, at=RECEIVED + 5 * H, by=agent)

    pause.refresh_from_db()
    assert pause.ended_at == RECEIVED + 5 * H
    old = deadlines(case, round=0)["closed"]
    assert old.paused_since is None and old.superseded_at == RECEIVED + 5 * H
    assert not Deadline.objects.filter(case=case, paused_since__isnull=False).exists()
    assert case.events.filter(kind=CaseEvent.Kind.RESUMED).count() == 1
