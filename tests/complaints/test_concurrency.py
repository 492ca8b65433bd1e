"""Several database connections at once, on PostgreSQL (SQLite serialises whole-database writes,
so it cannot show a lost update or a lock).

Each thread opens its own connection and closes it when done. The flush after each test removes
the roles migration 0002 made; ``factories.staff`` makes them again when they are missing.
"""

from __future__ import annotations

import re

import pytest

from complaints.errors import CaseConflict
from complaints.models import Case, CaseEvent, Customer, Step, User
from complaints.roles import Role
from complaints.services import case_receive, case_transition, case_update, customer_get_or_create

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
def agent_pk():
    return staff(Role.AGENT, username="agent").pk


@pytest.fixture
def case_pk(agent_pk):
    return receive_case(by=User.objects.get(pk=agent_pk)).pk


def test_two_agents_advancing_the_same_case_at_once_one_wins_the_other_gets_a_conflict(
    agent_pk, case_pk
):
    def advance(i, barrier):
        # Both read the case (version 1) before either writes.
        case = Case.objects.get(pk=case_pk)
        by = User.objects.get(pk=agent_pk)
        barrier.wait()
        return case_transition(
            case=case, to=Step.LISTEN, by=by, note=f"thread {i}", expected_version=case.version
        )

    results, errors = run_together(2, advance)

    assert len(results) == 1
    assert len(errors) == 1
    assert isinstance(errors[0], CaseConflict)
    case = Case.objects.get(pk=case_pk)
    assert case.step == Step.LISTEN
    assert case.version == 2
    moves = CaseEvent.objects.filter(case=case, kind="step")
    assert moves.count() == 1
    assert moves.get().note == results[0].note


def test_two_concurrent_updates_from_the_same_read_lose_nothing(agent_pk, case_pk):
    """The second writer must not silently overwrite the first: it gets a conflict."""

    def update(i, barrier):
        case = Case.objects.get(pk=case_pk)
        by = User.objects.get(pk=agent_pk)
        barrier.wait()
        case_update(case=case, by=by, data={"product": f"written by {i}"})
        return i

    results, errors = run_together(2, update)

    assert len(results) == 1
    assert [type(e) for e in errors] == [CaseConflict]
    case = Case.objects.get(pk=case_pk)
    assert case.product == f"written by {results[0]}"
    assert case.version == 2
    [event] = CaseEvent.objects.filter(case=case, kind="updated")
    assert event.changes["product"][1] == case.product


def test_twenty_concurrent_intakes_get_twenty_distinct_references(agent_pk):
    customer_pk = CustomerFactory().pk

    def intake(i, barrier):
        by = User.objects.get(pk=agent_pk)
        customer = Customer.objects.get(pk=customer_pk)
        barrier.wait()
        return case_receive(
            by=by,
            customer=customer,
            channel="phone",
            category="product_quality",
            description=f"Complaint {i}",
            desired_outcome="A repair.",
        ).case.reference

    references, errors = run_together(20, intake)

    assert errors == []
    assert len(references) == 20
    assert len(set(references)) == 20
    assert all(re.fullmatch(r"C\d{6}-\d{5}", r) for r in references)
    assert sorted(int(r[-5:]) for r in references) == list(range(1, 21))
    assert Case.objects.count() == 20


def test_concurrent_intakes_for_the_same_new_phone_create_one_customer():
    def intake(i, barrier):
        barrier.wait()
        return customer_get_or_create(name=f"Caller {i}", phone="138 0013 8000").pk

    found, errors = run_together(8, intake)

    assert errors == []
    assert Customer.objects.filter(phone="+8613800138000").count() == 1
    assert set(found) == {Customer.objects.get().pk}
