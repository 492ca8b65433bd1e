"""Each case's deadlines: computed at receipt and at each reopening, met as the case moves on,
stopped and restarted with the clock, and summarised into ``Case.due_at``."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db.models import Min
from django.utils import timezone

from complaints import lifecycle
from complaints.models import Case, CaseEvent, Step
from complaints.services import case_record

from .clock import clock_for
from .models import MILESTONE_STEP, Deadline, Milestone, Policy
from .policies import policy_for


def next_check(deadline: Deadline) -> datetime | None:
    """The next moment the sweep has something to do for this deadline, or None."""
    if not deadline.is_open or deadline.breached_at or deadline.paused_since:
        return None
    points = [deadline.due_at]
    if deadline.warn_at and not deadline.warned_at:
        points.append(deadline.warn_at)
    if deadline.warn_before_at and not deadline.warned_before_at:
        points.append(deadline.warn_before_at)
    return min(points)


def _warning_points(
    policy: Policy, starts: datetime, due: datetime, window: timedelta
) -> tuple[datetime | None, datetime | None]:
    clock = clock_for(policy)
    warn_at = (
        clock.add(starts, window * policy.warn_at_percent / 100) if policy.warn_at_percent else None
    )
    warn_before_at = due - policy.warn_before if policy.warn_before else None
    if warn_before_at is not None and warn_before_at <= starts:
        warn_before_at = None
    return warn_at, warn_before_at


def deadlines_create(*, case: Case, round: int, starts_at: datetime) -> list[Deadline]:
    """The round's deadlines for each milestone, from the policy that applies now. They keep
    that policy's version: editing the policy later does not move them."""
    policy = policy_for(urgency=case.urgency, category=case.category)
    clock = clock_for(policy)
    rows = []
    for milestone in Milestone.values:
        window = policy.within(milestone, urgency=case.urgency)
        if window is None:
            continue
        due = clock.add(starts_at, window)
        warn_at, warn_before_at = _warning_points(policy, starts_at, due, window)
        deadline = Deadline(
            case=case,
            round=round,
            milestone=milestone,
            policy=policy,
            policy_version=policy.version,
            clock=policy.clock,
            starts_at=starts_at,
            due_at=due,
            warn_at=warn_at,
            warn_before_at=warn_before_at,
            pausable=milestone in (policy.pausable_milestones or []),
        )
        deadline.next_check_at = next_check(deadline)
        rows.append(deadline)
    return Deadline.objects.bulk_create(rows)


def _open(deadline: Deadline) -> bool:
    return not (deadline.met_at or deadline.superseded_at or deadline.paused_since)


def earliest_due(deadlines: list[Deadline]) -> datetime | None:
    """What ``Case.due_at`` is, of these deadlines (all of the case's current ones): the
    earliest that is neither met, superseded nor paused."""
    return min((d.due_at for d in deadlines if _open(d)), default=None)


def case_due_refresh(*, case: Case) -> None:
    """Keep ``Case.due_at``: the earliest deadline of the case that is neither met, superseded
    nor paused (as ``earliest_due``, counted by the database)."""
    due = Deadline.objects.filter(
        case=case, met_at__isnull=True, superseded_at__isnull=True, paused_since__isnull=True
    ).aggregate(due=Min("due_at"))["due"]
    case_due_set(case=case, due=due)


def case_due_set(*, case: Case, due: datetime | None) -> None:
    if due != case.due_at:
        case_record(case=case, kind=None, set_fields={"due_at": due})


def _met(deadline: Deadline, at: datetime) -> None:
    """Mark one open deadline met at ``at`` (a stopped one restarted first: its stop is credited
    to it)."""
    deadline.met_at = at
    if deadline.paused_since:
        _credit_pause(deadline, at)
    deadline.next_check_at = None
    deadline.save(
        update_fields=[
            "met_at",
            "next_check_at",
            "paused_since",
            "paused_total",
            "due_at",
            "warn_at",
            "warn_before_at",
        ]
    )


def deadlines_meet(*, case: Case, at: datetime | None = None) -> list[Deadline]:
    """Mark met every open deadline whose step the case has now finished."""
    at = at or timezone.now()
    index = lifecycle.step_index(case.step)
    met = []
    for deadline in Deadline.objects.filter(
        case=case, met_at__isnull=True, superseded_at__isnull=True
    ):
        if index <= lifecycle.step_index(MILESTONE_STEP[deadline.milestone]):
            continue
        if (
            deadline.milestone == Milestone.RESPONDED
            and deadline.round > 0
            and case.step != Step.CLOSED
        ):
            # A reopened round starts past Listen: only a message or a contact answers it (or
            # the closing, which needs the customer's answer).
            continue
        _met(deadline, at)
        met.append(deadline)
    return met


# A contact that reached the customer, or left them a message from a person, is a response.
_RESPONDING_RESULTS = {"reached", "left_message"}


def is_first_response(event: CaseEvent) -> bool:
    """Whether the customer heard from a person by this event: a message from staff to the
    customer, or a recorded contact that reached them (not the automatic notices)."""
    if event.kind == CaseEvent.Kind.MESSAGE:
        return event.customer_visible and event.actor_id is not None
    if event.kind == CaseEvent.Kind.CONTACTED:
        return (event.changes.get("result") or [None, None])[1] in _RESPONDING_RESULTS
    return False


def deadlines_respond(*, case: Case, at: datetime) -> list[Deadline]:
    """The customer heard from a person (``is_first_response``): the open first-response
    deadlines are met."""
    met = list(
        Deadline.objects.filter(
            case=case,
            milestone=Milestone.RESPONDED,
            met_at__isnull=True,
            superseded_at__isnull=True,
        )
    )
    for deadline in met:
        # A contact dated before the round began answers the round from its start.
        _met(deadline, max(at, deadline.starts_at))
    if met:
        case_due_refresh(case=case)
    return met


def deadlines_supersede(*, case: Case, at: datetime | None = None) -> int:
    """A reopening: the open deadlines of earlier rounds stop counting."""
    return Deadline.objects.filter(
        case=case, met_at__isnull=True, superseded_at__isnull=True
    ).update(superseded_at=at or timezone.now(), next_check_at=None)


def _credit_pause(deadline: Deadline, at: datetime) -> None:
    """Restart a stopped deadline: the time it was stopped is added to its due and warning
    times (in the policy's clock: a stop over a weekend credits no working time)."""
    clock = clock_for(deadline.policy)
    stopped = deadline.paused_since
    credit = clock.between(stopped, at)
    deadline.paused_total += credit
    due = deadline.due_at
    for name in ("due_at", "warn_at"):
        point = getattr(deadline, name)
        if point is not None and point > stopped:
            setattr(deadline, name, clock.add(at, clock.between(stopped, point)))
    # The last warning is calendar time before the deadline, whatever the clock: keep its lead.
    if deadline.warn_before_at is not None and deadline.warn_before_at > stopped:
        deadline.warn_before_at = deadline.due_at - (due - deadline.warn_before_at)
    deadline.paused_since = None


def deadlines_pause(*, case: Case, at: datetime) -> list[Deadline]:
    """Stop the clock of the open deadlines its policy lets stop. Returns those stopped."""
    rows = list(
        Deadline.objects.filter(
            case=case,
            met_at__isnull=True,
            superseded_at__isnull=True,
            breached_at__isnull=True,
            paused_since__isnull=True,
            pausable=True,
        )
    )
    for deadline in rows:
        deadline.paused_since = at
        deadline.next_check_at = None
        deadline.save(update_fields=["paused_since", "next_check_at"])
    return rows


def deadlines_resume(*, case: Case, at: datetime) -> list[Deadline]:
    rows = list(
        Deadline.objects.select_related("policy").filter(case=case, paused_since__isnull=False)
    )
    for deadline in rows:
        _credit_pause(deadline, at)
        deadline.next_check_at = next_check(deadline)
        deadline.save(
            update_fields=[
                "paused_since",
                "paused_total",
                "due_at",
                "warn_at",
                "warn_before_at",
                "next_check_at",
            ]
        )
    return rows
