"""Overdue actions escalate exactly once whatever runs at the same time: sweeps overlapping, a
redelivered task, a person changing an action. Committed rows (``transaction=True``); the tests
that need several connections at once run on PostgreSQL only, as those of the cases'
deadlines (tests/escalation/test_sweep_concurrency.py)."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
from django.core import mail
from django.db import connections, transaction
from django.utils import timezone

from complaints.models import Step
from escalation.models import Notification
from escalation.sweep import sweep
from improvement.models import Action, ActionEscalation, ActionEvent

from ..databases import postgresql_only
from ..threads import run_together

pytestmark = [pytest.mark.concurrency, pytest.mark.django_db(transaction=True)]

row_locks = postgresql_only("row locks across connections")

TIMEOUT = 30


@pytest.fixture
def due_today(record, analysed_case):
    """Make ``count`` actions due today, from closed cases (nothing else for the sweep)."""

    def make(count: int) -> list[Action]:
        return [
            record(analysed_case(to=Step.CLOSED), due_on=timezone.localdate()) for _ in range(count)
        ]

    return make


def tomorrow():
    return timezone.now() + timedelta(days=1)


@pytest.mark.pg
@row_locks
def test_sweeps_running_at_once_escalate_each_overdue_action_exactly_once(
    due_today, department_head
):
    actions = due_today(12)
    later = tomorrow()

    def sweep_together(i, barrier):
        barrier.wait()
        return sweep(now=later, batch_size=3)

    results, errors = run_together(4, sweep_together)

    assert errors == []
    assert sum(result.count("escalate") for result in results) == 12
    for action in actions:
        action.refresh_from_db()
        assert action.tier == 1
        [escalation] = ActionEscalation.objects.filter(action=action)
        assert (escalation.from_tier, escalation.to_tier) == (0, 1)
        assert ActionEvent.objects.filter(action=action, kind="escalated").count() == 1
    # Each told the head and the owner, each of them once.
    assert Notification.objects.count() == 24
    assert len(mail.outbox) == 24


def test_the_sweep_run_twice_for_the_same_moment_escalates_once(due_today, department_head):
    [action] = due_today(1)
    later = tomorrow()

    first = sweep(now=later)
    second = sweep(now=later)  # a redelivered task

    assert first.count("escalate") == 1
    assert second.actions == []
    assert ActionEscalation.objects.filter(action=action).count() == 1
    assert len(mail.outbox) == 2


@pytest.mark.pg
@row_locks
def test_a_sweep_does_not_wait_for_an_action_a_person_is_changing(due_today, department_head):
    busy, free = due_today(2)
    locked, release = threading.Event(), threading.Event()

    def person_changing() -> None:
        try:
            with transaction.atomic():
                Action.objects.select_for_update().get(pk=busy.pk)
                locked.set()
                release.wait(TIMEOUT)
        finally:
            connections.close_all()

    person = threading.Thread(target=person_changing)
    person.start()
    later = tomorrow()
    try:
        assert locked.wait(TIMEOUT)
        started = time.monotonic()
        first = sweep(now=later)
        took = time.monotonic() - started
    finally:
        release.set()
        person.join(TIMEOUT)

    assert took < 5  # it skipped the locked action instead of waiting for it
    assert [a.reference for a in first.actions] == [free.reference]

    second = sweep(now=later)

    assert [a.reference for a in second.actions] == [busy.reference]
