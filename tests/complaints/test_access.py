"""Who may see and who may work a case, once per persona.

The case: received (and so owned) by ``agent``, then handed to the After-sales department,
where ``handler`` and ``department_head`` work; ``foreign_handler`` is in Logistics.
"""

from __future__ import annotations

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied
from django.http import Http404

from complaints.access import (
    case_can_work,
    case_get_for_user,
    cases_visible_to,
    cases_workable_by,
)
from complaints.errors import AccessDenied
from complaints.models import Case, CaseEvent, Step
from complaints.services import (
    case_add_note,
    case_assign,
    case_receive,
    case_transition,
    case_update,
)

from ..factories import CustomerFactory, receive_case

# persona: (may see the case, may work the case)
PERSONAS = {
    "agent": (True, True),
    "other_agent": (True, False),
    "handler": (True, True),
    "department_head": (True, True),
    "foreign_handler": (True, False),
    "quality_manager": (True, True),
    "general_manager": (True, True),
    "outsider": (False, False),
}
READ_ONLY = [p for p, (sees, works) in PERSONAS.items() if sees and not works]
NO_WORK = [p for p, (_sees, works) in PERSONAS.items() if not works]


@pytest.fixture
def department_case(case, agent, after_sales):
    """The agent's case, handed to After-sales (it waits there without an owner)."""
    case_assign(case=case, by=agent, department=after_sales)
    case.refresh_from_db()
    return case


@pytest.fixture
def cast(
    request,
    agent,
    other_agent,
    handler,
    department_head,
    foreign_handler,
    quality_manager,
    general_manager,
    outsider,
):
    """Every persona, created up front so each test sees the same cast."""
    return {name: request.getfixturevalue(name) for name in PERSONAS}


def snapshot(case: Case) -> tuple[dict, list[int]]:
    row = Case.objects.values().get(pk=case.pk)
    return row, list(CaseEvent.objects.filter(case=case).values_list("pk", flat=True))


# ------------------------------------------------------------------ reading


@pytest.mark.parametrize(("persona", "expected"), [(p, s) for p, (s, _w) in PERSONAS.items()])
def test_every_member_of_staff_with_a_role_sees_the_case(persona, expected, cast, department_case):
    visible = cases_visible_to(user=cast[persona])

    assert visible.filter(pk=department_case.pk).exists() is expected


@pytest.mark.parametrize("persona", [p for p, (sees, _w) in PERSONAS.items() if sees])
def test_a_persona_who_sees_the_case_gets_it_by_reference(persona, cast, department_case):
    found = case_get_for_user(user=cast[persona], reference=department_case.reference)

    assert found == department_case


def test_an_outsider_gets_not_found_rather_than_forbidden(cast, department_case):
    with pytest.raises(Http404):
        case_get_for_user(user=cast["outsider"], reference=department_case.reference)


def test_an_unknown_reference_is_not_found(cast, department_case):
    with pytest.raises(Http404):
        case_get_for_user(user=cast["agent"], reference="C209901-99999")


def test_an_anonymous_visitor_sees_no_case(department_case):
    anonymous = AnonymousUser()

    assert not cases_visible_to(user=anonymous).exists()
    assert not cases_workable_by(user=anonymous).exists()
    assert case_can_work(user=anonymous, case=department_case) is False
    with pytest.raises(Http404):
        case_get_for_user(user=anonymous, reference=department_case.reference)


def test_a_deactivated_member_of_staff_sees_no_case(agent, department_case):
    agent.is_active = False
    agent.save()

    assert not cases_visible_to(user=agent).exists()
    assert case_can_work(user=agent, case=department_case) is False


# ------------------------------------------------------------------ working


@pytest.mark.parametrize(("persona", "expected"), [(p, w) for p, (_s, w) in PERSONAS.items()])
def test_who_may_work_the_case(persona, expected, cast, department_case):
    assert case_can_work(user=cast[persona], case=department_case) is expected


@pytest.mark.parametrize(("persona", "expected"), [(p, w) for p, (_s, w) in PERSONAS.items()])
def test_the_workable_cases_agree_with_who_may_work_the_case(
    persona, expected, cast, department_case
):
    workable = cases_workable_by(user=cast[persona])

    assert workable.filter(pk=department_case.pk).exists() is expected


@pytest.mark.parametrize("persona", [p for p, (_s, works) in PERSONAS.items() if works])
def test_a_persona_who_may_work_the_case_gets_it_for_writing(persona, cast, department_case):
    found = case_get_for_user(user=cast[persona], reference=department_case.reference, write=True)

    assert found == department_case


@pytest.mark.parametrize("persona", READ_ONLY)
def test_a_read_only_persona_is_forbidden_to_write(persona, cast, department_case):
    with pytest.raises(PermissionDenied):
        case_get_for_user(user=cast[persona], reference=department_case.reference, write=True)


def test_an_outsider_asking_to_write_still_gets_not_found(cast, department_case):
    with pytest.raises(Http404):
        case_get_for_user(user=cast["outsider"], reference=department_case.reference, write=True)


def test_the_owner_may_work_the_case(case, agent, other_agent):
    case_assign(case=case, by=agent, person=other_agent)

    assert case_can_work(user=other_agent, case=case) is True


def test_the_responsible_person_may_work_the_case_from_another_department(
    case, agent, foreign_handler
):
    for target, data in (
        (Step.LISTEN, {}),
        (Step.ANALYSE, {"customer_account": "Loud.", "understanding_confirmed": True}),
    ):
        case_transition(case=case, to=target, by=agent, data=data)
    case_update(case=case, by=agent, data={"responsible_person": foreign_handler})
    case.refresh_from_db()

    assert case.department is None
    assert case_can_work(user=foreign_handler, case=case) is True
    assert cases_workable_by(user=foreign_handler).filter(pk=case.pk).exists()


def test_a_handler_works_only_their_departments_cases(cast, department_case, agent):
    elsewhere = receive_case(by=agent)

    assert list(cases_workable_by(user=cast["handler"])) == [department_case]
    assert list(cases_workable_by(user=cast["foreign_handler"])) == []
    assert set(cases_visible_to(user=cast["handler"])) == {department_case, elsewhere}


def test_managers_may_work_every_case(cast, department_case, other_agent):
    elsewhere = receive_case(by=other_agent)

    for manager in ("quality_manager", "general_manager"):
        assert set(cases_workable_by(user=cast[manager])) == {department_case, elsewhere}


# ------------------------------------------------------------------ services refuse


@pytest.mark.parametrize("persona", NO_WORK)
def test_a_user_who_may_not_work_the_case_cannot_move_it(persona, cast, department_case):
    before = snapshot(department_case)

    with pytest.raises(AccessDenied):
        case_transition(case=department_case, to=Step.LISTEN, by=cast[persona])

    assert snapshot(department_case) == before


@pytest.mark.parametrize("persona", NO_WORK)
def test_a_user_who_may_not_work_the_case_cannot_update_it(persona, cast, department_case):
    before = snapshot(department_case)

    with pytest.raises(AccessDenied):
        case_update(case=department_case, by=cast[persona], data={"urgency": "red"})

    assert snapshot(department_case) == before


@pytest.mark.parametrize("persona", NO_WORK)
def test_a_user_who_may_not_work_the_case_cannot_hand_it_over(persona, cast, department_case):
    before = snapshot(department_case)

    with pytest.raises(AccessDenied):
        case_assign(case=department_case, by=cast[persona], person=cast[persona])

    assert snapshot(department_case) == before


@pytest.mark.parametrize("persona", NO_WORK)
@pytest.mark.parametrize("customer_visible", [False, True], ids=["note", "message"])
def test_a_user_who_may_not_work_the_case_cannot_add_a_note(
    persona, customer_visible, cast, department_case
):
    before = snapshot(department_case)

    with pytest.raises(AccessDenied):
        case_add_note(
            case=department_case,
            by=cast[persona],
            body="Let me in.",
            customer_visible=customer_visible,
        )

    assert snapshot(department_case) == before


@pytest.mark.parametrize("persona", [p for p, (_s, works) in PERSONAS.items() if works])
def test_a_user_who_may_work_the_case_moves_it(persona, cast, department_case):
    case_transition(case=department_case, to=Step.LISTEN, by=cast[persona])

    department_case.refresh_from_db()
    assert department_case.step == Step.LISTEN
    assert department_case.events.last().actor == cast[persona]


@pytest.mark.parametrize(
    ("persona", "may_log"),
    [
        ("agent", True),
        ("department_head", True),
        ("quality_manager", True),
        ("general_manager", True),
        ("handler", False),
        ("foreign_handler", False),
        ("outsider", False),
    ],
)
def test_who_may_log_a_complaint(persona, may_log, cast):
    def log():
        return case_receive(
            by=cast[persona],
            customer=CustomerFactory(),
            channel="phone",
            category="safety",
            description="Sparks.",
            desired_outcome="A refund.",
        )

    if may_log:
        assert log().case.receiver == cast[persona]
    else:
        with pytest.raises(AccessDenied):
            log()
        assert not Case.objects.exists()
