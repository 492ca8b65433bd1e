"""Exactly once, whatever runs at the same time: overlapping sweeps, a redelivered task, a person
holding a case open. Committed rows (``transaction=True``); the tests that need several
connections at once run on PostgreSQL only (SQLite serialises whole-database writes, and has no
row locks to skip).

Each thread opens its own connection and closes it when done (``tests.threads``). The flush after
each test removes what the migrations seeded; ``tests/conftest.py`` puts it back."""

from __future__ import annotations

import threading
import time

import pytest
from django.core import mail
from django.db import connections, transaction

from complaints.models import Case, CaseEvent, Tier
from escalation.models import Deadline, Escalation, Milestone, Notification
from escalation.services import case_escalate
from escalation.sweep import sweep
from escalation.tasks import sweep_deadlines

from ..databases import postgresql_only
from ..threads import run_together

pytestmark = [pytest.mark.concurrency, pytest.mark.django_db(transaction=True)]

row_locks = postgresql_only("row locks across connections")

TIMEOUT = 30


def rows_written() -> dict[str, int]:
    return {
        "escalations": Escalation.objects.count(),
        "events": CaseEvent.objects.count(),
        "notifications": Notification.objects.count(),
        "emails": len(mail.outbox),
    }


@pytest.mark.pg
@row_locks
def test_sweeps_running_at_once_escalate_each_breach_exactly_once(decide_case, department_head):
    cases = [decide_case(days_ago=2) for _ in range(20)]

    # Four at once, in small batches, so that they take turns over the same rows.
    def sweep_together(i, barrier):
        barrier.wait()
        return sweep(batch_size=3)

    results, errors = run_together(4, sweep_together)

    assert errors == []
    assert sum(result.count("escalate") for result in results) == 20
    for case in cases:
        case.refresh_from_db()
        assert case.tier == Tier.DEPARTMENT_HEAD
        [escalation] = Escalation.objects.filter(case=case)
        assert (escalation.milestone, escalation.from_tier, escalation.to_tier) == (
            Milestone.DECIDED,
            0,
            1,
        )
        assert CaseEvent.objects.filter(case=case, kind=CaseEvent.Kind.ESCALATED).count() == 1
    # Each escalation told the head and the owner, each of them once.
    assert Notification.objects.count() == 40
    assert Notification.objects.filter(sent_at__isnull=False, attempts=1).count() == 40
    assert len(mail.outbox) == 40


def test_the_same_breach_escalated_again_after_the_first_committed_changes_nothing(
    decide_case, department_head
):
    case = decide_case(days_ago=2)
    deadline = Deadline.objects.get(case=case, milestone=Milestone.DECIDED)

    def escalate_for_the_breach() -> Escalation | None:
        """What a sweep does for the breach, in a transaction of its own."""
        with transaction.atomic():
            locked = Case.objects.select_for_update().get(pk=case.pk)
            return case_escalate(case=locked, reason=Escalation.Reason.OVERDUE, deadline=deadline)

    first = escalate_for_the_breach()
    before = rows_written()
    second = escalate_for_the_breach()  # a redelivered task, a sweep that raced past the rest

    assert first is not None
    assert second is None
    assert rows_written() == before
    case.refresh_from_db()
    assert case.tier == Tier.DEPARTMENT_HEAD  # not 2


def test_the_sweep_task_delivered_twice_escalates_once(decide_case, department_head):
    case = decide_case(days_ago=2)

    first = sweep_deadlines()  # the task's body, as the worker runs it
    second = sweep_deadlines()  # redelivered (acks_late) after the first had committed

    # The task leaves its emails to the workers' delivery tasks (none run here): the second
    # run finds them due and unsent, and sends them as the outbox's backlog, once.
    assert first == {"warned": 0, "escalated": 1, "reminded": 0, "sent": 0}
    assert second == {"warned": 0, "escalated": 0, "reminded": 0, "sent": 2}
    assert Escalation.objects.filter(case=case).count() == 1
    assert len(mail.outbox) == 2


@pytest.mark.pg
@row_locks
def test_a_sweep_does_not_wait_for_a_case_a_person_is_editing(decide_case, department_head):
    busy, free = decide_case(days_ago=2), decide_case(days_ago=2)
    locked, release = threading.Event(), threading.Event()

    def person_editing() -> None:
        try:
            with transaction.atomic():
                Case.objects.select_for_update().get(pk=busy.pk)
                locked.set()
                release.wait(TIMEOUT)
        finally:
            connections.close_all()

    person = threading.Thread(target=person_editing)
    person.start()
    try:
        assert locked.wait(TIMEOUT)
        started = time.monotonic()
        first = sweep()
        took = time.monotonic() - started
    finally:
        release.set()
        person.join(TIMEOUT)

    assert took < 5  # it skipped the locked case instead of waiting for it
    assert [a.reference for a in first.actions] == [free.reference]
    assert not Escalation.objects.filter(case=busy).exists()

    second = sweep()  # the person has saved

    assert [a.reference for a in second.actions] == [busy.reference]
    busy.refresh_from_db()
    assert busy.tier == Tier.DEPARTMENT_HEAD
