"""The sweep, called directly (healthchecks' test_sendalerts style): breached deadlines escalate
once, warnings go out once, unacknowledged escalations are reminded, and a dry run writes nothing.

Time is frozen and moved with time-machine; the default policy is the domain's 1/3/7 days, with
a warning at 75 % of each window and another two hours before it ends, and a reminder every
four hours until the tier acknowledges. A yellow case's first response is due within 24 hours,
with its Decide: a case received and left alone is warned and escalated for both (the first
response on its own: ``test_first_response.py``)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext

from complaints.models import Case, CaseEvent, Step, Tier
from escalation.models import Deadline, Escalation, Milestone, Notification
from escalation.services import case_escalate_manually, escalation_acknowledge
from escalation.sweep import Planned, sweep

from ..factories import receive_case, walk

pytestmark = pytest.mark.django_db

# A Monday morning; the default policy counts calendar time, so the day does not matter.
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def clock(time_machine):
    """Time frozen at T0; ``clock(hours=…)`` moves it to that long after T0."""
    time_machine.move_to(T0, tick=False)

    def move(**delta) -> datetime:
        moment = T0 + timedelta(**delta)
        time_machine.move_to(moment, tick=False)
        return moment

    return move


def deadline_of(case: Case, milestone: str = Milestone.DECIDED) -> Deadline:
    return Deadline.objects.get(case=case, round=0, milestone=milestone)


def rows_written() -> dict[str, int]:
    return {
        "escalations": Escalation.objects.count(),
        "events": CaseEvent.objects.count(),
        "notifications": Notification.objects.count(),
        "emails": len(mail.outbox),
    }


# ---------------------------------------------------------------- breaches


def test_a_case_past_its_one_day_limit_is_escalated_to_the_department_head(
    clock, decide_case, agent, department_head
):
    case = decide_case(days_ago=2)
    due = deadline_of(case).due_at

    result = sweep()

    case.refresh_from_db()
    escalation = Escalation.objects.get(case=case)
    assert (escalation.reason, escalation.milestone) == (
        Escalation.Reason.OVERDUE,
        Milestone.DECIDED,
    )
    assert (escalation.from_tier, escalation.to_tier) == (Tier.HANDLER, Tier.DEPARTMENT_HEAD)
    assert escalation.deadline == deadline_of(case)
    assert escalation.previous_owner == agent
    assert case.tier == Tier.DEPARTMENT_HEAD
    assert result.actions == [
        Planned("escalate", case.reference, Milestone.DECIDED, due, 0, 1),
    ]


def test_an_escalation_appears_on_the_case_timeline(clock, decide_case):
    case = decide_case(days_ago=2)

    sweep()

    event = CaseEvent.objects.get(case=case, kind=CaseEvent.Kind.ESCALATED)
    assert event.actor is None  # the sweep, nobody's hand
    assert event.at == T0
    assert event.changes == {
        "tier": [Tier.HANDLER, Tier.DEPARTMENT_HEAD],
        "reason": [None, Escalation.Reason.OVERDUE],
        "milestone": [None, Milestone.DECIDED],
    }


def test_a_breached_deadline_is_marked_and_no_longer_checked(clock, decide_case):
    case = decide_case(days_ago=2)

    sweep()

    deadline = deadline_of(case)
    assert deadline.breached_at == deadline.due_at
    assert deadline.next_check_at is None
    assert deadline.met_at is None


def test_a_second_sweep_does_nothing_more(clock, decide_case):
    case = decide_case(days_ago=2)
    sweep()
    before = rows_written()
    clock(minutes=1)

    result = sweep()

    assert result.actions == []
    assert result.sent == 0
    assert rows_written() == before
    case.refresh_from_db()
    assert case.tier == Tier.DEPARTMENT_HEAD


def test_three_breached_milestones_raise_the_case_three_tiers_in_one_sweep(
    clock, decide_case, quality_manager, general_manager
):
    case = decide_case(days_ago=8)

    result = sweep()

    case.refresh_from_db()
    assert case.tier == Tier.GENERAL_MANAGER
    steps = Escalation.objects.filter(case=case).order_by("from_tier")
    assert [(e.milestone, e.from_tier, e.to_tier) for e in steps] == [
        (Milestone.DECIDED, 0, 1),
        (Milestone.ACTED, 1, 2),
        (Milestone.CLOSED, 2, 3),
    ]
    assert [(a.action, a.from_tier, a.to_tier) for a in result.actions] == [
        ("escalate", 0, 1),
        ("escalate", 1, 2),
        ("escalate", 2, 3),
    ]


def test_a_breach_at_the_general_manager_leaves_the_case_there(
    clock, decide_case, agent, general_manager
):
    case = decide_case(days_ago=8)
    case_escalate_manually(case=case, by=agent, note="The customer is a journalist.")

    sweep()

    case.refresh_from_db()
    assert case.tier == Tier.GENERAL_MANAGER
    overdue = Escalation.objects.filter(case=case, reason=Escalation.Reason.OVERDUE)
    assert sorted((e.from_tier, e.to_tier) for e in overdue) == [(1, 2), (2, 3), (3, 3)]


def test_a_met_deadline_never_escalates(clock, agent, handler, after_sales):
    case = receive_case(by=agent)
    walk(case, to=Step.ACT, by=agent, department=after_sales, person=handler)  # Decide done
    clock(days=30)

    sweep()

    decided = deadline_of(case)
    assert decided.met_at == T0
    assert decided.breached_at is None
    assert not Escalation.objects.filter(case=case, milestone=Milestone.DECIDED).exists()
    # The milestones it has not met did escalate: the sweep did run over this case.
    assert set(Escalation.objects.filter(case=case).values_list("milestone", flat=True)) == {
        Milestone.ACTED,
        Milestone.CLOSED,
    }


# ---------------------------------------------------------------- warnings


def warnings_to(case: Case) -> list[tuple[str, str]]:
    return [
        (n.recipient.username, n.deadline.milestone)
        for n in Notification.objects.filter(case=case, kind=Notification.Kind.WARNING)
    ]


def test_at_three_quarters_of_the_window_the_owner_is_warned_once_per_deadline(clock, agent):
    case = receive_case(by=agent)  # the agent owns it
    clock(hours=18)  # 75 % of one day, and of the first response's 24 hours

    result = sweep()

    assert [(a.action, a.milestone) for a in result.actions] == [
        ("warn", Milestone.RESPONDED),
        ("warn", Milestone.DECIDED),
    ]
    events = CaseEvent.objects.filter(case=case, kind=CaseEvent.Kind.WARNED).order_by("pk")
    assert [event.changes for event in events] == [
        {"milestone": [None, Milestone.RESPONDED]},
        {"milestone": [None, Milestone.DECIDED]},
    ]
    assert warnings_to(case) == [("agent", Milestone.RESPONDED), ("agent", Milestone.DECIDED)]
    assert deadline_of(case).warned_at == T0 + timedelta(hours=18)
    assert deadline_of(case, Milestone.RESPONDED).warned_at == T0 + timedelta(hours=18)

    clock(hours=19)
    assert sweep().actions == []
    assert CaseEvent.objects.filter(case=case, kind=CaseEvent.Kind.WARNED).count() == 2
    assert len(warnings_to(case)) == 2


def test_the_warning_two_hours_before_the_limit_fires_once_per_deadline_on_its_own(clock, agent):
    case = receive_case(by=agent)
    clock(hours=18)
    sweep()  # the 75 % warnings

    clock(hours=22)  # two hours before the one-day limit and the first response's
    result = sweep()

    assert [(a.action, a.milestone) for a in result.actions] == [
        ("warn", Milestone.RESPONDED),
        ("warn", Milestone.DECIDED),
    ]
    assert CaseEvent.objects.filter(case=case, kind=CaseEvent.Kind.WARNED).count() == 4
    assert sorted(warnings_to(case)) == sorted(
        [("agent", Milestone.RESPONDED), ("agent", Milestone.DECIDED)] * 2
    )
    assert deadline_of(case).warned_before_at == T0 + timedelta(hours=22)
    assert deadline_of(case, Milestone.RESPONDED).warned_before_at == T0 + timedelta(hours=22)

    clock(hours=23)
    assert sweep().actions == []
    assert len(warnings_to(case)) == 4


def test_warnings_passed_together_with_the_breach_are_not_sent(clock, agent):
    case = receive_case(by=agent)
    clock(days=1, minutes=1)  # no sweep ran since receipt: both warnings and the limit passed

    result = sweep()

    # The first response and Decide, both due a day after receipt: one tier each.
    assert [(a.action, a.milestone, a.from_tier, a.to_tier) for a in result.actions] == [
        ("escalate", Milestone.RESPONDED, 0, 1),
        ("escalate", Milestone.DECIDED, 1, 2),
    ]
    assert not CaseEvent.objects.filter(case=case, kind=CaseEvent.Kind.WARNED).exists()
    assert warnings_to(case) == []
    assert {n.kind for n in Notification.objects.filter(case=case)} == {Notification.Kind.ESCALATED}
    clock(days=1, minutes=2)
    sweep()
    assert warnings_to(case) == []


# ---------------------------------------------------------------- reminders


def reminders_to(case: Case) -> list[str]:
    return [
        n.recipient.username
        for n in Notification.objects.filter(case=case, kind=Notification.Kind.REMINDER)
    ]


def test_an_unacknowledged_escalation_reminds_its_tier_every_four_hours(
    clock, decide_case, department_head
):
    case = decide_case(days_ago=2)
    sweep()  # escalated at T0 to the head of After-sales

    clock(hours=3, minutes=59)
    assert sweep().actions == []
    assert reminders_to(case) == []

    clock(hours=4)
    result = sweep()
    assert [(a.action, a.to_tier) for a in result.actions] == [("remind", 1)]
    assert reminders_to(case) == ["head"]

    clock(hours=7)
    sweep()
    assert reminders_to(case) == ["head"]

    clock(hours=8)
    sweep()
    assert reminders_to(case) == ["head", "head"]


def test_an_acknowledged_escalation_reminds_nobody(clock, decide_case, department_head):
    case = decide_case(days_ago=2)
    sweep()
    escalation = Escalation.objects.get(case=case)
    clock(hours=1)
    escalation_acknowledge(escalation=escalation, by=department_head)

    clock(days=2)
    result = sweep()

    assert [a.action for a in result.actions if a.action == "remind"] == []
    assert reminders_to(case) == []
    escalation.refresh_from_db()
    assert escalation.next_notify_at is None


# ---------------------------------------------------------------- cost


def sweep_queries() -> int:
    with CaptureQueriesContext(connection) as queries:
        sweep()
    return len(queries)


def test_the_sweeps_queries_do_not_grow_with_open_cases_that_are_not_due(
    clock, decide_case, agent, department_head
):
    decide_case(days_ago=2)
    for _ in range(10):
        receive_case(by=agent)
    with_ten = sweep_queries()

    decide_case(days_ago=2)
    for _ in range(190):
        receive_case(by=agent)
    assert Case.objects.count() == 202
    with_two_hundred = sweep_queries()

    assert Escalation.objects.count() == 2
    assert with_two_hundred == with_ten


# A batch of due deadlines is written set-wise (escalation.batch), so its statements do not
# grow with the overdue cases it holds: lock the batch's deadlines and cases (1), read the
# time-limit policies (1), a savepoint around the batch (2, so that a failing batch is handled
# again one deadline at a time), then one statement each for the deadlines' marks, the
# escalations, the cases' tiers, the events, the webhook subscriptions (none here, so no
# delivery is written), the tier's people (one department) and the emails; then the outbox
# sends the emails, a chunk (notifications.CHUNK) read and marked sent in one query each; the
# other passes (reminders, corrective actions) look for what is due.
def test_a_batch_costs_the_same_queries_however_many_overdue_cases_it_holds(
    clock, decide_case, department_head
):
    def overdue(count: int) -> tuple[int, list[str]]:
        for _ in range(count):
            decide_case(days_ago=2)
        with CaptureQueriesContext(connection) as queries:
            sweep()
        return len(queries), [q["sql"] for q in queries]

    overdue(2)  # once first: what a process reads once (content types, say)
    # Up to five cases: their ten emails are one chunk of the outbox.
    (two, _sql), (five, sql) = overdue(2), overdue(5)

    assert Escalation.objects.count() == 9
    assert two == five, sql
    inserts = [q for q in sql if q.startswith("INSERT")]
    assert len(inserts) == 3, inserts  # escalations, events, emails: each one statement


# ---------------------------------------------------------------- dry run


def state() -> dict:
    """Everything a sweep may write."""
    return {
        **rows_written(),
        "tiers": list(Case.objects.order_by("pk").values_list("pk", "tier")),
        "deadlines": list(
            Deadline.objects.order_by("pk").values_list(
                "pk", "next_check_at", "warned_at", "warned_before_at", "breached_at"
            )
        ),
        "reminders": list(Escalation.objects.order_by("pk").values_list("pk", "next_notify_at")),
        "unsent": list(Notification.objects.order_by("pk").values_list("pk", "sent_at")),
    }


def test_a_dry_run_lists_what_would_escalate_warn_and_remind_and_writes_nothing(
    clock, decide_case, agent, department_head
):
    reminded = decide_case(days_ago=2)
    sweep()  # escalated now; its reminder falls due at T0 + 4 h
    warned = receive_case(by=agent)
    twice = decide_case(days_ago=3 + 1 / 24)  # will have missed Decide and Act
    before = state()

    result = sweep(now=T0 + timedelta(hours=19), dry_run=True)

    assert state() == before
    assert {
        (a.action, a.reference, a.milestone, a.from_tier, a.to_tier) for a in result.actions
    } == {
        ("warn", warned.reference, Milestone.RESPONDED, 0, 0),
        ("warn", warned.reference, Milestone.DECIDED, 0, 0),
        ("escalate", twice.reference, Milestone.DECIDED, 0, 1),
        ("escalate", twice.reference, Milestone.ACTED, 1, 2),
        ("warn", reminded.reference, Milestone.ACTED, 1, 1),
        ("remind", reminded.reference, Milestone.DECIDED, 1, 1),
    }
    assert len(result.actions) == 6
    assert result.sent == 0


def test_a_closed_case_reminds_nobody(
    clock, decide_case, agent, handler, after_sales, department_head
):
    case = decide_case(days_ago=2)
    sweep()
    walk(case, to=Step.CLOSED, by=agent, department=after_sales, person=handler)
    clock(hours=4)

    sweep()

    assert reminders_to(case) == []
    assert Escalation.objects.get(case=case).next_notify_at is None


def test_an_escalation_overtaken_by_a_higher_one_reminds_nobody(
    clock, decide_case, department_head, quality_manager
):
    case = decide_case(days_ago=2)
    sweep()  # the decided milestone: to the department head
    head_escalation = case.escalations.get()
    clock(days=1, hours=1)  # the acted milestone too: on to the quality manager
    sweep()
    case.refresh_from_db()
    assert case.tier == Tier.QUALITY_MANAGER

    clock(days=1, hours=6)
    sweep()

    head_escalation.refresh_from_db()
    assert head_escalation.next_notify_at is None
    assert "head" not in reminders_to(case)


def test_the_periodic_sweep_leaves_its_emails_to_the_workers_and_sends_the_backlog(
    clock, decide_case, department_head, django_capture_on_commit_callbacks, monkeypatch
):
    """``workers_send`` (the periodic task): the emails a batch writes are queued for the
    workers after its commit, not rendered by the sweep; what was due when the sweep began
    and is still unsent (the broker was down) the sweep sends itself."""
    queued: list[list[int]] = []
    monkeypatch.setattr("escalation.notifications._enqueue", queued.append)
    backlog_case = decide_case(days_ago=2)
    with django_capture_on_commit_callbacks(execute=True):
        sweep(workers_send=True)
    backlog = Notification.objects.filter(case=backlog_case)
    assert backlog.count() == 2 and not backlog.filter(sent_at__isnull=False).exists()
    assert mail.outbox == []

    clock(minutes=1)
    new_case = decide_case(days_ago=2)
    with django_capture_on_commit_callbacks(execute=True):
        result = sweep(workers_send=True)

    new = Notification.objects.filter(case=new_case)
    assert result.sent == 2 and {m.to[0] for m in mail.outbox} <= set(
        backlog.values_list("recipient__email", flat=True)
    )
    assert not new.filter(sent_at__isnull=False).exists()
    assert sorted(queued[-1]) == sorted(new.values_list("pk", flat=True))


def test_a_deadline_that_fails_does_not_hold_up_the_others(clock, decide_case, monkeypatch):
    """Fault injection: telling the tier about one case fails (as a broken template or a bug
    would); the sweep logs it, escalates the others, and looks at that one again later."""
    import escalation.batch

    broken, healthy = decide_case(days_ago=2), decide_case(days_ago=2)
    real_notify_many = escalation.batch.notify_many

    def notify_many(notices):
        if any(notice.case.pk == broken.pk for notice in notices):
            raise RuntimeError("template exploded")
        return real_notify_many(notices)

    monkeypatch.setattr(escalation.batch, "notify_many", notify_many)

    # Both in one batch: written set-wise, it fails; handled again one by one, one fails.
    result = sweep()

    assert [a.reference for a in result.actions] == [healthy.reference]
    broken.refresh_from_db()
    assert (broken.tier, broken.escalations.count()) == (0, 0)
    assert deadline_of(broken).breached_at is None
    assert deadline_of(broken).next_check_at == T0 + timedelta(minutes=5)

    monkeypatch.setattr(escalation.batch, "notify_many", real_notify_many)
    clock(minutes=5)
    sweep()
    broken.refresh_from_db()
    assert (broken.tier, broken.escalations.count()) == (1, 1)
