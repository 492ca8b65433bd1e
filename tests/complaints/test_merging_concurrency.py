"""Merges and intakes at the same time, on PostgreSQL (row locks across connections; SQLite
serialises whole-database writes). Each thread has its own connection (``tests/threads.py``)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from complaints.errors import CaseConflict, TransitionRefused
from complaints.merging import case_merge
from complaints.models import Case, CaseEvent, Customer, User
from complaints.repeats import REPEAT_WINDOW
from complaints.roles import Role
from complaints.services import case_receive

from ..databases import postgresql_only
from ..factories import CustomerFactory, receive_case, staff
from ..threads import run_together

pytestmark = [
    pytest.mark.pg,
    pytest.mark.concurrency,
    postgresql_only("row locks across connections"),
    pytest.mark.django_db(transaction=True),
]


@pytest.fixture
def manager_pk():
    return staff(Role.QUALITY_MANAGER, username="quality").pk


def expected_repeat_of(case: Case) -> int | None:
    """The flag's definition (complaints.repeats), worked out again from scratch."""
    earlier = (
        Case.objects.filter(
            customer_id=case.customer_id,
            merged_into__isnull=True,
            received_at__lt=case.received_at,
            received_at__gte=case.received_at - REPEAT_WINDOW,
        )
        .order_by("-received_at", "-pk")
        .first()
    )
    return None if case.merged_into_id or earlier is None else earlier.pk


def test_one_case_merged_into_two_others_at_once_is_merged_once(manager_pk):
    by = User.objects.get(pk=manager_pk)
    customer = CustomerFactory()
    first = receive_case(by=by, customer=customer, received_at=timezone.now() - timedelta(days=2))
    second = receive_case(by=by, customer=customer, received_at=timezone.now() - timedelta(days=1))
    duplicate = receive_case(by=by, customer=customer)

    def merge(i, barrier):
        survivor = Case.objects.get(pk=(first, second)[i].pk)
        absorbed = Case.objects.get(pk=duplicate.pk)
        barrier.wait()
        return case_merge(
            survivor=survivor,
            absorbed=absorbed,
            by=User.objects.get(pk=manager_pk),
            note=f"Merge {i}",
        )

    results, errors = run_together(2, merge)

    assert len(results) == 1
    assert len(errors) == 1 and isinstance(errors[0], CaseConflict | TransitionRefused)
    duplicate.refresh_from_db()
    assert duplicate.merged_into_id == results[0].case_id
    assert duplicate.events.filter(kind=CaseEvent.Kind.MERGED).count() == 1
    assert CaseEvent.objects.filter(kind=CaseEvent.Kind.MERGED).count() == 2


def test_two_cases_merged_into_each_other_at_once_neither_deadlocks_nor_both_merge(manager_pk):
    by = User.objects.get(pk=manager_pk)
    customer = CustomerFactory()
    at = timezone.now() - timedelta(hours=1)  # received together: either may survive
    one = receive_case(by=by, customer=customer, received_at=at)
    other = receive_case(by=by, customer=customer, received_at=at)

    def merge(i, barrier):
        survivor, absorbed = (one, other) if i == 0 else (other, one)
        survivor = Case.objects.get(pk=survivor.pk)
        absorbed = Case.objects.get(pk=absorbed.pk)
        barrier.wait()
        return case_merge(
            survivor=survivor, absorbed=absorbed, by=User.objects.get(pk=manager_pk), note="Same"
        )

    results, errors = run_together(2, merge)

    assert len(results) == 1
    assert len(errors) == 1 and isinstance(errors[0], CaseConflict | TransitionRefused)
    merged = Case.objects.filter(merged_into__isnull=False)
    assert merged.count() == 1
    assert merged.get().merged_into_id == results[0].case_id


def test_concurrent_intakes_of_one_customer_each_see_the_others_case(manager_pk):
    """Each received in another month, so that the month's reference counter does not
    serialise them: only the customer's lock does."""
    customer_pk = CustomerFactory().pk
    now = timezone.now()

    def intake(i, barrier):
        by = User.objects.get(pk=manager_pk)
        customer = Customer.objects.get(pk=customer_pk)
        barrier.wait()
        return case_receive(
            by=by,
            customer=customer,
            channel="phone",
            category="product_quality",
            description=f"Call {i}",
            desired_outcome="A repair.",
            received_at=now - timedelta(days=31 * i),
        ).case.pk

    _created, errors = run_together(6, intake)

    assert errors == []
    cases = list(Case.objects.order_by("received_at", "pk"))
    assert len(cases) == 6
    assert cases[0].repeat_of_id is None
    # Each later case repeats the one just before it: no intake missed a concurrent one.
    assert [c.repeat_of_id for c in cases[1:]] == [c.pk for c in cases[:-1]]


def test_a_merge_and_intakes_of_the_same_customer_at_once_leave_every_flag_right(manager_pk):
    by = User.objects.get(pk=manager_pk)
    customer = CustomerFactory()
    survivor = receive_case(
        by=by, customer=customer, received_at=timezone.now() - timedelta(days=9)
    )
    absorbed = receive_case(
        by=by, customer=customer, received_at=timezone.now() - timedelta(days=5)
    )

    def work(i, barrier):
        me = User.objects.get(pk=manager_pk)
        barrier.wait()
        if i == 0:
            return case_merge(
                survivor=Case.objects.get(pk=survivor.pk),
                absorbed=Case.objects.get(pk=absorbed.pk),
                by=me,
                note="Same drum",
            )
        return case_receive(
            by=me,
            customer=Customer.objects.get(pk=customer.pk),
            channel="phone",
            category="product_quality",
            description=f"Call {i}",
            desired_outcome="A repair.",
            received_at=timezone.now() - timedelta(days=i),
        )

    _results, errors = run_together(4, work)

    assert errors == []
    for case in Case.objects.all():
        assert case.repeat_of_id == expected_repeat_of(case), case.reference
