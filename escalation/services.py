"""Escalating cases, and what managers do with an escalation: acknowledge, take, reassign, refer
to external review; stopping and restarting the clock. Each runs in one transaction, writes its
timeline event through ``complaints.services.case_record`` and queues its notifications."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from complaints.access import case_can_work
from complaints.errors import AccessDenied, InvalidInput, TransitionRefused
from complaints.models import Case, CaseEvent, Department, Step, Tier, User
from complaints.services import case_assign, case_record

from . import deadlines as deadline_rules
from .batch import Batch
from .models import Deadline, Escalation, ExternalReview, Pause
from .tiers import can_act_for_tier, user_tier

log = logging.getLogger(__name__)


def _lock_case(case: Case) -> Case:
    # ``of``: PostgreSQL refuses FOR UPDATE on the nullable side of the outer join to the owner.
    return (
        Case.objects.select_for_update(of=("self",))
        .select_related("receiver", "owner")
        .get(pk=case.pk)
    )


def case_escalate(
    *,
    case: Case,
    reason: str,
    to_tier: int | None = None,
    by: User | None = None,
    deadline: Deadline | None = None,
    note: str = "",
    at: datetime | None = None,
) -> Escalation | None:
    """Hand the case to a higher tier (one up unless ``to_tier`` says; never down, never past
    the general manager unless referred to external review), record why, tell the people of
    the new tier and the previous owner, and send ``cases_escalated_in_transaction``
    (``escalation.signals``). Call inside a transaction holding the case's lock. The rules are
    ``escalation.batch.Batch.escalate``'s, which the sweep runs for a batch of breaches at once.

    A breach escalates at most once (``escalation_once_per_breach``): a second attempt, from an
    overlapping sweep or a redelivered task, returns None and changes nothing."""
    batch = Batch()
    batch.escalate(
        case=case,
        reason=reason,
        to_tier=to_tier,
        by=by,
        deadline=deadline,
        note=note,
        at=at or timezone.now(),
    )
    written = batch.flush()
    return written[0] if written else None


def _lock_escalation(escalation: Escalation, *, by: User) -> Escalation:
    locked = Escalation.objects.select_for_update().select_related("case").get(pk=escalation.pk)
    if not can_act_for_tier(user=by, case=locked.case, tier=min(locked.to_tier, 3)):
        raise AccessDenied(_("This escalation is for another tier or department."))
    return locked


def _acknowledge(escalation: Escalation, *, by: User, at: datetime) -> bool:
    if escalation.acknowledged_at is not None:
        return False
    escalation.acknowledged_at = at
    escalation.acknowledged_by = by
    escalation.next_notify_at = None
    escalation.save(update_fields=["acknowledged_at", "acknowledged_by", "next_notify_at"])
    return True


@transaction.atomic
def escalation_acknowledge(*, escalation: Escalation, by: User, note: str = "") -> Escalation:
    """Someone of the tier has seen it: the reminders stop."""
    locked = _lock_escalation(escalation, by=by)
    _lock_case(locked.case)
    if not _acknowledge(locked, by=by, at=timezone.now()):
        raise InvalidInput(_("This escalation was already acknowledged."))
    case_record(case=locked.case, kind=CaseEvent.Kind.ACKNOWLEDGED, by=by, note=note)
    return locked


@transaction.atomic
def escalation_take(*, escalation: Escalation, by: User) -> Escalation:
    """Take ownership of the escalated case (and so acknowledge the escalation)."""
    locked = _lock_escalation(escalation, by=by)
    case = _lock_case(locked.case)
    if case.owner_id != by.pk:
        case_assign(case=case, by=by, person=by, note=_("Taken over from the escalation queue."))
    if _acknowledge(locked, by=by, at=timezone.now()):
        case_record(case=case, kind=CaseEvent.Kind.ACKNOWLEDGED, by=by)
    return locked


@transaction.atomic
def escalations_reassign(
    *,
    escalations: Iterable[Escalation],
    by: User,
    person: User | None = None,
    department: Department | None = None,
    instruction: str = "",
) -> int:
    """Hand the escalated cases to a person and/or department with an instruction, and
    acknowledge the escalations. All or nothing: one refusal refuses the lot."""
    done = 0
    # In one order (by id) whoever reassigns what: two managers never wait on each other.
    for escalation in sorted(escalations, key=lambda e: e.pk):
        locked = _lock_escalation(escalation, by=by)
        case = _lock_case(locked.case)
        if case.step == Step.CLOSED:
            raise TransitionRefused(
                _("%(reference)s is closed and cannot be handed over.")
                % {"reference": case.reference}
            )
        moves = (person is not None and case.owner_id != person.pk) or (
            department is not None and case.department_id != department.pk
        )
        if moves:
            case_assign(case=case, by=by, person=person, department=department, note=instruction)
        if _acknowledge(locked, by=by, at=timezone.now()):
            case_record(case=case, kind=CaseEvent.Kind.ACKNOWLEDGED, by=by)
        done += 1
    return done


@transaction.atomic
def case_escalate_manually(*, case: Case, by: User, note: str) -> Escalation:
    """A member of staff sends the case one tier up (no power to act, a sensitive case…)."""
    if not note.strip():
        raise InvalidInput(fields={"note": [_("Say why the case needs a higher tier.")]})
    locked = _lock_case(case)
    if not case_can_work(user=by, case=locked):
        raise AccessDenied()
    if locked.step == Step.CLOSED:
        raise TransitionRefused(_("A closed case cannot be escalated."))
    if locked.tier >= Tier.GENERAL_MANAGER:
        raise TransitionRefused(
            _("The case is already with the general manager; refer it to external review.")
        )
    escalation = case_escalate(case=locked, reason=Escalation.Reason.MANUAL, by=by, note=note)
    case.refresh_from_db()
    return escalation


@transaction.atomic
def case_refer_external(*, case: Case, by: User, reviewer: str, reason: str) -> ExternalReview:
    """Tier 4: a manager refers the case to a neutral body, with a record of to whom and why."""
    reviewer, reason = reviewer.strip(), reason.strip()
    errors = {}
    if not reviewer:
        errors["reviewer"] = [_("Name the body the case is referred to.")]
    if not reason:
        errors["reason"] = [_("Say why the internal route is blocked.")]
    if errors:
        raise InvalidInput(fields=errors)
    locked = _lock_case(case)
    if user_tier(by) < Tier.QUALITY_MANAGER:
        raise AccessDenied(_("Only a quality or general manager may refer a case outside."))
    if locked.step == Step.CLOSED:
        raise TransitionRefused(_("A closed case cannot be referred."))
    if locked.merged_into_id is not None:
        survivor = locked.merged_into.reference
        raise TransitionRefused(
            _("%(reference)s was merged into %(survivor)s: refer %(survivor)s instead.")
            % {"reference": locked.reference, "survivor": survivor}
        )
    if locked.external_reviews.filter(outcome_at__isnull=True).exists():
        raise TransitionRefused(_("The case is already in external review."))
    review = ExternalReview.objects.create(
        case=locked, reviewer=reviewer, reason=reason, referred_by=by
    )
    escalation = case_escalate(
        case=locked,
        reason=Escalation.Reason.MANUAL,
        to_tier=Tier.EXTERNAL_REVIEW,
        by=by,
        note=reason,
    )
    # Nobody inside answers for tier 4 (no queue shows it): the referring manager has seen it,
    # or the sweep would remind the general managers of it every few hours, for ever.
    if escalation is not None:
        _acknowledge(escalation, by=by, at=escalation.at)
    case_record(
        case=locked,
        kind=CaseEvent.Kind.REFERRED,
        by=by,
        note=_("Referred to %(reviewer)s: %(reason)s") % {"reviewer": reviewer, "reason": reason},
    )
    case.refresh_from_db()
    return review


@transaction.atomic
def external_review_record_outcome(
    *, review: ExternalReview, by: User, outcome: str
) -> ExternalReview:
    outcome = outcome.strip()
    if not outcome:
        raise InvalidInput(fields={"outcome": [_("Write down the reviewer's outcome.")]})
    locked = ExternalReview.objects.select_for_update().get(pk=review.pk)
    if user_tier(by) < Tier.QUALITY_MANAGER:
        raise AccessDenied()
    if locked.outcome_at is not None:
        raise InvalidInput(_("The outcome is already recorded."))
    locked.outcome, locked.outcome_at, locked.outcome_by = outcome, timezone.now(), by
    locked.save(update_fields=["outcome", "outcome_at", "outcome_by"])
    case_record(case=locked.case, kind=CaseEvent.Kind.REVIEW_OUTCOME, by=by, note=outcome)
    return locked


# ---------------------------------------------------------------- stopping the clock


@transaction.atomic
def case_pause(*, case: Case, by: User, reason: str, note: str = "") -> Pause:
    """Stop the clock while waiting on the customer or a third party, for the milestones the
    case's policy lets stop. Refused when the policy stops none (the 1/3/7 default)."""
    if reason not in Pause.Reason.values:
        raise InvalidInput(fields={"reason": [_("Choose why the clock stops.")]})
    locked = _lock_case(case)
    if not case_can_work(user=by, case=locked):
        raise AccessDenied()
    if locked.step == Step.CLOSED:
        raise TransitionRefused(_("A closed case has no clock to stop."))
    if locked.pauses.filter(ended_at__isnull=True).exists():
        raise TransitionRefused(_("The clock is already stopped."))
    now = timezone.now()
    stopped = deadline_rules.deadlines_pause(case=locked, at=now)
    if not stopped:
        raise TransitionRefused(
            _("The time limits of this case are absolute: its clock cannot be stopped.")
        )
    pause = Pause.objects.create(
        case=locked, reason=reason, note=note.strip()[:500], started_at=now, started_by=by
    )
    deadline_rules.case_due_refresh(case=locked)
    case_record(
        case=locked,
        kind=CaseEvent.Kind.PAUSED,
        by=by,
        note=note,
        changes={"pause": [None, reason]},
        customer_visible=True,
        at=now,
    )
    case.refresh_from_db()
    return pause


@transaction.atomic
def case_resume(*, case: Case, by: User | None, cause: str = "") -> Pause | None:
    """Restart the clock: the stopped time is credited to the deadlines. ``by`` None: the
    customer's reply restarted it. Returns None when the clock was running."""
    locked = _lock_case(case)
    if by is not None and not case_can_work(user=by, case=locked):
        raise AccessDenied()
    pause = locked.pauses.select_for_update().filter(ended_at__isnull=True).first()
    if pause is None:
        return None
    now = timezone.now()
    deadline_rules.deadlines_resume(case=locked, at=now)
    pause.ended_at, pause.ended_by = now, by
    pause.save(update_fields=["ended_at", "ended_by"])
    deadline_rules.case_due_refresh(case=locked)
    case_record(
        case=locked,
        kind=CaseEvent.Kind.RESUMED,
        by=by,
        note=cause,
        changes={"pause": [pause.reason, None]},
        customer_visible=True,
        at=now,
    )
    case.refresh_from_db()
    return pause
