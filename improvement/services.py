"""Every change to corrective and preventive actions. Views, the API, the sweep's passes and the
demo data call these; nothing else writes the models. Each runs in one transaction, locks the
action row it changes (``select_for_update``), refuses a write over a newer version, and
appends its history row (``ActionEvent``)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from django.db import transaction
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from complaints.errors import AccessDenied, CaseConflict, InvalidInput, TransitionRefused
from complaints.models import Case, Department, RootCause, User
from complaints.services import jsonable
from escalation.tiers import can_act_at_tier

from . import statuses
from .access import (
    action_can_edit,
    action_can_verify,
    action_escalation_can_acknowledge,
    action_may,
    case_can_record_action,
    case_past_analysis,
)
from .evidence import MAX_WINDOW_DAYS, done_moment, recurrence_count, window_ready_at
from .models import (
    OPEN_STATUSES,
    WORKING_STATUSES,
    Action,
    ActionCase,
    ActionEscalation,
    ActionEvent,
    Kind,
    Status,
    Verification,
)
from .overdue import next_check, reminders_rearm, schedule

# The furthest a due date may be set (and a bound the date arithmetic can always take).
MAX_DUE_YEARS = 5


class ActionConflict(CaseConflict):
    """Someone else changed the action since the caller read it."""

    default_message = gettext_lazy(
        "Someone else changed this action while you were working on it. "
        "Reload it to see their change, then try again."
    )


def _text(
    value: str, *, field: str, required: str | None, errors: dict[str, list[str]], model=Action
) -> str:
    value = (value or "").strip()
    limit = model._meta.get_field(field).max_length
    if required and not value:
        errors.setdefault(field, []).append(required)
    elif limit and len(value) > limit:
        errors.setdefault(field, []).append(
            _("Keep it under %(limit)d characters.") % {"limit": limit}
        )
    return value


def _note(value: str, errors: dict[str, list[str]]) -> str:
    """A note for the history, refused when it is longer than an event can hold."""
    return _text(value, field="note", required=None, errors=errors, model=ActionEvent)


def _check_details(
    data: dict[str, Any], errors: dict[str, list[str]], *, today: date, due_changes: bool
) -> dict[str, Any]:
    """The details an action is recorded or edited with, checked; the cleaned values."""
    clean = dict(data)
    if "kind" in data and data["kind"] not in Kind.values:
        errors.setdefault("kind", []).append(_("Choose corrective or preventive."))
    if "root_cause" in data and data["root_cause"] not in RootCause.values:
        errors.setdefault("root_cause", []).append(_("Choose the root-cause category."))
    for name, required in (
        ("cause", _("Say which cause the action addresses.")),
        ("title", _("Say what is to be done.")),
        ("plan", None),
    ):
        if name in data:
            clean[name] = _text(data[name], field=name, required=required, errors=errors)
    owner = data.get("owner")
    if owner is not None and not (
        isinstance(owner, User) and owner.is_active and owner.has_perm("complaints.work_case")
    ):
        errors.setdefault("owner", []).append(_("Choose an active member of staff."))
    department = data.get("department")
    if department is not None and not isinstance(department, Department):
        errors.setdefault("department", []).append(_("Choose a department."))
    if "due_on" in data and due_changes:
        due_on = data["due_on"]
        if not isinstance(due_on, date) or isinstance(due_on, datetime):
            errors.setdefault("due_on", []).append(_("Give the due date."))
        elif due_on < today:
            errors.setdefault("due_on", []).append(_("The due date cannot be in the past."))
        elif due_on > today.replace(year=today.year + MAX_DUE_YEARS, day=min(today.day, 28)):
            errors.setdefault("due_on", []).append(
                _("Choose a due date within %(years)d years.") % {"years": MAX_DUE_YEARS}
            )
    return clean


def _owner_and_department(clean: dict[str, Any], errors: dict[str, list[str]]) -> None:
    """A person and/or a department; a person alone brings their department."""
    if clean.get("owner") is None and clean.get("department") is None:
        errors.setdefault("owner", []).append(_("Name the owner: a person and/or a department."))
    elif clean.get("department") is None and isinstance(clean.get("owner"), User):
        clean["department"] = clean["owner"].department


def _check_cases(
    cases: Sequence[Case], *, by: User, errors: dict[str, list[str]], field: str = "cases"
) -> list[Case]:
    unique = list({case.pk: case for case in cases}.values())
    if not unique:
        errors.setdefault(field, []).append(_("Link at least one case the action comes from."))
    for case in unique:
        if not case_past_analysis(case):
            errors.setdefault(field, []).append(
                _("%(reference)s has not finished Analyse: its root cause is not known yet.")
                % {"reference": case.reference}
            )
        elif not case_can_record_action(user=by, case=case):
            errors.setdefault(field, []).append(
                _("You may not work %(reference)s.") % {"reference": case.reference}
            )
    return unique


def _refuse_if(errors: dict[str, list[str]]) -> None:
    if errors:
        raise InvalidInput(*[m for messages in errors.values() for m in messages], fields=errors)


def _lock(action: Action, *, expected_version: int | None) -> Action:
    """The action row, locked until the transaction ends, after checking that nobody changed it
    since the caller read it."""
    locked = (
        Action.objects.select_for_update(of=("self",))
        .select_related("owner", "department")
        .get(pk=action.pk)
    )
    seen = action.version if expected_version is None else expected_version
    if locked.version != seen:
        raise ActionConflict()
    return locked


def _save(action: Action, fields: list[str]) -> None:
    action.version += 1
    action.save(update_fields=[*fields, "version", "updated_at"])


def _closed(action: Action) -> TransitionRefused:
    return TransitionRefused(
        _("The action is %(status)s: it can no longer change.")
        % {"status": Status(action.status).label.lower()}
    )


# ---------------------------------------------------------------- recording


@transaction.atomic
def action_record(
    *,
    by: User,
    kind: str,
    root_cause: str,
    cause: str,
    title: str,
    due_on: date,
    cases: Sequence[Case],
    plan: str = "",
    owner: User | None = None,
    department: Department | None = None,
) -> Action:
    """Record a corrective or preventive action that comes from ``cases``: each must be past
    Analyse (or closed) and workable by ``by``. The owner is a person and/or a department; the
    due date is today or later."""
    now = timezone.now()
    errors: dict[str, list[str]] = {}
    clean = _check_details(
        {
            "kind": kind,
            "root_cause": root_cause,
            "cause": cause,
            "title": title,
            "plan": plan,
            "owner": owner,
            "department": department,
            "due_on": due_on,
        },
        errors,
        today=timezone.localdate(now),
        due_changes=True,
    )
    _owner_and_department(clean, errors)
    linked = _check_cases(cases, by=by, errors=errors)
    _refuse_if(errors)
    action = Action(**clean, recorded_by=by, recorded_at=now)
    schedule(action, now=now)
    action.save()
    ActionCase.objects.bulk_create(
        ActionCase(action=action, case=case, linked_by=by, linked_at=now) for case in linked
    )
    ActionEvent.objects.create(
        action=action,
        actor=by,
        kind=ActionEvent.Kind.RECORDED,
        to_status=Status.OPEN,
        at=now,
        changes={
            "owner": [None, jsonable(action.owner)],
            "department": [None, jsonable(action.department)],
            "due_on": [None, jsonable(action.due_on)],
            "cases": [None, [case.reference for case in linked]],
        },
    )
    return action


EDITABLE = ("kind", "root_cause", "cause", "title", "plan", "owner", "department", "due_on")


@transaction.atomic
def action_update(
    *,
    action: Action,
    by: User,
    data: dict[str, Any],
    note: str = "",
    expected_version: int | None = None,
) -> ActionEvent | None:
    """Change an open action's details. A new due date needs a reason (``note``) and starts a
    new round (its breach escalates once more); once the action is escalated, only someone of
    the tier it is at may move its due date."""
    unknown = sorted(set(data) - set(EDITABLE))
    if unknown:
        raise InvalidInput(fields={name: [_("Not editable.")] for name in unknown})
    locked = _lock(action, expected_version=expected_version)
    if not action_can_edit(user=by, action=locked):
        raise AccessDenied(_("You may not change this action."))
    if locked.status not in OPEN_STATUSES:
        raise _closed(locked)
    now = timezone.now()
    errors: dict[str, list[str]] = {}
    due_changes = "due_on" in data and data["due_on"] != locked.due_on
    clean = _check_details(data, errors, today=timezone.localdate(now), due_changes=due_changes)
    note = _note(note, errors)
    merged = {name: getattr(locked, name) for name in EDITABLE} | clean
    if "owner" in data and "department" not in data:
        merged["department"] = None  # a new owner alone brings their own department
    _owner_and_department(merged, errors)
    if due_changes and not note:
        errors.setdefault("note", []).append(_("Say why the due date moves."))
    _refuse_if(errors)
    if (
        due_changes
        and locked.tier
        and not can_act_at_tier(user=by, department_id=locked.department_id, tier=locked.tier)
    ):
        raise AccessDenied(_("The action is escalated: only its tier may move the due date."))
    changes = {}
    for name in EDITABLE:
        old, new = getattr(locked, name), merged[name]
        if old != new:
            changes[name] = [jsonable(old), jsonable(new)]
            setattr(locked, name, new)
    if not changes:
        return None
    fields = list(changes)
    if due_changes:
        locked.round += 1
        schedule(locked, now=now)
        fields += ["round", "due_at", "warn_at", "warned_at", "breached_at", "next_check_at"]
    _save(locked, fields)
    event = ActionEvent.objects.create(
        action=locked, actor=by, kind=ActionEvent.Kind.UPDATED, changes=changes, note=note, at=now
    )
    action.refresh_from_db()
    return event


# ---------------------------------------------------------------- status


@transaction.atomic
def action_transition(
    *,
    action: Action,
    to: str,
    by: User,
    note: str = "",
    expected_version: int | None = None,
) -> ActionEvent:
    """Move the action along one of ``statuses.MOVES``, by someone the move allows, with the note
    it needs. Anything else is refused with the reason, and nothing is saved."""
    if to not in Status.values:
        raise TransitionRefused(_("There is no status called “%(status)s”.") % {"status": to})
    errors: dict[str, list[str]] = {}
    note = _note(note, errors)
    _refuse_if(errors)
    locked = _lock(action, expected_version=expected_version)
    move = statuses.MOVES.get((locked.status, to))
    if move is None:
        raise TransitionRefused(
            _("An action that is %(source)s cannot become %(target)s.")
            % {
                "source": Status(locked.status).label.lower(),
                "target": Status(to).label.lower(),
            }
        )
    if move.via == "verify":
        raise TransitionRefused(_("Verify the action with its evidence."))
    if not action_may(user=by, action=locked, who=move.who):
        raise AccessDenied(_WHO_REFUSAL[move.who])
    if move.note_required and not note:
        raise TransitionRefused(move.note_required, fields={"note": [str(move.note_required)]})
    event = _move(locked, to=to, by=by, note=note)
    action.refresh_from_db()
    return event


# Lazy: built at import, translated into the language of each request that is refused.
_WHO_REFUSAL = {
    statuses.OWNER: gettext_lazy(
        "Only the action's owner, its department's head or a manager may do this."
    ),
    statuses.OWNER_OR_VERIFIER: gettext_lazy(
        "Only the action's owner, its department's head, or a quality or general manager may "
        "do this."
    ),
    statuses.MANAGER: gettext_lazy(
        "Only the head of the owner department, or a quality or general manager, may cancel "
        "the action."
    ),
    statuses.VERIFIER: gettext_lazy(
        "Verifying needs a quality manager or the general manager who neither owns the action "
        "nor marked it done."
    ),
}


def _move(locked: Action, *, to: str, by: User, note: str, changes: dict | None = None):
    now = timezone.now()
    source = locked.status
    locked.status = to
    fields = ["status"]
    if to == Status.DONE:
        locked.done_at, locked.done_by, locked.done_note = now, by, note
        fields += ["done_at", "done_by", "done_note"]
    elif source == Status.DONE and to == Status.IN_PROGRESS:
        locked.done_at = locked.done_by = None
        fields += ["done_at", "done_by"]
    if to in (Status.VERIFIED, Status.CANCELLED):
        locked.closed_at = now
        fields.append("closed_at")
    if to == Status.CANCELLED:
        locked.cancel_reason = note
        fields.append("cancel_reason")
    # Done, verified or cancelled: nothing left to be overdue; back to work: due again, and
    # an escalation nobody acknowledged reminds its tier again.
    locked.next_check_at = next_check(locked)
    fields.append("next_check_at")
    _save(locked, fields)
    if source not in WORKING_STATUSES and to in WORKING_STATUSES:
        reminders_rearm(locked, now=now)
    return ActionEvent.objects.create(
        action=locked,
        actor=by,
        kind=ActionEvent.Kind.STATUS,
        from_status=source,
        to_status=to,
        changes={"status": [source, to], **(changes or {})},
        note=note,
        at=now,
    )


@transaction.atomic
def action_verify(
    *,
    action: Action,
    by: User,
    note: str,
    window_days: int | None = None,
    same_department: bool = False,
    same_product: bool = False,
    override_reason: str = "",
    expected_version: int | None = None,
) -> Verification:
    """A done action is verified by a quality or general manager who neither owns it nor made
    it done, with evidence: a note, and optionally the observation that no new case of its
    root-cause category (of the same department or product as its cases, if asked) arrived
    since it was done, at least ``window_days`` days ago — counted by the database now over
    [done, now] and stored with the verification (both moments). Asked before those days have
    passed, or with a new case found, the verification is refused, unless ``override_reason``
    says why it stands anyway."""
    errors: dict[str, list[str]] = {}
    note = _text(
        note,
        field="note",
        required=_("Write down the evidence."),
        errors=errors,
        model=Verification,
    )
    override_reason = _text(
        override_reason, field="override_reason", required=None, errors=errors, model=Verification
    )
    if window_days is not None and not (
        isinstance(window_days, int) and 1 <= window_days <= MAX_WINDOW_DAYS
    ):
        errors.setdefault("window_days", []).append(
            _("Count between 1 and %(most)d days.") % {"most": MAX_WINDOW_DAYS}
        )
    if window_days is None and (same_department or same_product):
        errors.setdefault("window_days", []).append(
            _("Say over how many days no new case arrived.")
        )
    _refuse_if(errors)
    locked = _lock(action, expected_version=expected_version)
    if locked.status != Status.DONE:
        raise TransitionRefused(_("Only a done action can be verified."))
    if not action_can_verify(user=by, action=locked):
        raise AccessDenied(_WHO_REFUSAL[statuses.VERIFIER])
    now = timezone.now()
    found = None
    early = False
    if window_days is not None:
        done_at = done_moment(locked)
        early = now < window_ready_at(done_at, window_days)
        if early and not override_reason:
            message = _wait_message(done_at, window_days)
            raise TransitionRefused(message, fields={"window_days": [message]})
        found = recurrence_count(
            action=locked,
            window_days=window_days,
            since=done_at,
            until=now,
            same_department=same_department,
            same_product=same_product,
        )
        if found.count and not override_reason:
            message = ngettext(
                "%(count)d new case of this root-cause category arrived since the action was "
                "done on %(done)s (%(references)s). Send the action back to in progress, or "
                "give a reason to verify it anyway.",
                "%(count)d new cases of this root-cause category arrived since the action was "
                "done on %(done)s (%(references)s). Send the action back to in progress, or "
                "give a reason to verify it anyway.",
                found.count,
            ) % {
                "count": found.count,
                "done": _moment(done_at),
                "references": ", ".join(found.references),
            }
            raise TransitionRefused(message, fields={"override_reason": [message]})
    verification = Verification.objects.create(
        action=locked,
        by=by,
        at=now,
        note=note,
        window_days=window_days,
        window_start=found.since if found else None,
        window_end=found.until if found else None,
        same_department=bool(found and same_department),
        same_product=bool(found and same_product),
        cases_found=found.count if found else None,
        found=found.references if found else [],
        override_reason=override_reason if found and (found.count or early) else "",
    )
    evidence = {}
    if found:
        evidence = {"window_days": [None, window_days], "cases_found": [None, found.count]}
    _move(locked, to=Status.VERIFIED, by=by, note=note, changes=evidence)
    action.refresh_from_db()
    return verification


def _moment(at: datetime) -> str:
    return formats.date_format(timezone.localtime(at), "DATETIME_FORMAT")


def _wait_message(done_at: datetime, window_days: int) -> str:
    return ngettext(
        "Wait until %(ready)s: the %(days)d day without a new case is counted from when the "
        "action was done (%(done)s). Or give the reason to verify it now.",
        "Wait until %(ready)s: the %(days)d days without a new case are counted from when the "
        "action was done (%(done)s). Or give the reason to verify it now.",
        window_days,
    ) % {
        "ready": _moment(window_ready_at(done_at, window_days)),
        "days": window_days,
        "done": _moment(done_at),
    }


# ---------------------------------------------------------------- cases


@transaction.atomic
def action_link_case(
    *, action: Action, case: Case, by: User, expected_version: int | None = None
) -> ActionEvent:
    """Link one more case to an open action: someone who may change the action, and may work
    the case, past Analyse."""
    locked = _lock(action, expected_version=expected_version)
    if not action_can_edit(user=by, action=locked):
        raise AccessDenied(_("You may not change this action."))
    if locked.status not in OPEN_STATUSES:
        raise _closed(locked)
    errors: dict[str, list[str]] = {}
    _check_cases([case], by=by, errors=errors, field="case")
    if not errors and locked.links.filter(case=case).exists():
        errors["case"] = [_("%(reference)s is linked already.") % {"reference": case.reference}]
    _refuse_if(errors)
    ActionCase.objects.create(action=locked, case=case, linked_by=by)
    _save(locked, [])
    event = ActionEvent.objects.create(
        action=locked,
        actor=by,
        kind=ActionEvent.Kind.LINKED,
        changes={"case": [None, case.reference]},
    )
    action.refresh_from_db()
    return event


@transaction.atomic
def action_unlink_case(
    *, action: Action, case: Case, by: User, expected_version: int | None = None
) -> ActionEvent:
    """Take a case off an open action; the action keeps at least one."""
    locked = _lock(action, expected_version=expected_version)
    if not action_can_edit(user=by, action=locked):
        raise AccessDenied(_("You may not change this action."))
    if locked.status not in OPEN_STATUSES:
        raise _closed(locked)
    links = list(locked.links.all())
    link = next((row for row in links if row.case_id == case.pk), None)
    if link is None:
        raise InvalidInput(
            fields={"case": [_("%(reference)s is not linked.") % {"reference": case.reference}]}
        )
    if len(links) == 1:
        raise TransitionRefused(_("An action keeps at least one case it comes from."))
    link.delete()
    _save(locked, [])
    event = ActionEvent.objects.create(
        action=locked,
        actor=by,
        kind=ActionEvent.Kind.UNLINKED,
        changes={"case": [case.reference, None]},
    )
    action.refresh_from_db()
    return event


# ---------------------------------------------------------------- escalations


@transaction.atomic
def action_escalation_acknowledge(
    *, escalation: ActionEscalation, by: User, note: str = ""
) -> ActionEscalation:
    """Someone of the tier has seen the overdue action: the reminders stop."""
    errors: dict[str, list[str]] = {}
    note = _note(note, errors)
    _refuse_if(errors)
    locked = (
        ActionEscalation.objects.select_for_update(of=("self",))
        .select_related("action")
        .get(pk=escalation.pk)
    )
    if not action_escalation_can_acknowledge(user=by, escalation=locked):
        raise AccessDenied(_("This escalation is for another tier or department."))
    if locked.acknowledged_at is not None:
        raise InvalidInput(_("This escalation was already acknowledged."))
    now = timezone.now()
    locked.acknowledged_at, locked.acknowledged_by, locked.next_notify_at = now, by, None
    locked.save(update_fields=["acknowledged_at", "acknowledged_by", "next_notify_at"])
    ActionEvent.objects.create(
        action=locked.action, actor=by, kind=ActionEvent.Kind.ACKNOWLEDGED, note=note, at=now
    )
    return locked
