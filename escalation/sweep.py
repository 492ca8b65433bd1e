"""The sweep: every minute (Celery beat), find the deadlines that are breached or past a warning
point, escalate and warn; remind tiers of escalations nobody acknowledged; send the outbox.

It reads only rows that are due, through partial indexes (``deadline_sweep_due``,
``escalation_renotify_due``, ``notification_unsent``, and those of the passes other apps
register in ``escalation.sources``: the corrective actions' ``action_sweep_due`` and
``action_escalation_renotify``), in batches. Each batch is one transaction
that locks its deadline rows and their cases with ``FOR UPDATE SKIP LOCKED``: parallel sweeps
never take the same case and never wait on a person editing one. A deadline handled is no
longer due (its ``next_check_at`` moves on), and the escalation table's unique constraint stops a
second escalation of the same breach even if two sweeps raced past everything else."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from celery.exceptions import SoftTimeLimitExceeded
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from complaints.models import Case, CaseEvent, Step, Tier
from complaints.services import case_record

from . import sources
from .deadlines import next_check
from .models import Deadline, Escalation, Notification
from .notifications import notifications_deliver, notify
from .policies import PolicyBook, policy_for
from .services import case_escalate
from .tiers import next_tier, tier_members

# Small enough that a batch's savepoints (two per deadline) stay within PostgreSQL's cache of
# 64 subtransactions per transaction, past which every other session's snapshots slow down.
BATCH_SIZE = 25
# A deadline whose handling failed is looked at again after this long, so that it does not
# block the sweep (it comes first in every batch) while someone looks at the error.
RETRY_FAILED = timedelta(minutes=5)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Planned:
    """One thing a sweep does (or, in a dry run, would do)."""

    action: str  # warn | escalate | remind
    reference: str
    milestone: str
    due_at: datetime | None
    from_tier: int
    to_tier: int


@dataclass
class SweepResult:
    now: datetime
    actions: list[Planned] = field(default_factory=list)
    sent: int = 0

    def count(self, action: str) -> int:
        return sum(1 for a in self.actions if a.action == action)


def _due_deadlines(now: datetime):
    return Deadline.objects.filter(next_check_at__lte=now).order_by("next_check_at", "pk")


def _handle(deadline: Deadline, case: Case, now: datetime, policies: PolicyBook) -> Planned | None:
    if now >= deadline.due_at and deadline.breached_at is None:
        deadline.breached_at = deadline.due_at
        # Warnings still pending when the limit passed are moot: the escalation says more.
        deadline.warned_at = deadline.warned_at or (now if deadline.warn_at else None)
        deadline.warned_before_at = deadline.warned_before_at or (
            now if deadline.warn_before_at else None
        )
        deadline.next_check_at = next_check(deadline)
        deadline.save(
            update_fields=["breached_at", "warned_at", "warned_before_at", "next_check_at"]
        )
        from_tier = case.tier
        if from_tier >= Tier.EXTERNAL_REVIEW:
            # With an external reviewer, outside every internal tier: the breach is recorded
            # on the deadline (and counts in compliance) but there is no one higher to tell.
            return None
        escalation = case_escalate(
            case=case,
            reason=Escalation.Reason.OVERDUE,
            deadline=deadline,
            at=now,
            policies=policies,
        )
        if escalation is None:
            return None
        return Planned(
            "escalate",
            case.reference,
            deadline.milestone,
            deadline.due_at,
            from_tier,
            escalation.to_tier,
        )
    fired = False
    for point, done in (("warn_at", "warned_at"), ("warn_before_at", "warned_before_at")):
        if (
            getattr(deadline, point)
            and not getattr(deadline, done)
            and now >= getattr(deadline, point)
        ):
            setattr(deadline, done, now)
            fired = True
    deadline.next_check_at = next_check(deadline)
    deadline.save(update_fields=["warned_at", "warned_before_at", "next_check_at"])
    if not fired:
        return None
    case_record(
        case=case,
        kind=CaseEvent.Kind.WARNED,
        changes={"milestone": [None, deadline.milestone]},
        at=now,
    )
    notify(
        kind=Notification.Kind.WARNING,
        case=case,
        recipients=tier_members(case=case, tier=Tier.HANDLER),
        deadline=deadline,
    )
    return Planned(
        "warn", case.reference, deadline.milestone, deadline.due_at, case.tier, case.tier
    )


def _forecast(
    deadline: Deadline, case: Case, now: datetime, tiers: dict[int, int]
) -> Planned | None:
    """What ``_handle`` would do, without writing. ``tiers`` carries each case's tier across
    its deadlines, so two breaches of one case forecast two steps up."""
    tier = tiers.get(case.pk, case.tier)
    if now >= deadline.due_at and deadline.breached_at is None:
        if tier >= Tier.EXTERNAL_REVIEW:
            return None
        tiers[case.pk] = next_tier(tier)
        return Planned(
            "escalate", case.reference, deadline.milestone, deadline.due_at, tier, tiers[case.pk]
        )
    for point, done in (("warn_at", "warned_at"), ("warn_before_at", "warned_before_at")):
        if (
            getattr(deadline, point)
            and not getattr(deadline, done)
            and now >= getattr(deadline, point)
        ):
            return Planned("warn", case.reference, deadline.milestone, deadline.due_at, tier, tier)
    return None


def _remind(escalation: Escalation, now: datetime) -> Planned | None:
    case = escalation.case
    # Closed since it escalated, or escalated further since: the tier it went to then has
    # nothing left to acknowledge (the higher tier's own escalation reminds them).
    if case.step == Step.CLOSED or case.tier > escalation.to_tier:
        escalation.next_notify_at = None
        escalation.save(update_fields=["next_notify_at"])
        return None
    notify(
        kind=Notification.Kind.REMINDER,
        case=case,
        recipients=tier_members(case=case, tier=min(escalation.to_tier, Tier.GENERAL_MANAGER)),
        escalation=escalation,
    )
    escalation.next_notify_at = (
        now + policy_for(urgency=case.urgency, category=case.category).renotify_every
    )
    escalation.save(update_fields=["next_notify_at"])
    return Planned(
        "remind", case.reference, escalation.milestone, None, escalation.to_tier, escalation.to_tier
    )


def _postpone_reminder(escalation: Escalation, now: datetime) -> None:
    Escalation.objects.filter(pk=escalation.pk).update(next_notify_at=now + RETRY_FAILED)


# Escalations nobody acknowledged, through ``escalation_renotify_due``.
REMINDERS = sources.SweepPass(
    name="escalation.reminders",
    due=lambda now: (
        Escalation.objects.filter(next_notify_at__lte=now)
        .select_related("case", "case__receiver", "case__owner")
        .order_by("next_notify_at", "pk")
    ),
    handle=_remind,
    postpone=_postpone_reminder,
    forecast=lambda escalation, now: None,  # the dry run forecasts reminders itself
)


def _run(sweep_pass: sources.SweepPass, *, now: datetime, batch_size: int, result: SweepResult):
    """Handle a pass's due rows in batches: each batch one transaction that locks its rows,
    skipping those another sweep holds; each row in a savepoint, a failing one postponed."""
    while True:
        with transaction.atomic():
            batch = list(
                sweep_pass.due(now).select_for_update(skip_locked=True, of=sweep_pass.lock_of)[
                    :batch_size
                ]
            )
            for row in batch:
                try:
                    with transaction.atomic():
                        planned = sweep_pass.handle(row, now)
                except SoftTimeLimitExceeded:
                    raise
                except Exception:
                    log.exception("Sweep: %s %s failed", sweep_pass.name, row.pk)
                    sweep_pass.postpone(row, now)
                    continue
                if planned:
                    result.actions.append(planned)
        if len(batch) < batch_size:
            break


def sweep(
    *, now: datetime | None = None, dry_run: bool = False, batch_size: int = BATCH_SIZE
) -> SweepResult:
    """One sweep at ``now`` (default: the present). ``dry_run`` forecasts what it would do at
    that moment and writes nothing (``sweep_deadlines --dry-run --as-of``)."""
    now = now or timezone.now()
    result = SweepResult(now=now)
    if dry_run:
        tiers: dict[int, int] = {}
        for deadline in _due_deadlines(now).select_related("case").iterator(chunk_size=batch_size):
            planned = _forecast(deadline, deadline.case, now, tiers)
            if planned:
                result.actions.append(planned)
        for escalation in (
            Escalation.objects.filter(next_notify_at__lte=now, to_tier__gte=F("case__tier"))
            .exclude(case__step=Step.CLOSED)
            .select_related("case")
        ):
            result.actions.append(
                Planned(
                    "remind",
                    escalation.case.reference,
                    escalation.milestone,
                    None,
                    escalation.to_tier,
                    escalation.to_tier,
                )
            )
        for sweep_pass in sources.sweep_passes():
            for row in sweep_pass.due(now).iterator(chunk_size=batch_size):
                planned = sweep_pass.forecast(row, now)
                if planned:
                    result.actions.append(planned)
        return result

    while True:
        with transaction.atomic():
            batch = list(
                _due_deadlines(now)
                .select_related("case", "case__receiver", "case__owner")
                .select_for_update(skip_locked=True, of=("self", "case"))[:batch_size]
            )
            # One object per case: two milestones of a case breached at once escalate it
            # twice (0 → 1 → 2), each from the tier the other left it at.
            cases: dict[int, Case] = {}
            failed: set[int] = set()
            policies = PolicyBook() if batch else None
            for deadline in batch:
                if deadline.case_id in failed:
                    continue  # the next batch reads the case afresh
                case = cases.setdefault(deadline.case_id, deadline.case)
                try:
                    with transaction.atomic():
                        planned = _handle(deadline, case, now, policies)
                except SoftTimeLimitExceeded:
                    raise
                except Exception:
                    log.exception("Sweep: deadline %s of case %s failed", deadline.pk, case.pk)
                    failed.add(deadline.case_id)
                    cases.pop(deadline.case_id, None)
                    Deadline.objects.filter(pk=deadline.pk).update(next_check_at=now + RETRY_FAILED)
                    continue
                if planned:
                    result.actions.append(planned)
        if len(batch) < batch_size:
            break

    for sweep_pass in [REMINDERS, *sources.sweep_passes()]:
        _run(sweep_pass, now=now, batch_size=batch_size, result=result)

    # Including what this sweep has just queued (written after ``now``).
    while sent := notifications_deliver(now=max(now, timezone.now())):
        result.sent += sent
    return result
