"""Merging two cases that turn out to be the same complaint: the rules (``merge_refusals``) and
the one service that applies them (``case_merge``).

The **survivor** carries on; the **absorbed** case is marked ``merged_into`` the survivor and
stops: it leaves every open list, its deadlines stop counting (the escalation app supersedes
them through ``signals.case_merged_in_transaction``), nobody may change it, and its page leads
to the survivor. Nothing is moved or lost: events are append-only, so the absorbed case keeps
its own, and the survivor's timeline, files and messages are read together with those of the
cases merged into it (``selectors.case_events``, ``selectors.case_attachments``). The absorbed
case's tracking links open the survivor (``intake.tracking``), and a reply naming its reference
reaches the survivor (``intake.inbound``).

The rules, each refused with its reason:

- a case is not merged into itself, nor twice, nor into a case that was itself merged (merge
  into that one: merges never chain, every merged case points at the case that handles it);
- the user may work both cases (``access.case_can_work``): the merge changes both, and hands the
  absorbed complaint to the survivor's owner;
- neither case is closed: a closed case's handling, verdict and ratings stand as they are, and a
  closed survivor would leave the absorbed complaint without an answer;
- the survivor is the case received first: the time limits count from the moment the complaint
  first arrived, so merging never buys time (an earlier case merged into a later one would);
- the other apps may object (``signals.case_merge_checked``: a case with an external reviewer).

The customers may differ (two people complaining about the same order): then each keeps seeing
only their own messages on the tracking page, with the survivor's progress."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from . import repeats, signals
from .access import case_can_work
from .errors import AccessDenied, CaseConflict, InvalidInput, TransitionRefused
from .models import Case, CaseEvent, Customer, Step, User
from .services import _event_note, _save


def merge_refusals(*, survivor: Case, absorbed: Case, by: User) -> list[str]:
    """Why ``absorbed`` may not be merged into ``survivor`` by ``by`` (empty: it may). Raises
    ``AccessDenied`` when the user may not work both. Reads only what the rows say, so the
    confirmation page can show the reasons before anything is written; ``case_merge`` asks
    again with both rows locked."""
    if survivor.pk == absorbed.pk:
        return [_("A case cannot be merged into itself.")]
    merged = []
    if absorbed.merged_into_id:
        merged.append(
            _("%(reference)s has already been merged into %(survivor)s.")
            % {"reference": absorbed.reference, "survivor": absorbed.merged_into.reference}
        )
    if survivor.merged_into_id:
        merged.append(
            _("%(reference)s was merged into %(survivor)s: merge into %(survivor)s instead.")
            % {"reference": survivor.reference, "survivor": survivor.merged_into.reference}
        )
    if merged:
        return merged
    if not (case_can_work(user=by, case=survivor) and case_can_work(user=by, case=absorbed)):
        raise AccessDenied(_("You may merge only cases you may work on, both of them."))
    reasons = [
        _("%(reference)s is closed: a handled complaint is not merged.")
        % {"reference": case.reference}
        for case in (absorbed, survivor)
        if case.step == Step.CLOSED
    ]
    if absorbed.received_at < survivor.received_at:
        reasons.append(
            _(
                "Merge the later case into the earlier one: %(earlier)s was received first, "
                "and the time limits count from the first receipt."
            )
            % {"earlier": absorbed.reference}
        )
    reasons += [
        reason
        for _receiver, objections in signals.case_merge_checked.send(
            sender=Case, survivor=survivor, absorbed=absorbed, by=by
        )
        for reason in objections or ()
    ]
    return reasons


def _lock_both(survivor: Case, absorbed: Case) -> tuple[Case, Case]:
    """Both case rows, locked until the transaction ends, after their customers' rows. Always
    in the same order — customers, then cases, each by pk — which is also intake's (it locks
    the customer before it writes the customer's cases), so no two of them deadlock."""
    list(
        Customer.objects.select_for_update()
        .filter(pk__in={survivor.customer_id, absorbed.customer_id})
        .order_by("pk")
    )
    locked = {
        case.pk: case
        for case in Case.objects.select_for_update(of=("self",))
        .select_related("customer", "merged_into")
        .filter(pk__in=[survivor.pk, absorbed.pk])
        .order_by("pk")
    }
    return locked[survivor.pk], locked[absorbed.pk]


@transaction.atomic
def case_merge(
    *,
    survivor: Case,
    absorbed: Case,
    by: User,
    note: str,
    expected_version: int | None = None,
    survivor_version: int | None = None,
) -> CaseEvent:
    """Merge ``absorbed`` into ``survivor`` (the rules: the module's docstring), with the reason
    why they are the same complaint. Both cases get a ``merged`` event; cases merged into the
    absorbed one before now point at the survivor too. ``expected_version`` and
    ``survivor_version``: the versions the user saw (default: those of the cases given), a
    change since is refused as a conflict. Returns the survivor's event."""
    note = _event_note(note)
    if not note:
        raise InvalidInput(fields={"note": [_("Say why these cases are the same complaint.")]})
    if survivor.pk == absorbed.pk:
        raise TransitionRefused(_("A case cannot be merged into itself."))
    locked_survivor, locked_absorbed = _lock_both(survivor, absorbed)
    for given, locked, seen in (
        (absorbed, locked_absorbed, expected_version),
        (survivor, locked_survivor, survivor_version),
    ):
        if locked.version != (given.version if seen is None else seen):
            raise CaseConflict()
    reasons = merge_refusals(survivor=locked_survivor, absorbed=locked_absorbed, by=by)
    if reasons:
        raise TransitionRefused(*reasons)

    now = timezone.now()
    # Earlier merges into the absorbed case follow it: no chains.
    followers = list(Case.objects.filter(merged_into=locked_absorbed).values_list("pk", flat=True))
    Case.objects.filter(pk__in=followers).update(merged_into=locked_survivor)
    changes = {"merged_into": [None, locked_survivor.pk]}
    if locked_absorbed.repeat_of_id is not None:
        # A merged case is no complaint of its own, so no repeat either (complaints.repeats).
        changes["repeat_of"] = [locked_absorbed.repeat_of_id, None]
    locked_absorbed.merged_into = locked_survivor
    locked_absorbed.merged_at = now
    locked_absorbed.repeat_of = None
    _save(locked_absorbed, ["merged_into", "merged_at", "repeat_of"])
    CaseEvent.objects.create(
        case=locked_absorbed,
        actor=by,
        kind=CaseEvent.Kind.MERGED,
        changes=changes,
        note=note,
        customer_visible=True,
        at=now,
    )
    CaseEvent.objects.bulk_create(
        CaseEvent(
            case_id=pk,
            actor=by,
            kind=CaseEvent.Kind.MERGED,
            changes={"merged_into": [locked_absorbed.pk, locked_survivor.pk]},
            note=note,
            at=now,
        )
        for pk in followers
    )
    event = CaseEvent.objects.create(
        case=locked_survivor,
        actor=by,
        kind=CaseEvent.Kind.MERGED,
        changes={"merged_from": [None, locked_absorbed.pk]},
        note=note,
        # The survivor's customer is told only of another person's complaint joining theirs;
        # of their own, the absorbed case's event tells them.
        customer_visible=locked_absorbed.customer_id != locked_survivor.customer_id,
        at=now,
    )
    # A message of the absorbed case's customer still waiting for our answer waits on the
    # survivor now, which handles it (the earlier of the two, if both wait).
    waiting = locked_absorbed.awaiting_reply_since
    if waiting is not None:
        since = min(filter(None, [waiting, locked_survivor.awaiting_reply_since]))
        Case.objects.filter(pk=locked_absorbed.pk).update(awaiting_reply_since=None)
        Case.objects.filter(pk=locked_survivor.pk).update(awaiting_reply_since=since)
    # The absorbed customer's later cases may have been repeats of the absorbed case.
    repeats.repeats_refresh(
        customer_ids=[locked_absorbed.customer_id], since=locked_absorbed.received_at
    )
    signals.case_merged_in_transaction.send(
        sender=Case, survivor=locked_survivor, absorbed=locked_absorbed, event=event
    )
    survivor.refresh_from_db()
    absorbed.refresh_from_db()
    return event
