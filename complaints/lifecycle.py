"""The seven-step lifecycle as data: which moves exist, what each records, what each requires.

``case_transition`` in ``complaints.services`` is the one guard that applies this table; the UI
and the API both go through it. A move not in ``MOVES`` or ``ENDINGS`` does not exist.

    receive → listen → analyse → decide → act → confirm → follow_up → closed (rated)
                                    ↑  └─(not valid: explanation)──↗   │
                                    └──── confirm: customer refused ───┘
              analyse ← follow_up: customer not satisfied (reopened)

The honest endings (``ENDINGS``) close a case that no rating can close, each with its reason:
the customer unreachable at Follow up after the attempts ``FOLLOW_UP_ATTEMPTS`` asks, withdrawn
by the customer at any step, not a complaint (spam) before Analyse by a department head or
above. The customer's next message takes such a case back to the step it ended at
(``return_move``)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from .models import Case, CaseEvent, ContactAttempt, Ending, Step, User, Validity

ORDER: list[str] = list(Step.values)


def step_index(step: str) -> int:
    return ORDER.index(step)


# The data recorded at each step (DOMAIN.md, last column). Editable while the case is at that step.
STEP_FIELDS: dict[str, tuple[str, ...]] = {
    Step.RECEIVE: (
        "channel",
        "category",
        "urgency",
        "product",
        "order_number",
        "quantity",
        "description",
        "desired_outcome",
    ),
    Step.LISTEN: ("customer_account", "desired_outcome", "emotion", "understanding_confirmed"),
    Step.ANALYSE: (
        "validity",
        "root_cause_category",
        "root_cause_analysis",
        "department",
        "responsible_person",
    ),
    # Who approved a remedy above the decider's authority is recorded by the approval itself
    # (escalation.approvals), never typed in.
    Step.DECIDE: ("remedy_types", "remedy_value", "remedy_plan"),
    Step.ACT: ("actions_taken", "report"),
    Step.CONFIRM: ("agreement_note",),
    Step.FOLLOW_UP: ("satisfaction_rating", "handling_rating", "follow_up_comment"),
    Step.CLOSED: (),
}

# What each step means, for the progress bar and the step panel.
STEP_HELP: dict[str, Promise] = {
    Step.RECEIVE: _("Accept the complaint positively, log it and acknowledge it."),
    Step.LISTEN: _("Let the customer tell the whole story, restate it and confirm you understood."),
    Step.ANALYSE: _(
        "Get the facts: is the complaint valid, what is the root cause, who is responsible?"
    ),
    Step.DECIDE: _("Decide the remedy and the plan."),
    Step.ACT: _("Carry the decision out at once and send the investigation report upward."),
    Step.CONFIRM: _("Explain the decision to the customer and obtain their agreement."),
    Step.FOLLOW_UP: _("Call the customer back to check they are satisfied."),
    Step.CLOSED: _("The case is closed."),
}


@dataclass(frozen=True)
class Requirement:
    """One piece of data a move needs, with the message shown when it is missing."""

    field: str
    message: Promise
    present: Callable[[Case], bool] | None = None

    def met(self, case: Case) -> bool:
        if self.present is not None:
            return self.present(case)
        value = getattr(case, self.field if not _is_fk(self.field) else f"{self.field}_id")
        return value not in (None, "", [], False)


def _is_fk(name: str) -> bool:
    return Case._meta.get_field(name).is_relation


@dataclass(frozen=True)
class Move:
    source: str
    target: str
    label: Promise
    kind: str = "forward"  # forward | back | reopen | ending | return
    requires: tuple[Requirement, ...] = ()
    # Values the move itself records (the customer's answer at Confirm and Follow up).
    sets: dict[str, Any] = field(default_factory=dict)
    # A move open only to some cases, with the reason shown when it is not.
    allowed: Callable[[Case], bool] | None = None
    not_allowed_message: Promise | None = None
    # An ending: its code, the note (why) it needs, and who may make it (staff; the customer's
    # own moves are never endings).
    ending: str = ""
    note_required: Promise | None = None
    permitted: Callable[[User], bool] | None = None
    not_permitted_message: Promise | None = None

    @property
    def fields(self) -> tuple[str, ...]:
        return STEP_FIELDS[self.source]

    def missing(self, case: Case) -> list[Requirement]:
        return [r for r in self.requires if not r.met(case)]


def _valid_at_all(case: Case) -> bool:
    return case.validity in (Validity.VALID, Validity.PARTLY)


def _not_valid(case: Case) -> bool:
    return case.validity == Validity.NOT_VALID


_RECEIVED = (
    Requirement("customer", _("The customer is missing.")),
    Requirement(
        "customer",
        _("The customer needs a phone number or an email address."),
        present=lambda c: bool(c.customer_id and (c.customer.phone or c.customer.email)),
    ),
    Requirement("channel", _("Record the channel the complaint came through.")),
    Requirement("category", _("Record the category.")),
    Requirement("description", _("Record what happened.")),
    Requirement("desired_outcome", _("Record what the customer wants.")),
    Requirement("received_at", _("Record when the complaint was received.")),
    Requirement("receiver", _("Record who received the complaint.")),
)

# Nothing the customer wrote is left without an answer when the case closes (a staff message to
# the customer answers it; ``Case.awaiting_reply_since``).
_ANSWERED = Requirement(
    "awaiting_reply_since",
    _("The customer's last message has no answer yet: write to them before closing."),
    present=lambda c: c.awaiting_reply_since is None,
)

MOVES: dict[tuple[str, str], Move] = {
    (m.source, m.target): m
    for m in (
        Move(Step.RECEIVE, Step.LISTEN, _("Start listening"), requires=_RECEIVED),
        Move(
            Step.LISTEN,
            Step.ANALYSE,
            _("Understood — start the analysis"),
            requires=(
                Requirement("customer_account", _("Write down the customer's account.")),
                Requirement("desired_outcome", _("Record what the customer wants.")),
                Requirement(
                    "understanding_confirmed",
                    _("Confirm with the customer that you understood them."),
                ),
            ),
        ),
        Move(
            Step.ANALYSE,
            Step.DECIDE,
            _("Analysis done — decide"),
            requires=(
                Requirement("validity", _("Decide whether the complaint is valid.")),
                Requirement("root_cause_category", _("Choose the root-cause category.")),
                Requirement("department", _("Name the responsible department.")),
                Requirement("responsible_person", _("Name the responsible person.")),
            ),
        ),
        Move(
            Step.DECIDE,
            Step.ACT,
            _("Decision made — act"),
            requires=(
                Requirement("remedy_types", _("Choose at least one remedy.")),
                Requirement(
                    "remedy_value",
                    _("Record the remedy's value (0 if it has none)."),
                    present=lambda c: c.remedy_value is not None,
                ),
                Requirement("remedy_plan", _("Write down the plan.")),
            ),
            allowed=_valid_at_all,
            not_allowed_message=_(
                "A complaint found not valid gets an explanation: go straight to Confirm."
            ),
        ),
        Move(
            Step.DECIDE,
            Step.CONFIRM,
            _("Explanation ready — confirm with the customer"),
            requires=(Requirement("remedy_plan", _("Write down the explanation.")),),
            allowed=_not_valid,
            not_allowed_message=_(
                "Only a complaint found not valid skips Act; this one needs its remedy carried out."
            ),
        ),
        Move(
            Step.ACT,
            Step.CONFIRM,
            _("Done — confirm with the customer"),
            requires=(
                Requirement("actions_taken", _("Record the actions taken.")),
                Requirement("report", _("Write the investigation report.")),
            ),
        ),
        Move(
            Step.CONFIRM,
            Step.FOLLOW_UP,
            _("The customer agrees"),
            sets={"customer_agreed": True},
        ),
        Move(
            Step.CONFIRM,
            Step.DECIDE,
            _("The customer refuses — back to Decide"),
            kind="back",
            sets={"customer_agreed": False},
            requires=(Requirement("agreement_note", _("Record why the customer refused.")),),
        ),
        Move(
            Step.FOLLOW_UP,
            Step.CLOSED,
            _("Satisfied — close the case"),
            sets={"follow_up_satisfied": True, "ending": Ending.RATED},
            requires=(
                Requirement("satisfaction_rating", _("Record the customer's rating.")),
                _ANSWERED,
            ),
        ),
        Move(
            Step.FOLLOW_UP,
            Step.ANALYSE,
            _("Not satisfied — reopen"),
            kind="reopen",
            sets={"follow_up_satisfied": False},
            requires=(
                Requirement("satisfaction_rating", _("Record the customer's rating.")),
                Requirement("follow_up_comment", _("Record why the customer is not satisfied.")),
            ),
        ),
    )
}


def moves_from(step: str) -> list[Move]:
    """The moves open from a step, forward first."""
    return [m for (source, _target), m in MOVES.items() if source == step]


# ---------------------------------------------------------------- the honest endings


def follow_up_attempts(case: Case) -> int:
    """The attempts to reach the customer since the case last came to Follow up that did not
    reach them (``ContactAttempt``): what "unreachable" counts."""
    arrived = (
        CaseEvent.objects.filter(case=case, to_step=Step.FOLLOW_UP)
        .order_by("-at", "-pk")
        .values_list("at", flat=True)
        .first()
    )
    attempts = ContactAttempt.objects.filter(case=case, step=Step.FOLLOW_UP).exclude(
        result=ContactAttempt.Result.REACHED
    )
    if arrived is not None:
        attempts = attempts.filter(at__gte=arrived)
    return attempts.count()


def head_or_above(user: User) -> bool:
    """A department head, quality manager, general manager or administrator."""
    from .roles import Role, role_names

    if user.is_superuser:
        return True
    heads = {str(r) for r in (Role.DEPARTMENT_HEAD, Role.QUALITY_MANAGER, Role.GENERAL_MANAGER)}
    heads.add(str(Role.ADMINISTRATOR))
    return bool(heads & role_names(user))


_WITHDRAWN_NOTE = _("Say how the customer withdrew it (when, by which channel, in their words).")

ENDINGS: dict[tuple[str, str], Move] = {
    (m.source, m.ending): m
    for m in (
        Move(
            Step.FOLLOW_UP,
            Step.CLOSED,
            _("Close: the customer cannot be reached"),
            kind="ending",
            ending=Ending.UNREACHABLE,
            sets={"ending": Ending.UNREACHABLE},
            allowed=lambda c: not c.follow_up_satisfied,
            not_allowed_message=_(
                "The customer rated it and is satisfied: answer them if a message of theirs "
                "waits, then close the case as rated."
            ),
            requires=(
                Requirement(
                    "contact_attempts",
                    _(
                        "Try to reach the customer first: record each attempt "
                        "(“Contact the customer”) until the attempts the policy asks for."
                    ),
                    present=lambda c: follow_up_attempts(c) >= settings.FOLLOW_UP_ATTEMPTS,
                ),
                _ANSWERED,
            ),
            note_required=_("Say what was tried."),
        ),
        *(
            Move(
                step,
                Step.CLOSED,
                _("Close: the customer withdrew the complaint"),
                kind="ending",
                ending=Ending.WITHDRAWN,
                sets={"ending": Ending.WITHDRAWN},
                note_required=_WITHDRAWN_NOTE,
            )
            for step in Case.OPEN_STEPS
        ),
        *(
            Move(
                step,
                Step.CLOSED,
                _("Close: not a complaint (spam)"),
                kind="ending",
                ending=Ending.NOT_A_COMPLAINT,
                sets={"ending": Ending.NOT_A_COMPLAINT},
                note_required=_("Say why this is not a complaint."),
                permitted=head_or_above,
                not_permitted_message=_(
                    "Only a department head or a manager may close a case as not a complaint."
                ),
            )
            for step in (Step.RECEIVE, Step.LISTEN)
        ),
    )
}

# The endings the customer's next message undoes.
REOPENABLE = frozenset({Ending.UNREACHABLE, Ending.WITHDRAWN, Ending.NOT_A_COMPLAINT})


def endings_from(step: str) -> list[Move]:
    return [m for (source, _ending), m in ENDINGS.items() if source == step]


def return_move(case: Case) -> Move | None:
    """The move that takes a case closed by a reopenable ending back to the step it ended at,
    when the customer writes again (None for any other case)."""
    if case.step != Step.CLOSED or case.ending not in REOPENABLE:
        return None
    ended_at = (
        CaseEvent.objects.filter(case=case, to_step=Step.CLOSED)
        .order_by("-at", "-pk")
        .values_list("from_step", flat=True)
        .first()
    )
    return Move(
        Step.CLOSED,
        ended_at or Step.FOLLOW_UP,
        _("The customer wrote again: taken up again"),
        kind="return",
        sets={"ending": ""},
    )
