"""The escalation app's cast, on top of the shared personas: the head of another department,
and cases the sweep has really escalated (no rows made by hand)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from complaints.models import Case, Step
from complaints.roles import Role
from escalation.models import Policy
from escalation.sweep import sweep

from ..factories import receive_case, staff, walk


@pytest.fixture
def foreign_head(db, logistics):
    """The head of Logistics: a department head, but not of the case's department."""
    return staff(Role.DEPARTMENT_HEAD, logistics, username="foreign_head")


@pytest.fixture
def decide_case(agent, handler, after_sales):
    """Make an After-sales case at Decide (the handler responsible), received ``days_ago``."""

    def make(*, days_ago: float = 0, **overrides) -> Case:
        case = receive_case(
            by=agent, received_at=timezone.now() - timedelta(days=days_ago), **overrides
        )
        return walk(case, to=Step.DECIDE, by=agent, department=after_sales, person=handler)

    return make


@pytest.fixture
def overdue_cases(decide_case):
    """Make ``count`` After-sales cases received two days ago and let the sweep escalate their
    overdue "Decide finished" milestone, tier 0 → 1 (the department head)."""

    def make(count: int = 1, *, days_ago: float = 2) -> list[Case]:
        cases = [decide_case(days_ago=days_ago) for _ in range(count)]
        sweep()
        for case in cases:
            case.refresh_from_db()
        return cases

    return make


@pytest.fixture
def escalated_case(overdue_cases):
    """One After-sales case the sweep escalated to its department head (tier 1)."""
    return overdue_cases(1)[0]


@pytest.fixture
def waiting_case(agent, handler, after_sales):
    """An After-sales case at Decide whose policy lets every milestone wait on the customer."""
    Policy.objects.create(
        name="Delays",
        category="service_process",
        pausable_milestones=["decided", "acted", "closed"],
    )
    case = receive_case(by=agent, category="service_process")
    return walk(case, to=Step.DECIDE, by=agent, department=after_sales, person=handler)
