"""Reads: the managers' queues, their counts in the navigation, a case's deadlines panel."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import BooleanField, ExpressionWrapper, F, Q, QuerySet
from django.utils import timezone

from complaints.access import case_can_work
from complaints.models import Case, Step, Tier, User

from .approvals import ceilings
from .models import Approval, Deadline, Escalation, Milestone, Pause
from .tiers import answered_for_q, can_act_for_tier, user_tier


def queue_tiers(user: User) -> list[int]:
    """The tiers whose queue this person works: their own; a general manager also every tier
    below (DOMAIN.md: the top sees everything)."""
    tier = user_tier(user)
    if tier == Tier.HANDLER:
        return []
    if tier == Tier.GENERAL_MANAGER:
        return [Tier.DEPARTMENT_HEAD, Tier.QUALITY_MANAGER, Tier.GENERAL_MANAGER]
    return [tier]


def escalation_queue(*, user: User, include_acknowledged: bool = False) -> QuerySet[Escalation]:
    """Escalations to my tier(s) of open cases (not merged into another) still at that tier, the
    latest deadline first
    by how late it is (reasons without a deadline after). A fixed number of queries."""
    tiers = queue_tiers(user)
    qs = (
        # "Still at that tier": a general manager (tiers 1-3) would otherwise see a case once
        # for every tier it passed through.
        Escalation.objects.filter(
            to_tier__in=tiers, to_tier=F("case__tier"), case__merged_into__isnull=True
        )
        .exclude(case__step=Step.CLOSED)
        .filter(answered_for_q(user, "case__"))
        .select_related(
            "case", "case__customer", "case__owner", "case__department", "deadline", "by"
        )
    )
    if not include_acknowledged:
        qs = qs.filter(acknowledged_at__isnull=True)
    return qs.order_by(F("deadline__due_at").asc(nulls_last=True), "at")


def at_risk(*, user: User, within: timedelta, now: datetime | None = None) -> QuerySet[Deadline]:
    """Unmet deadlines of open cases due within ``within`` (and those already past), soonest
    first: the cases to watch before they escalate."""
    now = now or timezone.now()
    if not queue_tiers(user):
        return Deadline.objects.none()
    return (
        Deadline.objects.filter(
            met_at__isnull=True,
            superseded_at__isnull=True,
            breached_at__isnull=True,
            paused_since__isnull=True,
            due_at__lte=now + within,
        )
        .filter(answered_for_q(user, "case__"))
        .select_related("case", "case__customer", "case__owner", "case__department")
        # Past due as a case is (``overdue_q``): due this very moment is not late yet.
        .annotate(past_due=ExpressionWrapper(Q(due_at__lt=now), output_field=BooleanField()))
        .order_by("due_at", "pk")
    )


def approvals_waiting(*, user: User) -> QuerySet[Approval]:
    tiers = queue_tiers(user)
    return (
        Approval.objects.filter(status=Approval.Status.PENDING, tier__in=tiers)
        .filter(answered_for_q(user, "case__"))
        .select_related("case", "case__customer", "requested_by")
        .order_by("requested_at")
    )


def queue_querysets(user: User) -> dict[str, QuerySet]:
    """The header's queue counts (``complaints.navigation``): unacknowledged escalations and
    waiting approvals for my tier(s); other apps add their own ``queue_*`` counts."""
    if not queue_tiers(user):
        return {}
    return {
        "queue_escalations": escalation_queue(user=user),
        "queue_approvals": approvals_waiting(user=user),
    }


@dataclass(frozen=True)
class MilestoneRow:
    milestone: str
    label: str
    deadline: Deadline
    state: str  # met | met_late | breached | paused | open | superseded
    late_by: timedelta | None
    left: timedelta | None


def _row(deadline: Deadline, now: datetime) -> MilestoneRow:
    if deadline.met_at:
        state = "met" if deadline.met_at <= deadline.due_at else "met_late"
    elif deadline.superseded_at:
        state = "superseded"
    elif deadline.paused_since:
        state = "paused"
    elif deadline.breached_at or deadline.due_at <= now:
        state = "breached"
    else:
        state = "open"
    return MilestoneRow(
        milestone=deadline.milestone,
        label=str(Milestone(deadline.milestone).label),
        deadline=deadline,
        state=state,
        late_by=(now - deadline.due_at) if state == "breached" else None,
        left=(deadline.due_at - now) if state == "open" else None,
    )


def case_escalation_panel(*, case: Case, user: User, now: datetime) -> dict:
    """Everything the case page shows about time limits, in a fixed number of queries."""
    deadlines = list(case.deadlines.order_by("-round", "due_at"))
    current = [d for d in deadlines if d.round == case.reopen_count]
    earlier = [d for d in deadlines if d.round != case.reopen_count]
    pause = case.pauses.filter(ended_at__isnull=True).first()
    reviews = list(case.external_reviews.select_related("referred_by", "outcome_by"))
    open_review = next((r for r in reviews if r.outcome_at is None), None)

    approval_rows = list(case.approvals.select_related("requested_by", "decided_by"))
    tier = user_tier(user)
    my_ceiling = ceilings().get(tier)
    needs_approval = bool(
        case.step == Step.DECIDE
        and case.remedy_value
        and my_ceiling is not None
        and case.remedy_value > my_ceiling
        and not any(
            a.status == Approval.Status.PENDING
            or (
                a.status == Approval.Status.APPROVED
                and a.round == case.reopen_count
                and a.value >= case.remedy_value
            )
            for a in approval_rows
        )
    )
    escalations = list(case.escalations.select_related("by", "acknowledged_by").order_by("-at"))
    # Which buttons this person gets: the services refuse the rest anyway.
    for escalation in escalations:
        escalation.can_acknowledge = escalation.acknowledged_at is None and can_act_for_tier(
            user=user, case=case, tier=min(escalation.to_tier, Tier.GENERAL_MANAGER)
        )
    for approval in approval_rows:
        approval.can_decide = (
            approval.status == Approval.Status.PENDING
            and can_act_for_tier(user=user, case=case, tier=approval.tier)
            and (my_ceiling is None or approval.value <= my_ceiling)
        )
    return {
        "case": case,
        "now": now,
        "rows": [_row(d, now) for d in current],
        "earlier_rows": [_row(d, now) for d in earlier],
        "escalations": escalations,
        "approvals": approval_rows,
        "reviews": reviews,
        "pause": pause,
        "pause_reasons": Pause.Reason.choices,
        "can_pause": bool(
            case.is_open and pause is None and any(d.pausable and d.is_open for d in current)
        ),
        "can_work": case_can_work(user=user, case=case),
        "needs_approval": needs_approval,
        "my_tier": tier,
        "can_refer": tier >= Tier.QUALITY_MANAGER and case.is_open and open_review is None,
        "can_escalate": case.is_open and case.tier < Tier.GENERAL_MANAGER,
        "open_review": open_review,
    }
