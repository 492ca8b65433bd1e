"""The escalation services' rules: who stands at which tier, escalating one tier up (never down,
never past the general manager, once per breach), acknowledging, taking and reassigning, manual
escalation, referral to external review and its outcome, and who may stop the clock."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.db import transaction
from django.utils import timezone

from complaints.errors import AccessDenied, InvalidInput, TransitionRefused
from complaints.models import CaseEvent, Step, Tier
from escalation.models import Escalation, ExternalReview, Notification, Pause
from escalation.services import (
    case_escalate,
    case_escalate_manually,
    case_pause,
    case_refer_external,
    case_resume,
    escalation_acknowledge,
    escalation_take,
    escalations_reassign,
    external_review_record_outcome,
)
from escalation.sweep import sweep
from escalation.tiers import can_act_for_tier, tier_members, user_tier

from ..factories import receive_case, walk


def escalate(case, **kwargs) -> Escalation | None:
    """As the sweep and the services call it: in a transaction holding the case."""
    with transaction.atomic():
        return case_escalate(case=case, reason=Escalation.Reason.OVERDUE, **kwargs)


def recipients(escalation: Escalation) -> set[str]:
    return set(
        Notification.objects.filter(
            escalation=escalation, kind=Notification.Kind.ESCALATED
        ).values_list("recipient__username", flat=True)
    )


def event_kinds(case) -> list[str]:
    return list(case.events.order_by("at", "pk").values_list("kind", flat=True))


# ---------------------------------------------------------------- tiers


@pytest.mark.parametrize(
    ("persona", "tier"),
    [
        ("agent", Tier.HANDLER),
        ("handler", Tier.HANDLER),
        ("outsider", Tier.HANDLER),
        ("department_head", Tier.DEPARTMENT_HEAD),
        ("quality_manager", Tier.QUALITY_MANAGER),
        ("general_manager", Tier.GENERAL_MANAGER),
    ],
)
def test_each_role_stands_at_its_tier(request, persona, tier):
    assert user_tier(request.getfixturevalue(persona)) == tier


@pytest.mark.parametrize(
    ("persona", "may"),
    [
        ("handler", False),
        ("department_head", True),
        ("foreign_head", False),
        ("quality_manager", True),
        ("general_manager", True),
    ],
)
def test_who_may_act_for_the_department_head_tier(request, persona, may, decide_case):
    case = decide_case()

    assert can_act_for_tier(user=request.getfixturevalue(persona), case=case, tier=1) is may


def test_a_department_head_may_not_act_for_the_quality_manager(department_head, decide_case):
    assert not can_act_for_tier(user=department_head, case=decide_case(), tier=2)


# ---------------------------------------------------------------- escalating


def test_escalating_moves_the_case_one_tier_up_and_records_why(agent, department_head, case):
    escalation = escalate(case, note="Nobody picked it up.")

    case.refresh_from_db()
    assert case.tier == Tier.DEPARTMENT_HEAD
    assert (escalation.from_tier, escalation.to_tier) == (Tier.HANDLER, Tier.DEPARTMENT_HEAD)
    assert escalation.previous_owner == agent
    assert escalation.next_notify_at is not None
    event = case.events.get(kind=CaseEvent.Kind.ESCALATED)
    assert event.changes == {"reason": [None, "overdue"], "tier": [0, 1]}
    assert event.note == "Nobody picked it up."


def test_the_new_tier_and_the_previous_owner_are_told(department_head, escalated_case):
    escalation = escalated_case.escalations.get()

    assert recipients(escalation) == {"head", "agent"}


def test_with_nobody_at_the_tier_the_next_tier_up_is_told(
    agent, foreign_handler, quality_manager, logistics
):
    case = receive_case(by=agent)
    walk(case, to=Step.DECIDE, by=agent, department=logistics, person=foreign_handler)

    escalation = escalate(case)

    assert list(tier_members(case=case, tier=Tier.DEPARTMENT_HEAD)) == [quality_manager]
    assert recipients(escalation) == {"quality", "agent"}


def test_escalation_never_goes_past_the_general_manager(case):
    escalate(case, to_tier=Tier.GENERAL_MANAGER)

    escalation = escalate(case)

    assert (escalation.from_tier, escalation.to_tier) == (Tier.GENERAL_MANAGER,) * 2
    case.refresh_from_db()
    assert case.tier == Tier.GENERAL_MANAGER


def test_escalation_never_goes_down(case):
    escalate(case, to_tier=Tier.QUALITY_MANAGER)

    escalation = escalate(case, to_tier=Tier.DEPARTMENT_HEAD)

    assert escalation.to_tier == Tier.QUALITY_MANAGER
    case.refresh_from_db()
    assert case.tier == Tier.QUALITY_MANAGER


def test_a_breach_escalates_only_once(case):
    deadline = case.deadlines.get(milestone="decided")
    escalate(case, deadline=deadline)

    again = escalate(case, deadline=deadline)

    assert again is None
    assert case.escalations.count() == 1
    assert event_kinds(case).count(CaseEvent.Kind.ESCALATED) == 1
    case.refresh_from_db()
    assert case.tier == Tier.DEPARTMENT_HEAD


# ---------------------------------------------------------------- acknowledge, take, reassign


@pytest.mark.parametrize("persona", ["quality_manager", "general_manager"])
def test_a_higher_tier_may_acknowledge_a_department_heads_escalation(
    request, persona, escalated_case
):
    manager = request.getfixturevalue(persona)

    escalation = escalation_acknowledge(
        escalation=escalated_case.escalations.get(), by=manager, note="Seen; the head is away."
    )

    escalation.refresh_from_db()
    assert escalation.acknowledged_by == manager
    acknowledged = escalated_case.events.get(kind=CaseEvent.Kind.ACKNOWLEDGED)
    assert (acknowledged.actor, acknowledged.note) == (manager, "Seen; the head is away.")


def test_no_reminder_follows_an_acknowledged_escalation(department_head, escalated_case):
    escalation = escalated_case.escalations.get()
    escalation_acknowledge(escalation=escalation, by=department_head)

    result = sweep(now=timezone.now() + timedelta(hours=5))

    assert result.count("remind") == 0
    assert not Notification.objects.filter(kind=Notification.Kind.REMINDER).exists()


def test_an_unacknowledged_escalation_is_reminded(department_head, escalated_case):
    result = sweep(now=timezone.now() + timedelta(hours=5))

    assert result.count("remind") == 1
    reminded = Notification.objects.filter(kind=Notification.Kind.REMINDER)
    assert list(reminded.values_list("recipient__username", flat=True)) == ["head"]


def test_taking_a_case_you_already_own_only_acknowledges_it(department_head, escalated_case):
    from complaints.services import case_assign

    case_assign(case=escalated_case, by=department_head, person=department_head)

    escalation_take(escalation=escalated_case.escalations.get(), by=department_head)

    assert event_kinds(escalated_case).count(CaseEvent.Kind.ASSIGNED) == 1
    assert event_kinds(escalated_case)[-1] == CaseEvent.Kind.ACKNOWLEDGED


def test_taking_an_acknowledged_escalation_still_hands_the_case_over(
    department_head, general_manager, escalated_case
):
    escalation = escalated_case.escalations.get()
    escalation_acknowledge(escalation=escalation, by=department_head)

    escalation_take(escalation=escalation, by=general_manager)

    escalated_case.refresh_from_db()
    assert escalated_case.owner == general_manager
    escalation.refresh_from_db()
    assert escalation.acknowledged_by == department_head
    assert event_kinds(escalated_case).count(CaseEvent.Kind.ACKNOWLEDGED) == 1


def test_reassigning_to_the_current_owner_only_acknowledges(agent, department_head, escalated_case):
    done = escalations_reassign(
        escalations=[escalated_case.escalations.get()], by=department_head, person=agent
    )

    assert done == 1
    assert CaseEvent.Kind.ASSIGNED not in event_kinds(escalated_case)
    assert escalated_case.escalations.get().acknowledged_by == department_head


def test_reassigning_an_escalation_of_another_department_is_refused(
    agent, foreign_head, foreign_handler, escalated_case
):
    with pytest.raises(AccessDenied):
        escalations_reassign(
            escalations=[escalated_case.escalations.get()], by=foreign_head, person=foreign_handler
        )

    escalated_case.refresh_from_db()
    assert escalated_case.owner == agent


# ---------------------------------------------------------------- manual escalation


def test_staff_escalate_a_case_by_hand_with_a_reason(handler, decide_case):
    case = decide_case()

    escalation = case_escalate_manually(case=case, by=handler, note="The customer is a journalist.")

    assert (escalation.reason, escalation.by, escalation.to_tier) == ("manual", handler, 1)
    assert escalation.note == "The customer is a journalist."
    case.refresh_from_db()
    assert case.tier == Tier.DEPARTMENT_HEAD
    event = case.events.get(kind=CaseEvent.Kind.ESCALATED)
    assert (event.actor, event.note) == (handler, "The customer is a journalist.")


def test_a_manual_escalation_needs_a_reason(handler, decide_case):
    case = decide_case()

    with pytest.raises(InvalidInput) as refused:
        case_escalate_manually(case=case, by=handler, note="  ")

    assert refused.value.fields == {"note": ["Say why the case needs a higher tier."]}
    assert not case.escalations.exists()


def test_a_handler_of_another_department_cannot_escalate(foreign_handler, decide_case):
    case = decide_case()

    with pytest.raises(AccessDenied):
        case_escalate_manually(case=case, by=foreign_handler, note="Not mine, but urgent.")

    assert not case.escalations.exists()


def test_a_closed_case_cannot_be_escalated(agent, handler, after_sales, decide_case):
    case = walk(decide_case(), to=Step.CLOSED, by=agent, department=after_sales, person=handler)

    with pytest.raises(TransitionRefused, match="closed case cannot be escalated"):
        case_escalate_manually(case=case, by=agent, note="Too late.")


def test_a_case_with_the_general_manager_goes_to_external_review_instead(
    general_manager, decide_case
):
    case = decide_case()
    escalate(case, to_tier=Tier.GENERAL_MANAGER)

    with pytest.raises(TransitionRefused, match="refer it to external review"):
        case_escalate_manually(case=case, by=general_manager, note="Higher still.")


# ---------------------------------------------------------------- external review


@pytest.mark.parametrize("persona", ["quality_manager", "general_manager"])
def test_a_manager_refers_the_case_to_external_review(request, persona, decide_case):
    manager = request.getfixturevalue(persona)
    case = decide_case()

    review = case_refer_external(
        case=case, by=manager, reviewer="Consumer association", reason="Deadlocked."
    )

    review.refresh_from_db()
    assert (review.reviewer, review.reason, review.referred_by) == (
        "Consumer association",
        "Deadlocked.",
        manager,
    )
    case.refresh_from_db()
    assert case.tier == Tier.EXTERNAL_REVIEW
    escalation = case.escalations.get()
    assert (escalation.to_tier, escalation.by) == (Tier.EXTERNAL_REVIEW, manager)
    referred = case.events.get(kind=CaseEvent.Kind.REFERRED)
    assert referred.note == "Referred to Consumer association: Deadlocked."


def test_a_referral_leaves_nobody_a_reminder_they_cannot_answer(quality_manager, decide_case):
    case = decide_case()
    case_refer_external(case=case, by=quality_manager, reviewer="Arbitration", reason="Stuck.")

    result = sweep(now=timezone.now() + timedelta(hours=5))

    assert result.count("remind") == 0
    escalation = case.escalations.get()
    assert escalation.acknowledged_by == quality_manager
    assert escalation.next_notify_at is None


@pytest.mark.parametrize("persona", ["handler", "department_head"])
def test_only_quality_and_general_managers_may_refer(request, persona, decide_case):
    case = decide_case()

    with pytest.raises(AccessDenied):
        case_refer_external(
            case=case, by=request.getfixturevalue(persona), reviewer="Court", reason="Why not."
        )

    assert not ExternalReview.objects.exists()
    case.refresh_from_db()
    assert case.tier == Tier.HANDLER


def test_a_referral_names_the_reviewer_and_the_reason(quality_manager, decide_case):
    with pytest.raises(InvalidInput) as refused:
        case_refer_external(case=decide_case(), by=quality_manager, reviewer=" ", reason="")

    assert set(refused.value.fields) == {"reviewer", "reason"}
    assert not ExternalReview.objects.exists()


def test_a_second_referral_is_refused_while_one_is_open(quality_manager, decide_case):
    case = decide_case()
    case_refer_external(case=case, by=quality_manager, reviewer="Arbitration", reason="Stuck.")

    with pytest.raises(TransitionRefused, match="already in external review"):
        case_refer_external(case=case, by=quality_manager, reviewer="Court", reason="Faster.")

    assert case.external_reviews.count() == 1


def test_a_manager_records_the_reviewers_outcome(quality_manager, decide_case):
    case = decide_case()
    review = case_refer_external(
        case=case, by=quality_manager, reviewer="Arbitration", reason="Stuck."
    )

    external_review_record_outcome(
        review=review, by=quality_manager, outcome="Refund half the price."
    )

    review.refresh_from_db()
    assert (review.outcome, review.outcome_by) == ("Refund half the price.", quality_manager)
    assert review.outcome_at is not None
    event = case.events.get(kind=CaseEvent.Kind.REVIEW_OUTCOME)
    assert event.note == "Refund half the price."


def test_after_the_outcome_the_case_may_be_referred_again(
    quality_manager, general_manager, decide_case
):
    case = decide_case()
    review = case_refer_external(
        case=case, by=quality_manager, reviewer="Arbitration", reason="Stuck."
    )
    external_review_record_outcome(review=review, by=general_manager, outcome="No finding.")

    case_refer_external(case=case, by=general_manager, reviewer="Court", reason="Appeal.")

    assert case.external_reviews.count() == 2


def test_the_outcome_is_recorded_once_by_a_manager_and_not_empty(
    quality_manager, department_head, decide_case
):
    review = case_refer_external(
        case=decide_case(), by=quality_manager, reviewer="Arbitration", reason="Stuck."
    )

    with pytest.raises(AccessDenied):
        external_review_record_outcome(review=review, by=department_head, outcome="Mine.")
    with pytest.raises(InvalidInput):
        external_review_record_outcome(review=review, by=quality_manager, outcome=" ")
    external_review_record_outcome(review=review, by=quality_manager, outcome="Done.")
    with pytest.raises(InvalidInput, match="already recorded"):
        external_review_record_outcome(review=review, by=quality_manager, outcome="Again.")

    review.refresh_from_db()
    assert review.outcome == "Done."


# ---------------------------------------------------------------- who may stop the clock


def test_the_default_policy_lets_no_clock_stop(handler, decide_case):
    case = decide_case()

    with pytest.raises(TransitionRefused, match="absolute"):
        case_pause(case=case, by=handler, reason=Pause.Reason.CUSTOMER)

    assert not case.pauses.exists()


def test_someone_who_works_the_case_stops_and_restarts_the_clock(handler, waiting_case):
    due, stopped = waiting_case.due_at, timezone.now()
    with time_machine.travel(stopped, tick=False):
        case_pause(case=waiting_case, by=handler, reason=Pause.Reason.CUSTOMER, note="Photos.")
    waiting_case.refresh_from_db()
    assert waiting_case.due_at is None

    with time_machine.travel(stopped + timedelta(hours=3), tick=False):
        pause = case_resume(case=waiting_case, by=handler)

    assert pause.ended_by == handler
    waiting_case.refresh_from_db()
    assert waiting_case.due_at == due + timedelta(hours=3)
    assert event_kinds(waiting_case)[-2:] == ["paused", "resumed"]


def test_a_handler_of_another_department_cannot_stop_the_clock(foreign_handler, waiting_case):
    with pytest.raises(AccessDenied):
        case_pause(case=waiting_case, by=foreign_handler, reason=Pause.Reason.THIRD_PARTY)

    assert not waiting_case.pauses.exists()


def test_a_handler_of_another_department_cannot_restart_the_clock(
    handler, foreign_handler, waiting_case
):
    case_pause(case=waiting_case, by=handler, reason=Pause.Reason.CUSTOMER)

    with pytest.raises(AccessDenied):
        case_resume(case=waiting_case, by=foreign_handler)

    assert waiting_case.pauses.get().ended_at is None


def test_stopping_the_clock_needs_a_known_reason(handler, waiting_case):
    with pytest.raises(InvalidInput):
        case_pause(case=waiting_case, by=handler, reason="holiday")

    assert not waiting_case.pauses.exists()


def test_a_closed_case_cannot_be_referred(
    quality_manager, agent, handler, after_sales, decide_case
):
    case = decide_case()
    walk(case, to=Step.CLOSED, by=agent, department=after_sales, person=handler)

    with pytest.raises(TransitionRefused, match="closed case cannot be referred"):
        case_refer_external(case=case, by=quality_manager, reviewer="Mediator", reason="Stuck.")

    assert not ExternalReview.objects.filter(case=case).exists()


def test_a_breach_in_external_review_is_recorded_but_escalates_no_further(
    quality_manager, decide_case
):
    case = decide_case(days_ago=2)
    case_refer_external(case=case, by=quality_manager, reviewer="Mediator", reason="Stuck.")

    result = sweep()

    case.refresh_from_db()
    assert case.tier == Tier.EXTERNAL_REVIEW
    assert result.count("escalate") == 0
    assert case.escalations.count() == 1  # the referral's own
    assert case.deadlines.get(milestone="decided", round=0).breached_at is not None
