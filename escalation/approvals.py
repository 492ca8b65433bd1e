"""Authority limits (处置权限): each tier may decide remedies up to its ceiling; above it the
decision waits for the approval of a tier that may grant it. The wait counts against the clock."""

from __future__ import annotations

from decimal import Decimal

from django.db import transaction
from django.utils import formats, timezone
from django.utils.translation import gettext as _

from complaints.access import case_can_work
from complaints.errors import AccessDenied, InvalidInput, TransitionRefused
from complaints.lifecycle import Move
from complaints.models import Case, CaseEvent, Step, Tier, User
from complaints.services import case_record

from .models import Approval, AuthorityLimit, Escalation, Notification
from .notifications import notify
from .services import case_escalate
from .tiers import can_act_for_tier, tier_members, user_tier


def ceilings() -> dict[int, Decimal | None]:
    """Each tier's ceiling; a tier without a row has none (0 to 3 are seeded by migration)."""
    return {row.tier: row.ceiling for row in AuthorityLimit.objects.all()}


def _within(value: Decimal, ceiling: Decimal | None) -> bool:
    return ceiling is None or value <= ceiling


def tier_needed(value: Decimal, limits: dict[int, Decimal | None] | None = None) -> int | None:
    """The lowest tier whose ceiling covers the value (None: no tier may grant it). ``limits``:
    ``ceilings()`` read once already (a page that asks for several values)."""
    limits = ceilings() if limits is None else limits
    for tier in range(Tier.HANDLER, Tier.EXTERNAL_REVIEW):
        if _within(value, limits.get(tier)):
            return tier
    return None


def _money(value: Decimal | None) -> str:
    return "—" if value is None else formats.number_format(value, 2, use_l10n=True)


def authority_objections(*, case: Case, move: Move, by: User) -> list[str]:
    """Leaving Decide with a remedy above the decider's ceiling needs an approval of at least
    that value in the case's current round."""
    if move.source != Step.DECIDE or move.kind != "forward" or not case.remedy_value:
        return []
    ceiling = ceilings().get(user_tier(by))
    if _within(case.remedy_value, ceiling):
        return []
    approved = Approval.objects.filter(
        case=case,
        round=case.reopen_count,
        status=Approval.Status.APPROVED,
        value__gte=case.remedy_value,
    ).exists()
    if approved:
        return []
    return [
        _(
            "The remedy's value %(value)s is above your authority (%(ceiling)s): "
            "request approval first."
        )
        % {"value": _money(case.remedy_value), "ceiling": _money(ceiling)}
    ]


@transaction.atomic
def approval_request(*, case: Case, by: User, note: str = "") -> Approval:
    """Ask the tier that may grant it to approve the remedy recorded at Decide. The request
    sits in that tier's queue as an escalation (reason: above authority)."""
    # ``of``: PostgreSQL refuses FOR UPDATE on the nullable side of the outer join to the owner.
    locked = (
        Case.objects.select_for_update(of=("self",))
        .select_related("receiver", "owner")
        .get(pk=case.pk)
    )
    if not case_can_work(user=by, case=locked):
        raise AccessDenied()
    if locked.step != Step.DECIDE:
        raise TransitionRefused(_("Remedies are approved while the case is at Decide."))
    value = locked.remedy_value
    if not value:
        raise InvalidInput(fields={"remedy_value": [_("Record the remedy's value first.")]})
    if _within(value, ceilings().get(user_tier(by))):
        raise InvalidInput(_("This remedy is within your authority: no approval is needed."))
    if locked.approvals.filter(status=Approval.Status.PENDING).exists():
        raise TransitionRefused(_("An approval is already waiting for this case."))
    tier = tier_needed(value)
    if tier is None:
        raise InvalidInput(
            fields={"remedy_value": [_("No tier may approve a remedy of this value.")]}
        )
    approval = Approval.objects.create(
        case=locked,
        round=locked.reopen_count,
        value=value,
        remedy_types=locked.remedy_types,
        tier=tier,
        requested_by=by,
        note=note.strip()[:1000],
    )
    case_record(
        case=locked,
        kind=CaseEvent.Kind.APPROVAL_REQUESTED,
        by=by,
        note=note,
        changes={"remedy_value": [None, str(value)]},
    )
    if tier > locked.tier:
        case_escalate(
            case=locked, reason=Escalation.Reason.AUTHORITY, to_tier=tier, by=by, note=note
        )
    else:
        notify(
            kind=Notification.Kind.APPROVAL,
            case=locked,
            recipients=tier_members(case=locked, tier=tier),
            approval=approval,
        )
    case.refresh_from_db()
    return approval


def withdraw_pending_approvals(*, case: Case) -> int:
    """The case left Decide: a remedy still waiting for approval is no longer asked for."""
    return case.approvals.filter(status=Approval.Status.PENDING).update(
        status=Approval.Status.WITHDRAWN
    )


@transaction.atomic
def approval_decide(*, approval: Approval, by: User, approve: bool, note: str = "") -> Approval:
    """Approve or decline a waiting remedy. Only someone whose own ceiling covers the value, of
    the tier asked (a department head for their department). Declining needs a reason."""
    locked = Approval.objects.select_for_update().select_related("case").get(pk=approval.pk)
    case = Case.objects.select_for_update().select_related("receiver").get(pk=locked.case_id)
    if locked.status != Approval.Status.PENDING:
        raise InvalidInput(_("This approval was already decided."))
    if case.step != Step.DECIDE or case.reopen_count != locked.round:
        raise TransitionRefused(_("The case has moved on since this approval was asked for."))
    if not can_act_for_tier(user=by, case=case, tier=locked.tier) or not _within(
        locked.value, ceilings().get(user_tier(by))
    ):
        raise AccessDenied(_("Your authority does not cover this remedy."))
    note = note.strip()
    if not approve and not note:
        raise InvalidInput(fields={"note": [_("Say why the remedy is declined.")]})
    locked.status = Approval.Status.APPROVED if approve else Approval.Status.DECLINED
    locked.decided_by, locked.decided_at, locked.decision_note = by, timezone.now(), note[:1000]
    locked.save(update_fields=["status", "decided_by", "decided_at", "decision_note"])
    case_record(
        case=case,
        kind=CaseEvent.Kind.APPROVED if approve else CaseEvent.Kind.DECLINED,
        by=by,
        note=note,
        set_fields={"remedy_approved_by": by} if approve else {},
    )
    for escalation in case.escalations.filter(
        reason=Escalation.Reason.AUTHORITY, acknowledged_at__isnull=True
    ):
        escalation.acknowledged_at, escalation.acknowledged_by = locked.decided_at, by
        escalation.next_notify_at = None
        escalation.save(update_fields=["acknowledged_at", "acknowledged_by", "next_notify_at"])
    notify(
        kind=Notification.Kind.APPROVAL_DECIDED,
        case=case,
        recipients=[locked.requested_by],
        approval=locked,
    )
    return locked
