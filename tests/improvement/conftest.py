"""The improvement app's cast, on top of the shared personas: cases the real lifecycle has taken
past Analyse (After-sales, the handler responsible, received by the agent), and actions recorded
from them through the real service."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from complaints.models import Case, Step
from complaints.roles import Role
from improvement import services
from improvement.models import Action

from ..factories import receive_case, staff, walk

# A Monday morning; TIME_ZONE is UTC in the tests, so the due date ends at midnight UTC.
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def clock(time_machine):
    """Time frozen at T0; ``clock(days=…)`` moves it to that long after T0."""
    time_machine.move_to(T0, tick=False)

    def move(**delta) -> datetime:
        moment = T0 + timedelta(**delta)
        time_machine.move_to(moment, tick=False)
        return moment

    return move


@pytest.fixture
def foreign_head(db, logistics):
    """The head of Logistics: a department head, but not of the action's department."""
    return staff(Role.DEPARTMENT_HEAD, logistics, username="foreign_head")


@pytest.fixture
def analysed_case(agent, handler, after_sales):
    """Make an After-sales case that has finished Analyse (at Decide; root cause materials),
    or one walked further with ``to``."""

    def make(*, to: str = Step.DECIDE, **overrides) -> Case:
        case = receive_case(by=agent, **overrides)
        return walk(case, to=to, by=agent, department=after_sales, person=handler)

    return make


@pytest.fixture
def record(handler):
    """Record an action through the service: by the handler, owned by the handler (so After-
    sales), due a week from today, from ``cases``."""

    def make(*cases: Case, by=None, **overrides) -> Action:
        data = {
            "kind": "corrective",
            "root_cause": "materials",
            "cause": "Bearings of one batch wear out within weeks.",
            "title": "Replace the bearing supplier",
            "owner": handler,
            "due_on": timezone.localdate() + timedelta(days=7),
            **overrides,
        }
        return services.action_record(by=by or handler, cases=list(cases), **data)

    return make


@pytest.fixture
def action(record, analysed_case):
    """An open action from one After-sales case at Decide, owned by the handler."""
    return record(analysed_case())


def walk_to(action: Action, status: str, *, by, note: str = "Done as planned.") -> Action:
    """Move an action forward through the real service until it reaches ``status``."""
    order = ["open", "in_progress", "done"]
    while order.index(action.status) < order.index(status):
        target = order[order.index(action.status) + 1]
        services.action_transition(
            action=action, to=target, by=by, note=note if target == "done" else ""
        )
    return action
