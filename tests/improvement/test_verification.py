"""Verifying a done action: who may, the evidence note, and the observation counted by the
database at that moment — no new case of its root-cause category (of the same department or
product as its cases, if asked) in the last N days — stored with the verification. A new case
refuses it, unless the verifier says why it stands anyway."""

from __future__ import annotations

from datetime import timedelta

import pytest

from complaints import services as case_services
from complaints.errors import AccessDenied, InvalidInput, TransitionRefused
from complaints.models import Step
from complaints.roles import Role
from improvement import services
from improvement.evidence import recurrence_count
from improvement.models import Verification

from ..factories import receive_case, staff, walk
from .conftest import T0, walk_to

pytestmark = pytest.mark.django_db


@pytest.fixture
def done(clock, record, analysed_case, handler):
    """An action from a case received 40 days before T0, now done by its owner."""
    case = analysed_case(received_at=T0 - timedelta(days=40))
    action = record(case)
    return walk_to(action, "done", by=handler, note="New supplier since February.")


@pytest.fixture
def new_case(agent, handler, after_sales, logistics):
    """A case received ``days_ago`` before T0, analysed with ``root_cause``."""

    def make(
        *,
        days_ago: float,
        root_cause="materials",
        department=after_sales,
        product="Washing machine W-200",
    ):
        case = receive_case(by=agent, product=product, received_at=T0 - timedelta(days=days_ago))
        walk(case, to=Step.ANALYSE, by=agent, department=department, person=handler)
        case_services.case_update(
            case=case,
            by=agent,
            data={
                "validity": "valid",
                "root_cause_category": root_cause,
                "department": department,
                "responsible_person": handler,
            },
        )
        return case

    return make


def test_a_quality_manager_verifies_a_done_action_with_a_note(done, quality_manager):
    verification = services.action_verify(
        action=done, by=quality_manager, note="Three months of deliveries checked."
    )

    done.refresh_from_db()
    assert (done.status, done.closed_at) == ("verified", T0)
    assert (verification.by, verification.note, verification.window_days) == (
        quality_manager,
        "Three months of deliveries checked.",
        None,
    )
    event = done.events.latest("pk")
    assert (event.from_status, event.to_status, event.actor) == (
        "done",
        "verified",
        quality_manager,
    )


def test_with_no_new_case_in_the_window_the_count_and_window_are_stored(
    done, quality_manager, new_case
):
    new_case(days_ago=31, root_cause="materials")  # before the window
    new_case(days_ago=2, root_cause="people")  # another root cause

    verification = services.action_verify(
        action=done, by=quality_manager, note="A month without a bearing complaint.", window_days=30
    )

    verification.refresh_from_db()
    assert (verification.window_days, verification.cases_found, verification.found) == (30, 0, [])
    assert verification.window_start == T0 - timedelta(days=30)
    assert done.events.latest("pk").changes == {
        "status": ["done", "verified"],
        "window_days": [None, 30],
        "cases_found": [None, 0],
    }


def test_a_new_case_of_that_root_cause_refuses_the_verification(done, quality_manager, new_case):
    recurred = new_case(days_ago=3)

    with pytest.raises(TransitionRefused) as refused:
        services.action_verify(action=done, by=quality_manager, note="Looks fine.", window_days=30)

    assert refused.value.messages == [
        "1 new case of this root-cause category arrived in the last 30 days "
        f"({recurred.reference}). Send the action back to in progress, or give a reason to "
        "verify it anyway."
    ]
    done.refresh_from_db()
    assert done.status == "done"
    assert not Verification.objects.exists()


def test_the_verifier_may_verify_despite_new_cases_with_a_reason(done, quality_manager, new_case):
    recurred = new_case(days_ago=3)

    verification = services.action_verify(
        action=done,
        by=quality_manager,
        note="The new case is an old machine from before the change.",
        window_days=30,
        override_reason="Built before the new supplier's bearings.",
    )

    assert (verification.cases_found, verification.found) == (1, [recurred.reference])
    assert verification.override_reason == "Built before the new supplier's bearings."
    done.refresh_from_db()
    assert done.status == "verified"


def test_the_actions_own_case_inside_the_window_counts(done, quality_manager):
    # Its case arrived 40 days ago: a 60-day window has not passed without a case.
    with pytest.raises(TransitionRefused):
        services.action_verify(action=done, by=quality_manager, note="Fine.", window_days=60)

    services.action_verify(action=done, by=quality_manager, note="Fine.", window_days=39)


def test_same_department_counts_only_cases_of_its_cases_departments(
    done, quality_manager, new_case, logistics
):
    new_case(days_ago=3, department=logistics)

    with pytest.raises(TransitionRefused):
        services.action_verify(action=done, by=quality_manager, note="x", window_days=30)
    verification = services.action_verify(
        action=done, by=quality_manager, note="x", window_days=30, same_department=True
    )

    assert (verification.same_department, verification.cases_found) == (True, 0)


def test_same_product_counts_only_cases_of_its_cases_products(done, quality_manager, new_case):
    new_case(days_ago=3, product="Kettle K-10")
    same = new_case(days_ago=4, product="Washing machine W-200")

    result = recurrence_count(action=done, window_days=30, until=T0, same_product=True)

    assert (result.count, result.references) == (1, [same.reference])


def test_the_evidence_is_counted_in_two_queries_whatever_the_number_of_cases(
    done, new_case, django_assert_num_queries
):
    for days in range(1, 13):
        new_case(days_ago=days)

    with django_assert_num_queries(2):
        result = recurrence_count(
            action=done, window_days=30, until=T0, same_department=True, same_product=True
        )

    assert result.count == 12
    assert len(result.references) == 12


@pytest.mark.parametrize(
    ("persona", "message"),
    [
        ("handler", "Verifying needs a quality manager or the general manager"),
        ("department_head", "Verifying needs a quality manager or the general manager"),
        ("agent", "Verifying needs a quality manager or the general manager"),
    ],
)
def test_only_quality_and_general_managers_verify(request, done, persona, message):
    with pytest.raises(AccessDenied) as refused:
        services.action_verify(action=done, by=request.getfixturevalue(persona), note="Fine.")

    assert refused.value.messages[0].startswith(message)
    done.refresh_from_db()
    assert done.status == "done"


def test_the_general_manager_verifies_too(done, general_manager):
    services.action_verify(action=done, by=general_manager, note="Seen on site.")

    done.refresh_from_db()
    assert done.status == "verified"


def test_a_quality_manager_does_not_verify_their_own_action(
    clock, record, analysed_case, quality_manager, general_manager
):
    action = record(analysed_case(), by=quality_manager, owner=quality_manager)
    walk_to(action, "done", by=quality_manager)

    with pytest.raises(AccessDenied):
        services.action_verify(action=action, by=quality_manager, note="Mine works.")

    services.action_verify(action=action, by=general_manager, note="Checked by someone else.")
    action.refresh_from_db()
    assert action.status == "verified"


def test_whoever_marked_the_action_done_does_not_verify_it(
    clock, action, handler, quality_manager, general_manager
):
    services.action_transition(action=action, to="in_progress", by=handler)
    services.action_transition(action=action, to="done", by=quality_manager, note="Swapped.")
    action.refresh_from_db()
    assert action.done_by == quality_manager

    with pytest.raises(AccessDenied) as refused:
        services.action_verify(action=action, by=quality_manager, note="My own work is fine.")

    assert refused.value.messages == [
        "Verifying needs a quality manager or the general manager who neither owns the action "
        "nor marked it done."
    ]
    services.action_verify(action=action, by=general_manager, note="Checked by someone else.")
    action.refresh_from_db()
    assert action.status == "verified"


def test_sent_back_and_done_again_by_the_owner_the_first_doer_may_verify(
    clock, action, handler, quality_manager
):
    services.action_transition(action=action, to="done", by=quality_manager, note="Swapped.")
    services.action_transition(
        action=action, to="in_progress", by=handler, note="Not all machines yet."
    )
    action.refresh_from_db()
    assert (action.done_at, action.done_by) == (None, None)
    services.action_transition(action=action, to="done", by=handler, note="All machines now.")

    services.action_verify(action=action, by=quality_manager, note="Checked.")

    action.refresh_from_db()
    assert action.status == "verified"


def test_a_member_of_the_owner_department_does_not_verify_an_action_with_no_owner_named(
    clock, record, analysed_case, after_sales, handler, quality_manager
):
    colleague = staff(Role.QUALITY_MANAGER, after_sales, username="after_sales_quality")
    action = record(analysed_case(), owner=None, department=after_sales)
    walk_to(action, "done", by=handler)

    with pytest.raises(AccessDenied):
        services.action_verify(action=action, by=colleague, note="Our department's work.")

    services.action_verify(action=action, by=quality_manager, note="Checked from outside.")
    action.refresh_from_db()
    assert action.status == "verified"


def test_with_an_owner_named_a_quality_manager_of_its_department_may_verify(
    clock, action, after_sales
):
    colleague = staff(Role.QUALITY_MANAGER, after_sales, username="after_sales_quality")
    walk_to(action, "done", by=action.owner)

    services.action_verify(action=action, by=colleague, note="The handler's work, checked.")

    action.refresh_from_db()
    assert action.status == "verified"


def test_only_a_done_action_is_verified(action, quality_manager):
    with pytest.raises(TransitionRefused) as refused:
        services.action_verify(action=action, by=quality_manager, note="Fine.")

    assert refused.value.messages == ["Only a done action can be verified."]


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"note": " "}, "note", "Write down the evidence."),
        ({"note": "x", "window_days": 0}, "window_days", "Count between 1 and 3650 days."),
        (
            {"note": "x", "same_department": True},
            "window_days",
            "Say over how many days no new case arrived.",
        ),
    ],
)
def test_verification_input_is_checked_and_nothing_written(
    done, quality_manager, data, field, message
):
    with pytest.raises(InvalidInput) as refused:
        services.action_verify(action=done, by=quality_manager, **data)

    assert refused.value.fields[field] == [message]
    done.refresh_from_db()
    assert done.status == "done"
    assert not Verification.objects.exists()
