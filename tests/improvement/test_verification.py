"""Verifying a done action: who may, the evidence note, and the observation counted by the
database at that moment — no new case of its root-cause category (of the same department or
product as its cases, if asked) since the action was done, at least N days ago — stored with
the verification and the window it counted. A new case, or asking before the N days have
passed, refuses it, unless the verifier says why it stands anyway."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import translation

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
def new_case(clock, agent, handler, after_sales, logistics):
    """A case received ``days`` after T0 (before it, if negative), analysed with
    ``root_cause``; the clock stays at that moment."""

    def make(
        *,
        days: float,
        root_cause="materials",
        department=after_sales,
        product="Washing machine W-200",
    ):
        clock(days=days)
        case = receive_case(by=agent, product=product)
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
    done, clock, quality_manager, new_case
):
    new_case(days=-1, root_cause="materials")  # before the action was done
    new_case(days=2, root_cause="people")  # another root cause
    now = clock(days=30)

    verification = services.action_verify(
        action=done, by=quality_manager, note="A month without a bearing complaint.", window_days=30
    )

    verification.refresh_from_db()
    assert (verification.window_days, verification.cases_found, verification.found) == (30, 0, [])
    assert (verification.window_start, verification.window_end) == (T0, now)
    assert verification.override_reason == ""
    assert done.events.latest("pk").changes == {
        "status": ["done", "verified"],
        "window_days": [None, 30],
        "cases_found": [None, 0],
    }


def test_a_new_case_of_that_root_cause_refuses_the_verification(
    done, clock, quality_manager, new_case
):
    recurred = new_case(days=3)
    clock(days=30)

    with pytest.raises(TransitionRefused) as refused:
        services.action_verify(action=done, by=quality_manager, note="Looks fine.", window_days=30)

    assert refused.value.messages == [
        "1 new case of this root-cause category arrived since the action was done on March 2, "
        f"2026, 9 a.m. ({recurred.reference}). Send the action back to in progress, or give a "
        "reason to verify it anyway."
    ]
    done.refresh_from_db()
    assert done.status == "done"
    assert not Verification.objects.exists()


def test_the_verifier_may_verify_despite_new_cases_with_a_reason(
    done, clock, quality_manager, new_case
):
    recurred = new_case(days=3)
    clock(days=30)

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


def test_verifying_before_the_days_have_passed_since_done_is_refused_with_the_date(
    done, clock, quality_manager
):
    clock(days=10)

    with pytest.raises(TransitionRefused) as refused:
        services.action_verify(action=done, by=quality_manager, note="Fine.", window_days=30)

    assert refused.value.messages == [
        "Wait until April 1, 2026, 9 a.m.: the 30 days without a new case are counted from when "
        "the action was done (March 2, 2026, 9 a.m.). Or give the reason to verify it now."
    ]
    assert refused.value.fields["window_days"] == refused.value.messages
    done.refresh_from_db()
    assert done.status == "done"
    assert not Verification.objects.exists()


def test_the_wait_is_explained_in_the_users_language(done, clock, quality_manager):
    clock(days=10)

    with translation.override("zh-hans"), pytest.raises(TransitionRefused) as refused:
        services.action_verify(action=done, by=quality_manager, note="Fine.", window_days=30)

    [message] = refused.value.messages
    assert message.startswith("请等到2026年4月1日")
    assert "2026年3月2日" in message


def test_the_verifier_may_verify_early_with_a_reason_and_the_shorter_window_is_stored(
    done, clock, quality_manager
):
    now = clock(days=10)

    verification = services.action_verify(
        action=done,
        by=quality_manager,
        note="Ten days of daily checks.",
        window_days=30,
        override_reason="The audit is next week; the daily checks are evidence enough.",
    )

    assert (verification.window_start, verification.window_end) == (T0, now)
    assert (verification.window_days, verification.cases_found) == (30, 0)
    assert verification.override_reason.startswith("The audit is next week")


def test_cases_from_before_the_action_was_done_do_not_count_even_its_own(
    done, clock, quality_manager, new_case
):
    # Its case arrived 40 days before it was done, another one a day before: neither says
    # anything about the remedy. Sixty days later, a 60-day window counts neither.
    new_case(days=-1)
    clock(days=60)

    verification = services.action_verify(
        action=done, by=quality_manager, note="Fine.", window_days=60
    )

    assert verification.cases_found == 0


def test_a_case_of_the_cause_linked_to_the_action_after_it_was_done_counts(
    done, clock, quality_manager, analysed_case, handler
):
    clock(days=5)
    recurred = analysed_case()  # materials, past Analyse
    services.action_link_case(action=done, case=recurred, by=handler)
    clock(days=30)

    with pytest.raises(TransitionRefused) as refused:
        services.action_verify(action=done, by=quality_manager, note="Fine.", window_days=30)

    assert recurred.reference in refused.value.messages[0]


def test_same_department_counts_only_cases_of_its_cases_departments(
    done, clock, quality_manager, new_case, logistics
):
    new_case(days=3, department=logistics)
    clock(days=30)

    with pytest.raises(TransitionRefused):
        services.action_verify(action=done, by=quality_manager, note="x", window_days=30)
    verification = services.action_verify(
        action=done, by=quality_manager, note="x", window_days=30, same_department=True
    )

    assert (verification.same_department, verification.cases_found) == (True, 0)


def test_same_product_counts_only_cases_of_its_cases_products(done, clock, new_case):
    new_case(days=3, product="Kettle K-10")
    same = new_case(days=4, product="Washing machine W-200")

    result = recurrence_count(
        action=done, window_days=30, since=T0, until=clock(days=30), same_product=True
    )

    assert (result.count, result.references) == (1, [same.reference])


def test_the_evidence_is_counted_in_two_queries_whatever_the_number_of_cases(
    done, new_case, django_assert_num_queries
):
    for days in range(1, 13):
        new_case(days=days)

    with django_assert_num_queries(2):
        result = recurrence_count(
            action=done,
            window_days=30,
            since=T0,
            until=T0 + timedelta(days=30),
            same_department=True,
            same_product=True,
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


def refused_then_verified(action, *, refused, verifier) -> AccessDenied:
    """``refused`` may not verify the done action (nothing changes); ``verifier`` then does."""
    with pytest.raises(AccessDenied) as refusal:
        services.action_verify(action=action, by=refused, note="My own work is fine.")
    action.refresh_from_db()
    assert action.status == "done"
    services.action_verify(action=action, by=verifier, note="Checked by someone else.")
    action.refresh_from_db()
    assert action.status == "verified"
    return refusal.value


def test_a_quality_manager_does_not_verify_their_own_action(
    clock, record, analysed_case, quality_manager, general_manager
):
    action = record(analysed_case(), by=quality_manager, owner=quality_manager)
    walk_to(action, "done", by=quality_manager)

    refused_then_verified(action, refused=quality_manager, verifier=general_manager)


def test_whoever_marked_the_action_done_does_not_verify_it(
    clock, action, handler, quality_manager, general_manager
):
    services.action_transition(action=action, to="in_progress", by=handler)
    services.action_transition(action=action, to="done", by=quality_manager, note="Swapped.")
    action.refresh_from_db()
    assert action.done_by == quality_manager

    refusal = refused_then_verified(action, refused=quality_manager, verifier=general_manager)

    assert refusal.messages == [
        "Verifying needs a quality manager or the general manager who neither owns the action "
        "nor marked it done."
    ]


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

    refused_then_verified(action, refused=colleague, verifier=quality_manager)


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
