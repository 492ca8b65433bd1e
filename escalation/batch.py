"""The rows one piece of escalation work writes, gathered and then written set-wise.

An escalation writes its ``Escalation`` row, raises the case's tier with a timeline event, sends
``cases_escalated_in_transaction`` (the webhooks' outbox rows) and queues the emails; a warning
writes an event and emails; both move the deadline's sweep marks. ``Batch`` gathers these for
one manual escalation (``escalation.services.case_escalate``) or for a whole batch of the sweep
(``escalation.sweep``), and ``flush`` writes each kind of row in one statement: a batch of 100
breaches is about ten statements, not a thousand. The rules — which tier, whom to tell, what
the event says — are written once, here and in ``escalation.tiers``, whichever way it runs.

``flush`` runs in the caller's transaction, which holds the cases' (and deadlines') locks."""

from __future__ import annotations

import logging
from datetime import datetime

from django.db import IntegrityError, transaction

from complaints.bulk import rows_update
from complaints.models import Case, CaseEvent, User
from complaints.services import Record, cases_record

from . import signals
from .models import Deadline, Escalation, Notification
from .notifications import ToNotify, notify_many
from .policies import PolicyBook, policy_for
from .tiers import case_department_id, next_tier, tier_members

log = logging.getLogger(__name__)

# What the sweep changes on a deadline it handled (a breach, a warning point passed).
SWEEP_MARKS = ["breached_at", "warned_at", "warned_before_at", "next_check_at"]


class Batch:
    """Escalations, warnings and deadline marks to write together (``flush``)."""

    def __init__(self, policies: PolicyBook | None = None) -> None:
        self.policies = policies
        self.deadlines: dict[int, Deadline] = {}
        self.escalations: list[Escalation] = []
        self.records: list[Record] = []
        self.notices: list[ToNotify] = []
        # An escalation's own event and emails (in the lists above, in the order of the work),
        # and the tier it raised the case from: what is undone if its row turns out to exist
        # already (see flush).
        self._parts: dict[int, tuple[Record, ToNotify, int]] = {}
        self._members: dict[tuple, list[User]] = {}

    def members(self, *, case: Case, tier: int) -> list[User]:
        """``tier_members``, each tier's people read once per department for the batch (the
        handlers named at tier 0 are each case's own)."""
        key = (tier, case_department_id(case), case.owner_id, case.responsible_person_id)
        if tier > 0:
            key = key[:2]
        if key not in self._members:
            self._members[key] = tier_members(case=case, tier=tier)
        return self._members[key]

    def deadline_marked(self, deadline: Deadline) -> None:
        self.deadlines[deadline.pk] = deadline

    def record(self, record: Record) -> None:
        self.records.append(record)

    def notify(self, notice: ToNotify) -> None:
        self.notices.append(notice)

    def escalate(
        self,
        *,
        case: Case,
        reason: str,
        at: datetime,
        to_tier: int | None = None,
        by: User | None = None,
        deadline: Deadline | None = None,
        note: str = "",
    ) -> Escalation:
        """Hand the case to a higher tier (one up unless ``to_tier`` says; never down): the
        row, the case's new tier (at once, so that a second breach of the batch goes on from
        it), the event, and the emails to the new tier's people and the previous owner."""
        from_tier = case.tier
        to_tier = max(next_tier(from_tier) if to_tier is None else to_tier, from_tier)
        policy = (self.policies.policy_for if self.policies else policy_for)(
            urgency=case.urgency, category=case.category
        )
        escalation = Escalation(
            case=case,
            deadline=deadline,
            milestone=deadline.milestone if deadline else "",
            round=deadline.round if deadline else case.reopen_count,
            from_tier=from_tier,
            to_tier=to_tier,
            reason=reason,
            note=note,
            at=at,
            by=by,
            previous_owner_id=case.owner_id,
            next_notify_at=at + policy.renotify_every,
        )
        case.tier = to_tier
        changes = {"reason": [None, reason]}
        if deadline:
            changes["milestone"] = [None, deadline.milestone]
        if to_tier != from_tier:
            changes["tier"] = [from_tier, to_tier]
        record = Record(
            case=case,
            kind=CaseEvent.Kind.ESCALATED,
            by=by,
            note=note,
            set_fields={"tier": to_tier},
            changes=changes,
            at=at,
        )
        recipients = list(self.members(case=case, tier=to_tier))
        if not recipients:
            log.warning(
                "Escalation of %s: nobody stands at tier %s or above.", case.reference, to_tier
            )
        if case.owner_id and case.owner not in recipients:
            recipients.append(case.owner)
        notice = ToNotify(
            kind=Notification.Kind.ESCALATED,
            recipients=recipients,
            case=case,
            escalation=escalation,
        )
        self.escalations.append(escalation)
        self.records.append(record)
        self.notices.append(notice)
        self._parts[id(escalation)] = (record, notice, from_tier)
        return escalation

    def flush(self) -> list[Escalation]:
        """Write everything gathered, each kind of row in one statement; return the escalations
        written. A breach escalates at most once (``escalation_once_per_breach``): a lone
        escalation whose row exists already (an overlapping sweep, a redelivered task) is left
        out with its event and emails, the case's tier as it was; in a batch of several, the
        IntegrityError is raised, and the sweep handles that batch one by one."""
        if self.deadlines:
            rows_update(list(self.deadlines.values()), SWEEP_MARKS)
        written = self.escalations
        if len(written) == 1:
            try:
                with transaction.atomic():
                    Escalation.objects.bulk_create(written)
            except IntegrityError:
                written = []
        elif written:
            Escalation.objects.bulk_create(written)
        kept = {id(escalation) for escalation in written}
        dropped: set[int] = set()
        for escalation in self.escalations:
            if id(escalation) not in kept:
                record, notice, from_tier = self._parts[id(escalation)]
                dropped |= {id(record), id(notice)}
                escalation.case.tier = from_tier
        records = [record for record in self.records if id(record) not in dropped]
        notices = [notice for notice in self.notices if id(notice) not in dropped]
        cases_record(records)
        if written:
            signals.cases_escalated_in_transaction.send(sender=Escalation, escalations=written)
        notify_many(notices)
        return written
