"""``complaints.bulk.rows_update``: each row's own values in one statement, as ``bulk_update``
would write them — a NULL in the first row included (PostgreSQL would otherwise type the
column text) — and nothing else touched."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from complaints.bulk import rows_update
from complaints.models import Case, Tier
from escalation.models import Deadline

from ..factories import receive_case

pytestmark = pytest.mark.django_db


def test_each_row_gets_its_own_values_in_one_statement(agent):
    cases = [receive_case(by=agent) for _ in range(3)]
    deadlines = list(Deadline.objects.filter(case__in=cases).order_by("pk"))
    later = timezone.now() + timedelta(hours=5)
    untouched = {d.pk: d.due_at for d in deadlines}
    for i, deadline in enumerate(deadlines):
        deadline.next_check_at = None if i % 2 == 0 else later + timedelta(minutes=i)
        deadline.breached_at = deadline.due_at if i % 3 == 0 else None
        deadline.due_at = later  # not among the fields written: must stay as it is
    tiers = [Tier.DEPARTMENT_HEAD, Tier.HANDLER, Tier.GENERAL_MANAGER]
    for tier, case in zip(tiers, cases, strict=True):
        case.tier = tier

    with CaptureQueriesContext(connection) as queries:
        rows_update(deadlines, ["next_check_at", "breached_at"])
        rows_update(cases, ["tier"])

    assert len(queries) == 2
    stored = {d.pk: d for d in Deadline.objects.filter(pk__in=untouched)}
    for deadline in deadlines:
        assert stored[deadline.pk].next_check_at == deadline.next_check_at
        assert stored[deadline.pk].breached_at == deadline.breached_at
        assert stored[deadline.pk].due_at == untouched[deadline.pk]
    assert [Case.objects.get(pk=c.pk).tier for c in cases] == [1, 0, 3]


def test_no_rows_no_statement():
    with CaptureQueriesContext(connection) as queries:
        rows_update([], ["tier"])
    assert len(queries) == 0
