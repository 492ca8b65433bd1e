"""The sweep: every minute (Celery beat), find the deadlines that are breached or past a warning
point, escalate and warn; remind tiers of escalations nobody acknowledged; send the outbox's
backlog (the emails it writes itself go to the workers, see ``sweep``).

It reads only rows that are due, through partial indexes (``deadline_sweep_due``,
``escalation_renotify_due``, ``notification_unsent``, and those of the passes other apps
register in ``escalation.sources``: the corrective actions' ``action_sweep_due`` and
``action_escalation_renotify``), in batches. Each batch is one transaction
that locks its deadline rows and their cases with ``FOR UPDATE SKIP LOCKED``: parallel sweeps
never take the same case and never wait on a person editing one. A deadline handled is no
longer due (its ``next_check_at`` moves on), and the escalation table's unique constraint stops a
second escalation of the same breach even if two sweeps raced past everything else. A batch's
rows are written set-wise (``escalation.batch``): each kind of row in one statement."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from celery.exceptions import SoftTimeLimitExceeded
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from complaints.models import Case, CaseEvent, Step, Tier
from complaints.services import Record

from . import sources
from .batch import Batch
from .deadlines import next_check
from .models import Deadline, Escalation, Notification
from .notifications import ToNotify, notifications_deliver, notify
from .policies import PolicyBook, policy_for
from .tiers import next_tier, tier_members

# A batch is written set-wise (escalation.batch): about ten statements whatever its size, so
# larger batches cost fewer statements per deadline (100: 0.11 a deadline, 1.7 ms, at 200,000
# open cases; 25: 0.44, 3.4 ms). A batch that fails is handled again one deadline at a time,
# two savepoints each: past PostgreSQL's cache of 64 subtransactions, which slows the other
# sessions' snapshots while that transaction lasts — only on that rare path.
BATCH_SIZE = 100
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


# What handling a deadline reads of its case (whose department answers, its owner to tell).
_WITH_CASE = ("case", "case__receiver", "case__owner")


def _due_deadlines(now: datetime):
    return Deadline.objects.filter(next_check_at__lte=now).order_by("next_check_at", "pk")


def _handle(deadline: Deadline, case: Case, now: datetime, batch: Batch) -> Planned | None:
    """What a due deadline calls for, gathered in ``batch`` (written by its ``flush``)."""
    if now >= deadline.due_at and deadline.breached_at is None:
        deadline.breached_at = deadline.due_at
        # Warnings still pending when the limit passed are moot: the escalation says more.
        deadline.warned_at = deadline.warned_at or (now if deadline.warn_at else None)
        deadline.warned_before_at = deadline.warned_before_at or (
            now if deadline.warn_before_at else None
        )
        deadline.next_check_at = next_check(deadline)
        batch.deadline_marked(deadline)
        from_tier = case.tier
        if from_tier >= Tier.EXTERNAL_REVIEW:
            # With an external reviewer, outside every internal tier: the breach is recorded
            # on the deadline (and counts in compliance) but there is no one higher to tell.
            return None
        escalation = batch.escalate(
            case=case, reason=Escalation.Reason.OVERDUE, deadline=deadline, at=now
        )
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
    batch.deadline_marked(deadline)
    if not fired:
        return None
    batch.record(
        Record(
            case=case,
            kind=CaseEvent.Kind.WARNED,
            changes={"milestone": [None, deadline.milestone]},
            at=now,
        )
    )
    batch.notify(
        ToNotify(
            kind=Notification.Kind.WARNING,
            case=case,
            recipients=batch.members(case=case, tier=Tier.HANDLER),
            deadline=deadline,
        )
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
        .select_related(*_WITH_CASE)
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


def _sweep_batch(rows: list[Deadline], now: datetime) -> list[Planned]:
    """A locked batch of due deadlines, written set-wise (``escalation.batch``): each kind of
    row in one statement for the whole batch. If that fails, the batch is handled again one
    deadline at a time, each in a savepoint, so that one bad case does not hold up the others:
    it is logged and looked at again in ``RETRY_FAILED``."""
    policies = PolicyBook()
    try:
        with transaction.atomic():
            batch = Batch(policies)
            # One object per case: two milestones of a case breached at once escalate it
            # twice (0 → 1 → 2), each from the tier the other left it at.
            cases: dict[int, Case] = {}
            planned = [
                _handle(deadline, cases.setdefault(deadline.case_id, deadline.case), now, batch)
                for deadline in rows
            ]
            if len(batch.flush()) < len(batch.escalations):
                # A lone escalation escalated already (escalation_once_per_breach): not done.
                planned = [p for p in planned if p is None or p.action != "escalate"]
            return [p for p in planned if p]
    except SoftTimeLimitExceeded:
        raise
    except Exception:
        log.warning("Sweep: a batch of %s deadlines failed; one at a time now", len(rows))
    # The failed attempt changed the rows in memory: read them again (still locked by us).
    rows = list(
        Deadline.objects.filter(pk__in=[row.pk for row in rows])
        .select_related(*_WITH_CASE)
        .order_by("next_check_at", "pk")
    )
    actions: list[Planned] = []
    cases = {}
    failed: set[int] = set()
    for deadline in rows:
        if deadline.case_id in failed:
            continue  # the next batch reads the case afresh
        case = cases.setdefault(deadline.case_id, deadline.case)
        try:
            with transaction.atomic():
                batch = Batch(policies)
                planned = _handle(deadline, case, now, batch)
                if not batch.flush() and planned and planned.action == "escalate":
                    planned = None  # escalated already (escalation_once_per_breach)
        except SoftTimeLimitExceeded:
            raise
        except Exception:
            log.exception("Sweep: deadline %s of case %s failed", deadline.pk, case.pk)
            failed.add(deadline.case_id)
            cases.pop(deadline.case_id, None)
            Deadline.objects.filter(pk=deadline.pk).update(next_check_at=now + RETRY_FAILED)
            continue
        if planned:
            actions.append(planned)
    return actions


def sweep(
    *,
    now: datetime | None = None,
    dry_run: bool = False,
    batch_size: int = BATCH_SIZE,
    workers_send: bool = False,
) -> SweepResult:
    """One sweep at ``now`` (default: the present). ``dry_run`` forecasts what it would do at
    that moment and writes nothing (``sweep_deadlines --dry-run --as-of``).

    The emails it writes are queued, after each batch's commit, for the workers to render and
    send. ``workers_send`` (the periodic task: workers are there) leaves them to the workers
    and sends only the outbox's backlog, what was due before the sweep began (written while the
    broker was down, or failed since); otherwise (a command run by hand, the tests) the sweep
    sends its own emails too before it returns."""
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
            rows = list(
                _due_deadlines(now)
                .select_related(*_WITH_CASE)
                .select_for_update(skip_locked=True, of=("self", "case"))[:batch_size]
            )
            if rows:
                result.actions += _sweep_batch(rows, now)
        if len(rows) < batch_size:
            break

    for sweep_pass in [REMINDERS, *sources.sweep_passes()]:
        _run(sweep_pass, now=now, batch_size=batch_size, result=result)

    # The backlog; and, unless workers send them, what this sweep has just queued (written
    # after ``now``).
    until = now - timedelta(microseconds=1) if workers_send else max(now, timezone.now())
    while sent := notifications_deliver(now=until):
        result.sent += sent
    return result
