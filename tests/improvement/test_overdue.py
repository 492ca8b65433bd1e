"""Overdue actions go through the cases' escalation engine: the same sweep (called directly, as
in tests/escalation/test_sweep.py), the same tier ladder, the same notification outbox, once per
breach; a warning the day before; reminders until someone of the tier acknowledges.

The action of ``action`` is recorded at T0 (Monday 2 March 2026, 09:00 UTC) and due on Monday
9 March: warned from Sunday 8 March 00:00, overdue from Tuesday 10 March 00:00."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext

from complaints.errors import AccessDenied, InvalidInput
from complaints.models import Step, Tier
from escalation.models import Escalation, Notification
from escalation.sweep import Planned, sweep
from improvement import services
from improvement.models import Action, ActionEscalation, ActionEvent

from .conftest import T0, walk_to

pytestmark = pytest.mark.django_db

WARN = T0.replace(hour=0) + timedelta(days=6)  # Sunday 8 March, 00:00
DUE = T0.replace(hour=0) + timedelta(days=8)  # Tuesday 10 March, 00:00


@pytest.fixture
def due_action(clock, record, analysed_case):
    """From a closed case: its own deadlines are met, so the sweep has only the action to do."""
    action = record(analysed_case(to=Step.CLOSED))
    assert (action.warn_at, action.due_at) == (WARN, DUE)
    return action


def at(time_machine, moment):
    time_machine.move_to(moment, tick=False)
    return moment


def notified(action: Action, kind: str) -> list[str]:
    rows = Notification.objects.filter(kind=kind).select_related("recipient")
    return sorted(
        n.recipient.username
        for n in rows
        if n.subject in (action, *ActionEscalation.objects.filter(action=action))
    )


def written() -> dict[str, int]:
    return {
        "escalations": ActionEscalation.objects.count(),
        "events": ActionEvent.objects.count(),
        "notifications": Notification.objects.count(),
        "emails": len(mail.outbox),
    }


# ---------------------------------------------------------------- the warning


def test_the_owner_is_warned_once_the_day_before_the_due_date(time_machine, due_action):
    at(time_machine, WARN - timedelta(minutes=1))
    assert sweep().actions == []

    at(time_machine, WARN)
    result = sweep()

    assert result.actions == [Planned("warn", due_action.reference, "", DUE, 0, 0)]
    assert notified(due_action, Notification.Kind.WARNING) == ["handler"]
    assert [m.subject for m in mail.outbox] == [
        f"[Heed] {due_action.reference}: due on March 9, 2026"
    ]
    assert "is due on March 9, 2026" in mail.outbox[0].body
    assert f"/actions/{due_action.pk}/" in mail.outbox[0].body
    assert due_action.events.filter(kind="warned").count() == 1
    due_action.refresh_from_db()
    assert (due_action.warned_at, due_action.next_check_at) == (WARN, DUE)

    at(time_machine, WARN + timedelta(hours=5))
    assert sweep().actions == []
    assert len(mail.outbox) == 1


def test_an_action_owned_by_a_department_warns_its_head(
    time_machine, clock, record, analysed_case, after_sales, department_head
):
    action = record(analysed_case(to=Step.CLOSED), owner=None, department=after_sales)
    at(time_machine, WARN)

    sweep()

    assert notified(action, Notification.Kind.WARNING) == ["head"]


# ---------------------------------------------------------------- the breach


def test_an_overdue_action_is_escalated_one_tier_up_once(time_machine, due_action, department_head):
    at(time_machine, DUE)

    result = sweep()

    assert result.actions == [Planned("escalate", due_action.reference, "", DUE, 0, 1)]
    due_action.refresh_from_db()
    assert (due_action.tier, due_action.breached_at, due_action.next_check_at) == (1, DUE, None)
    [escalation] = due_action.escalations.all()
    assert (escalation.round, escalation.from_tier, escalation.to_tier) == (0, 0, 1)
    assert (escalation.due_at, escalation.at) == (DUE, DUE)
    [event] = due_action.events.filter(kind="escalated")
    assert (event.actor, event.changes) == (None, {"tier": [0, 1]})
    # The head of the tier and the owner, by email through the outbox; the warning it skipped
    # is moot.
    assert notified(due_action, Notification.Kind.ESCALATED) == ["handler", "head"]
    assert notified(due_action, Notification.Kind.WARNING) == []
    assert (
        sorted(m.subject for m in mail.outbox)
        == [f"[Heed] {due_action.reference}: overdue, escalated to Department head"] * 2
    )
    # Not a case escalation: the cases' figures and queues do not count it.
    assert not Escalation.objects.exists()

    before = written()
    at(time_machine, DUE + timedelta(minutes=1))
    assert sweep().actions == []
    assert written() == before


def test_a_done_action_is_never_overdue(time_machine, due_action, handler):
    walk_to(due_action, "done", by=handler)
    at(time_machine, DUE + timedelta(days=30))

    assert sweep().actions == []
    assert not ActionEscalation.objects.exists()


def test_an_action_sent_back_to_work_after_its_due_date_escalates(
    time_machine, due_action, handler, quality_manager, department_head
):
    walk_to(due_action, "done", by=handler)
    at(time_machine, DUE + timedelta(days=1))
    services.action_transition(
        action=due_action, to="in_progress", by=quality_manager, note="Still the old bearings."
    )

    result = sweep()

    assert [(a.action, a.to_tier) for a in result.actions] == [("escalate", 1)]


def test_a_new_due_date_is_a_new_round_that_escalates_once_more(
    time_machine, due_action, department_head, quality_manager, handler
):
    at(time_machine, DUE)
    sweep()  # round 0: to the department head
    later = due_action.due_on + timedelta(days=7)

    with pytest.raises(AccessDenied):  # escalated: the owner no longer moves its due date
        services.action_update(
            action=due_action, by=handler, data={"due_on": later}, note="More time."
        )
    services.action_update(
        action=due_action, by=department_head, data={"due_on": later}, note="Parts on order."
    )
    due_action.refresh_from_db()
    assert (due_action.round, due_action.tier, due_action.breached_at) == (1, 1, None)

    at(time_machine, DUE + timedelta(days=7))
    result = sweep()

    assert [(a.action, a.from_tier, a.to_tier) for a in result.actions] == [("escalate", 1, 2)]
    assert sorted(due_action.escalations.values_list("round", "to_tier")) == [(0, 1), (1, 2)]
    assert notified(due_action, Notification.Kind.ESCALATED).count("quality") == 1


def test_at_the_general_manager_an_overdue_action_stays_there(
    time_machine, due_action, department_head, quality_manager, general_manager
):
    for tier in (1, 2, 3, 3):
        at(time_machine, due_action.due_at)
        sweep()
        due_action.refresh_from_db()
        assert due_action.tier == tier
        services.action_update(
            action=due_action,
            by=general_manager,
            data={"due_on": due_action.due_on + timedelta(days=7)},
            note="One more week.",
        )

    assert sorted(due_action.escalations.values_list("from_tier", "to_tier")) == [
        (0, 1),
        (1, 2),
        (2, 3),
        (3, 3),
    ]


# ---------------------------------------------------------------- reminders


def test_an_unacknowledged_escalation_reminds_its_tier_until_acknowledged(
    time_machine, due_action, department_head, foreign_head, handler
):
    at(time_machine, DUE)
    sweep()
    escalation = due_action.escalations.get()

    at(time_machine, DUE + timedelta(hours=3, minutes=59))
    assert sweep().actions == []
    at(time_machine, DUE + timedelta(hours=4))
    result = sweep()

    assert result.actions == [Planned("remind", due_action.reference, "", None, 1, 1)]
    assert notified(due_action, Notification.Kind.REMINDER) == ["head"]
    assert f"[Heed] {due_action.reference}: overdue action still not acknowledged" in [
        m.subject for m in mail.outbox
    ]

    for refused in (foreign_head, handler):
        with pytest.raises(AccessDenied):
            services.action_escalation_acknowledge(escalation=escalation, by=refused)
    services.action_escalation_acknowledge(escalation=escalation, by=department_head)
    with pytest.raises(InvalidInput):
        services.action_escalation_acknowledge(escalation=escalation, by=department_head)

    at(time_machine, DUE + timedelta(days=2))
    assert sweep().actions == []
    escalation.refresh_from_db()
    assert (escalation.acknowledged_by, escalation.next_notify_at) == (department_head, None)
    assert due_action.events.filter(kind="acknowledged", actor=department_head).count() == 1


def test_a_done_action_reminds_nobody(time_machine, due_action, department_head, handler):
    at(time_machine, DUE)
    sweep()
    walk_to(due_action, "done", by=handler)

    at(time_machine, DUE + timedelta(hours=4))
    assert sweep().actions == []
    assert notified(due_action, Notification.Kind.REMINDER) == []
    assert due_action.escalations.get().next_notify_at is None


def test_an_escalated_action_back_at_work_after_done_reminds_its_tier_again(
    time_machine, due_action, department_head, handler, quality_manager
):
    at(time_machine, DUE)
    sweep()  # escalated to the department head, who does not acknowledge it
    walk_to(due_action, "done", by=handler)
    at(time_machine, DUE + timedelta(hours=4))
    sweep()  # the reminder is moot while the action is done: it stops
    escalation = due_action.escalations.get()
    assert escalation.next_notify_at is None

    back = at(time_machine, DUE + timedelta(hours=5))
    services.action_transition(
        action=due_action, to="in_progress", by=quality_manager, note="Still the old bearings."
    )
    escalation.refresh_from_db()
    assert escalation.next_notify_at == back
    result = sweep()

    assert result.actions == [Planned("remind", due_action.reference, "", None, 1, 1)]
    assert notified(due_action, Notification.Kind.REMINDER) == ["head"]
    escalation.refresh_from_db()
    assert escalation.next_notify_at == back + timedelta(hours=4)


def test_an_acknowledged_escalation_stays_quiet_when_the_action_is_back_at_work(
    time_machine, due_action, department_head, handler, quality_manager
):
    at(time_machine, DUE)
    sweep()
    services.action_escalation_acknowledge(
        escalation=due_action.escalations.get(), by=department_head
    )
    walk_to(due_action, "done", by=handler)
    at(time_machine, DUE + timedelta(hours=5))
    services.action_transition(
        action=due_action, to="in_progress", by=quality_manager, note="Still the old bearings."
    )

    assert sweep().actions == []
    assert due_action.escalations.get().next_notify_at is None


# ---------------------------------------------------------------- one engine


def test_cases_and_actions_escalate_in_the_same_sweep(
    time_machine, due_action, analysed_case, department_head
):
    at(time_machine, DUE)
    case = analysed_case()  # received now, at Decide: its one-day limit is tomorrow
    at(time_machine, DUE + timedelta(days=1, minutes=1))

    result = sweep()

    assert {(a.reference, a.action) for a in result.actions} == {
        (case.reference, "escalate"),
        (due_action.reference, "escalate"),
    }


def test_a_dry_run_forecasts_the_actions_and_writes_nothing(
    time_machine, clock, record, analysed_case, department_head
):
    warned = record(analysed_case(to=Step.CLOSED), due_on=T0.date() + timedelta(days=8))
    overdue = record(analysed_case(to=Step.CLOSED))
    reminded = record(analysed_case(to=Step.CLOSED), due_on=T0.date() + timedelta(days=1))
    at(time_machine, T0.replace(hour=0) + timedelta(days=3))
    sweep()  # the third one: escalated now, reminded four hours later
    before = written() | {"actions": list(Action.objects.values_list("pk", "tier", "warned_at"))}

    result = sweep(now=DUE + timedelta(hours=1), dry_run=True)

    assert written() | {"actions": list(Action.objects.values_list("pk", "tier", "warned_at"))} == (
        before
    )
    assert {(a.action, a.reference, a.from_tier, a.to_tier) for a in result.actions} == {
        ("warn", warned.reference, 0, 0),
        ("escalate", overdue.reference, 0, 1),
        ("remind", reminded.reference, 1, 1),
    }


def sweep_queries() -> int:
    with CaptureQueriesContext(connection) as queries:
        sweep()
    return len(queries)


def test_the_sweep_reads_no_action_that_is_not_due(time_machine, clock, record, analysed_case):
    # Closed cases: nothing of theirs is due, so only the actions could add queries.
    cases = [analysed_case(to=Step.CLOSED) for _ in range(3)]
    with_none = sweep_queries()

    for case in cases:
        record(case, due_on=(T0 + timedelta(days=60)).date())
    assert Action.objects.count() == 3

    assert sweep_queries() == with_none


# Each overdue action costs 10 queries, however many there are: the savepoints of its own
# handling and of its escalation row (4), that row (1), the reminder interval (1: the
# policies), the action and its history row (2), the tier's people (1) and the email rows (1).
# Locking a batch is one query, and so is each chunk of emails sent with their subjects, and
# marking that chunk sent (notifications.CHUNK).
QUERIES_PER_OVERDUE_ACTION = 10


def test_the_sweeps_queries_grow_linearly_with_the_overdue_actions(
    time_machine, clock, record, analysed_case, department_head
):
    cases = [analysed_case(to=Step.CLOSED) for _ in range(10)]
    now = T0

    def overdue(count: int) -> int:
        nonlocal now
        for _ in range(count):
            record(cases.pop(), due_on=now.date())
        now = at(time_machine, now + timedelta(days=1))
        queries = sweep_queries()
        # Seen: no reminders in the next measurement.
        for escalation in ActionEscalation.objects.filter(acknowledged_at__isnull=True):
            services.action_escalation_acknowledge(escalation=escalation, by=department_head)
        return queries

    overdue(1)  # once first: the content types' cache, filled once per process
    one, three, five = overdue(1), overdue(3), overdue(5)

    assert ActionEscalation.objects.count() == 10
    per_action = (three - one) / 2
    assert five - three == 2 * per_action
    assert per_action == QUERIES_PER_OVERDUE_ACTION


def test_the_action_escalated_in_the_queue_keeps_the_cases_ladder(
    time_machine, due_action, department_head
):
    """The same membership rules: tier 1 is the head of the action's department."""
    at(time_machine, DUE)
    sweep()

    assert due_action.escalations.get().to_tier == Tier.DEPARTMENT_HEAD
    assert notified(due_action, Notification.Kind.ESCALATED) == ["handler", "head"]
