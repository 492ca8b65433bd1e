"""``manage.py sweep_deadlines``: one sweep now, or a forecast of one (``--dry-run --as-of``)."""

from __future__ import annotations

from datetime import UTC, datetime
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from complaints.models import CaseEvent
from escalation.models import Escalation, Notification

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


def sweep_deadlines(*args: str) -> str:
    out = StringIO()
    call_command("sweep_deadlines", *args, stdout=out)
    return out.getvalue()


def test_the_command_escalates_what_is_due_and_prints_the_counts(
    time_machine, decide_case, department_head
):
    time_machine.move_to(T0, tick=False)
    case = decide_case(days_ago=2)

    output = sweep_deadlines()

    assert Escalation.objects.filter(case=case).count() == 1
    assert output.splitlines() == [
        "Sweep at 2026-11-30 09:00 UTC (did):",
        f"  escalate  {case.reference:<16} Decide finished due 2026-11-29 09:00  "
        "Handler -> Department head",
        "0 warned, 1 escalated, 0 reminded, 2 notifications sent.",
    ]


def test_a_dry_run_as_of_a_later_date_prints_the_forecast_and_writes_nothing(
    time_machine, decide_case, department_head
):
    time_machine.move_to(T0, tick=False)
    case = decide_case()  # received now: Decide is due tomorrow at 09:00
    before = (Escalation.objects.count(), CaseEvent.objects.count(), Notification.objects.count())

    output = sweep_deadlines("--dry-run", "--as-of", "2026-12-01T09:00")

    assert output.splitlines() == [
        "Sweep at 2026-12-01 09:00 UTC (would):",
        f"  escalate  {case.reference:<16} Decide finished due 2026-12-01 09:00  "
        "Handler -> Department head",
        "0 warned, 1 escalated, 0 reminded, 0 notifications sent.",
    ]
    after = (Escalation.objects.count(), CaseEvent.objects.count(), Notification.objects.count())
    assert after == before
    case.refresh_from_db()
    assert case.tier == 0


def test_as_of_without_dry_run_is_refused(db):
    with pytest.raises(CommandError, match="--dry-run"):
        sweep_deadlines("--as-of", "2026-12-01T09:00")


@pytest.mark.parametrize("when", ["next tuesday", "2026-13-01T09:00", "2026-02-30T09:00"])
def test_a_date_that_is_not_one_is_refused(db, when):
    with pytest.raises(CommandError, match="Not a date and time"):
        sweep_deadlines("--dry-run", "--as-of", when)
