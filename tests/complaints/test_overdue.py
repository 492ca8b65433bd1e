""" "Overdue" for a case is one rule (``Case.is_past_due``, ``overdue_q`` in SQL): the lists,
the case page and the API said it with ``<`` and the escalation queue with ``<=``. The two
forms agree on every kind of case, the moment of the deadline itself included (not late yet)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from complaints.models import Case, Step
from complaints.selectors import overdue_q

from ..factories import receive_case, walk

pytestmark = pytest.mark.django_db


def test_the_python_and_the_sql_rule_agree(agent, after_sales, handler):
    now = timezone.now()
    cases = {
        "late": receive_case(by=agent),
        "due now": receive_case(by=agent),
        "not yet": receive_case(by=agent),
        "closed": walk(
            receive_case(by=agent), to=Step.CLOSED, by=agent, department=after_sales, person=handler
        ),
    }
    for name, moment in [
        ("late", now - timedelta(seconds=1)),
        ("due now", now),
        ("not yet", now + timedelta(seconds=1)),
    ]:
        Case.objects.filter(pk=cases[name].pk).update(due_at=moment)

    fresh = {name: Case.objects.get(pk=case.pk) for name, case in cases.items()}
    in_python = {name for name, case in fresh.items() if case.is_past_due(now)}
    in_sql = set(
        Case.objects.filter(overdue_q(now), pk__in=[c.pk for c in fresh.values()]).values_list(
            "reference", flat=True
        )
    )

    assert in_python == {"late"}
    assert in_sql == {fresh["late"].reference}
    assert fresh["closed"].due_at is None  # what lets the SQL form leave out closed cases
