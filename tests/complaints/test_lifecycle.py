"""The seven-step state machine: every move in ``lifecycle.MOVES`` and every refusal.

A refused move saves nothing: the case row, its version and its events are exactly as before.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
import time_machine
from django.db import models
from django.utils import timezone

from complaints import lifecycle, signals
from complaints.errors import InvalidInput, TransitionRefused
from complaints.models import Case, CaseEvent, Step
from complaints.services import case_receive, case_transition, case_update

from ..factories import CustomerFactory, receive_case, step_data, walk

VALID_PATH = [
    Step.RECEIVE,
    Step.LISTEN,
    Step.ANALYSE,
    Step.DECIDE,
    Step.ACT,
    Step.CONFIRM,
    Step.FOLLOW_UP,
    Step.CLOSED,
]
# A complaint found not valid still gets Listen, Analyse, an explanation and a follow-up.
NOT_VALID_PATH = [s for s in VALID_PATH if s != Step.ACT]


def advance(case: Case, *, to: str, by, department, person, valid: bool = True) -> Case:
    """Move the case forward through the real services until it is at ``to``."""
    path = VALID_PATH if valid else NOT_VALID_PATH
    while path.index(case.step) < path.index(to):
        source = case.step
        case_transition(
            case=case,
            to=path[path.index(source) + 1],
            by=by,
            data=step_data(source, department=department, person=person, valid=valid),
        )
    return case


def snapshot(case: Case) -> tuple[dict, list[int]]:
    """The case row as stored and the ids of its events."""
    row = Case.objects.values().get(pk=case.pk)
    return row, list(CaseEvent.objects.filter(case=case).values_list("pk", flat=True))


def new_events(case: Case, before: list[int]) -> list[CaseEvent]:
    return list(CaseEvent.objects.filter(case=case).exclude(pk__in=before).order_by("pk"))


# ------------------------------------------------------------------ every move succeeds


def move_data(source: str, target: str, department, person) -> tuple[dict, dict]:
    """The data a move is made with, and the changes its event must record."""
    return {
        (Step.RECEIVE, Step.LISTEN): ({}, {}),
        (Step.LISTEN, Step.ANALYSE): (
            {"customer_account": "It bangs on spin.", "understanding_confirmed": True},
            {
                "customer_account": ["", "It bangs on spin."],
                "understanding_confirmed": [False, True],
            },
        ),
        (Step.ANALYSE, Step.DECIDE): (
            {
                "validity": "valid",
                "root_cause_category": "materials",
                "department": department,
                "responsible_person": person,
            },
            {
                "validity": ["", "valid"],
                "root_cause_category": ["", "materials"],
                "department": [None, department.pk],
                "responsible_person": [None, person.pk],
            },
        ),
        (Step.DECIDE, Step.ACT): (
            {
                "remedy_types": ["repair"],
                "remedy_value": Decimal("80.50"),
                "remedy_plan": "Repair it.",
            },
            {
                "remedy_types": [[], ["repair"]],
                "remedy_value": [None, "80.50"],
                "remedy_plan": ["", "Repair it."],
            },
        ),
        (Step.DECIDE, Step.CONFIRM): (
            {"remedy_plan": "Explain the noise is normal."},
            {"remedy_plan": ["", "Explain the noise is normal."]},
        ),
        (Step.ACT, Step.CONFIRM): (
            {"actions_taken": "Repaired.", "report": "Faulty bearing."},
            {"actions_taken": ["", "Repaired."], "report": ["", "Faulty bearing."]},
        ),
        (Step.CONFIRM, Step.FOLLOW_UP): ({}, {"customer_agreed": [None, True]}),
        (Step.CONFIRM, Step.DECIDE): (
            {"agreement_note": "Wants a replacement."},
            {"agreement_note": ["", "Wants a replacement."], "customer_agreed": [None, False]},
        ),
        (Step.FOLLOW_UP, Step.CLOSED): (
            {"satisfaction_rating": 5},
            {
                "satisfaction_rating": [None, 5],
                "follow_up_satisfied": [None, True],
                "ending": ["", "rated"],
            },
        ),
        (Step.FOLLOW_UP, Step.ANALYSE): (
            {"satisfaction_rating": 2, "follow_up_comment": "Still loud."},
            {
                "satisfaction_rating": [None, 2],
                "follow_up_comment": ["", "Still loud."],
                "follow_up_satisfied": [None, False],
                # A new round: the count goes up and the last round's agreement is cleared.
                "reopen_count": [0, 1],
                "customer_agreed": [True, None],
            },
        ),
    }[(source, target)]


def needs_not_valid(move: lifecycle.Move) -> bool:
    return move.allowed is not None and not move.allowed(Case(validity="valid"))


MOVE_KEYS = list(lifecycle.MOVES)


def test_every_move_in_the_table_is_tested(after_sales, handler):
    for source, target in lifecycle.MOVES:
        move_data(source, target, after_sales, handler)


@pytest.mark.parametrize(("source", "target"), MOVE_KEYS, ids=[f"{s}->{t}" for s, t in MOVE_KEYS])
def test_a_move_with_its_data_succeeds_and_writes_one_event(
    source, target, case, agent, after_sales, handler
):
    move = lifecycle.MOVES[(source, target)]
    valid = not needs_not_valid(move)
    advance(case, to=source, by=agent, department=after_sales, person=handler, valid=valid)
    data, expected_changes = move_data(source, target, after_sales, handler)
    _, events_before = snapshot(case)
    version = case.version

    returned = case_transition(case=case, to=target, by=agent, data=data, note="Called them.")

    case.refresh_from_db()
    assert case.step == target
    assert case.version == version + 1
    # Reopening also escalates the case (escalation app): the move's own event comes first.
    event, *others = new_events(case, events_before)
    assert [e.kind for e in others] == (["escalated"] if move.kind == "reopen" else [])
    assert event == returned
    assert event.kind == ("reopened" if move.kind == "reopen" else "step")
    assert (event.from_step, event.to_step) == (source, target)
    assert event.changes == expected_changes
    assert event.actor == agent
    assert event.note == "Called them."
    for name, (_old, new) in expected_changes.items():
        stored = getattr(case, Case._meta.get_field(name).attname)
        assert (str(stored) if isinstance(stored, Decimal) else stored) == new


def test_a_partly_valid_complaint_goes_on_to_act(case, agent, after_sales, handler):
    advance(case, to=Step.ANALYSE, by=agent, department=after_sales, person=handler)
    data = step_data(Step.ANALYSE, department=after_sales, person=handler)
    case_transition(case=case, to=Step.DECIDE, by=agent, data={**data, "validity": "partly"})
    case_transition(
        case=case, to=Step.ACT, by=agent, data=step_data(Step.DECIDE, department=None, person=None)
    )
    case.refresh_from_db()
    assert case.step == Step.ACT


def test_a_valid_complaint_walks_all_seven_steps_to_closed(case, agent, after_sales, handler):
    walk(case, to=Step.CLOSED, by=agent, department=after_sales, person=handler)
    case.refresh_from_db()
    assert case.step == Step.CLOSED
    assert list(case.events.values_list("to_step", flat=True)) == VALID_PATH


def test_a_not_valid_complaint_is_explained_and_followed_up_without_act(
    case, agent, after_sales, handler
):
    advance(case, to=Step.CLOSED, by=agent, department=after_sales, person=handler, valid=False)
    case.refresh_from_db()
    assert case.step == Step.CLOSED
    assert case.validity == "not_valid"
    assert case.remedy_plan == "Explain that the noise is normal for the first week."
    assert case.actions_taken == ""
    assert case.customer_agreed is True
    assert case.follow_up_satisfied is True
    assert list(case.events.values_list("to_step", flat=True)) == NOT_VALID_PATH


def test_the_customer_refusing_at_confirm_sends_the_case_back_to_decide(
    case, agent, after_sales, handler
):
    walk(case, to=Step.CONFIRM, by=agent, department=after_sales, person=handler)

    case_transition(
        case=case, to=Step.DECIDE, by=agent, data={"agreement_note": "Wants a new machine."}
    )

    case.refresh_from_db()
    assert case.step == Step.DECIDE
    assert case.customer_agreed is False
    assert case.agreement_note == "Wants a new machine."
    event = case.events.last()
    assert (event.kind, event.from_step, event.to_step) == ("step", "confirm", "decide")


def test_after_a_refusal_the_case_is_decided_again_and_can_be_agreed(
    case, agent, after_sales, handler
):
    walk(case, to=Step.CONFIRM, by=agent, department=after_sales, person=handler)
    case_transition(case=case, to=Step.DECIDE, by=agent, data={"agreement_note": "No."})
    case_transition(case=case, to=Step.ACT, by=agent, data={"remedy_types": ["replacement"]})
    case_transition(case=case, to=Step.CONFIRM, by=agent)
    case_transition(case=case, to=Step.FOLLOW_UP, by=agent)

    case.refresh_from_db()
    assert case.step == Step.FOLLOW_UP
    assert case.customer_agreed is True
    assert case.remedy_types == ["replacement"]


def test_an_unsatisfied_customer_at_follow_up_reopens_the_case_to_analyse(
    case, agent, after_sales, handler
):
    walk(case, to=Step.FOLLOW_UP, by=agent, department=after_sales, person=handler)

    case_transition(
        case=case,
        to=Step.ANALYSE,
        by=agent,
        data={"satisfaction_rating": 1, "follow_up_comment": "Still broken."},
    )

    case.refresh_from_db()
    assert case.step == Step.ANALYSE
    assert case.reopen_count == 1
    assert case.follow_up_satisfied is False
    assert case.customer_agreed is None
    assert case.closed_at is None
    event = case.events.get(kind="reopened")
    assert (event.from_step, event.to_step) == ("follow_up", "analyse")


def test_a_reopened_case_is_worked_again_to_closed(case, agent, after_sales, handler):
    walk(case, to=Step.FOLLOW_UP, by=agent, department=after_sales, person=handler)
    case_transition(
        case=case,
        to=Step.ANALYSE,
        by=agent,
        data={"satisfaction_rating": 1, "follow_up_comment": "Still broken."},
    )
    for target in (Step.DECIDE, Step.ACT, Step.CONFIRM, Step.FOLLOW_UP):
        case_transition(case=case, to=target, by=agent)
    case_transition(case=case, to=Step.CLOSED, by=agent, data={"satisfaction_rating": 4})

    case.refresh_from_db()
    assert case.step == Step.CLOSED
    assert case.reopen_count == 1
    assert case.follow_up_satisfied is True
    assert case.satisfaction_rating == 4


def test_closing_records_when_the_case_was_closed(case, agent, after_sales, handler):
    walk(case, to=Step.FOLLOW_UP, by=agent, department=after_sales, person=handler)
    closing = datetime(2026, 11, 5, 9, 30, tzinfo=UTC)

    with time_machine.travel(closing, tick=False):
        case_transition(case=case, to=Step.CLOSED, by=agent, data={"satisfaction_rating": 5})

    case.refresh_from_db()
    assert case.closed_at == closing
    assert not case.is_open


def test_an_open_case_has_no_closing_time(case, agent, after_sales, handler):
    walk(case, to=Step.FOLLOW_UP, by=agent, department=after_sales, person=handler)
    case.refresh_from_db()
    assert case.closed_at is None
    assert case.is_open


# ------------------------------------------------------------------ moves that do not exist


@pytest.mark.parametrize(
    ("source", "target"),
    [
        (Step.RECEIVE, Step.ACT),
        (Step.RECEIVE, Step.CLOSED),
        (Step.RECEIVE, Step.RECEIVE),
        (Step.LISTEN, Step.DECIDE),
        (Step.LISTEN, Step.RECEIVE),
        (Step.ANALYSE, Step.LISTEN),
        (Step.ACT, Step.DECIDE),
        (Step.CONFIRM, Step.CLOSED),
        (Step.FOLLOW_UP, Step.DECIDE),
    ],
    ids=lambda s: str(s),
)
def test_a_move_not_in_the_table_is_refused_and_saves_nothing(
    source, target, case, agent, after_sales, handler
):
    walk(case, to=source, by=agent, department=after_sales, person=handler)
    case.refresh_from_db()
    before = snapshot(case)

    with pytest.raises(TransitionRefused) as refused:
        case_transition(case=case, to=target, by=agent)

    assert refused.value.messages == [
        f"A case at {Step(source).label} cannot move to {Step(target).label}."
    ]
    assert snapshot(case) == before


@pytest.mark.parametrize("target", Step.values)
def test_a_closed_case_moves_nowhere(target, case, agent, after_sales, handler):
    walk(case, to=Step.CLOSED, by=agent, department=after_sales, person=handler)
    case.refresh_from_db()
    before = snapshot(case)

    with pytest.raises(TransitionRefused, match="A case at Closed cannot move to"):
        case_transition(case=case, to=target, by=agent)

    assert snapshot(case) == before


@pytest.mark.parametrize("target", ["bogus", "", "LISTEN", "act "])
def test_an_unknown_step_name_is_refused_and_saves_nothing(target, case, agent):
    before = snapshot(case)

    with pytest.raises(TransitionRefused) as refused:
        case_transition(case=case, to=target, by=agent)

    assert refused.value.messages == [f"There is no step called “{target}”."]
    assert snapshot(case) == before


# ------------------------------------------------------------------ moves open to some cases


def test_a_not_valid_complaint_cannot_go_to_act(case, agent, after_sales, handler):
    advance(case, to=Step.DECIDE, by=agent, department=after_sales, person=handler, valid=False)
    case.refresh_from_db()
    before = snapshot(case)

    with pytest.raises(TransitionRefused) as refused:
        case_transition(
            case=case,
            to=Step.ACT,
            by=agent,
            data=step_data(Step.DECIDE, department=after_sales, person=handler, valid=True),
        )

    assert refused.value.messages == [
        "A complaint found not valid gets an explanation: go straight to Confirm."
    ]
    assert snapshot(case) == before


@pytest.mark.parametrize("validity", ["valid", "partly"])
def test_a_valid_complaint_cannot_skip_act(validity, case, agent, after_sales, handler):
    advance(case, to=Step.ANALYSE, by=agent, department=after_sales, person=handler)
    data = step_data(Step.ANALYSE, department=after_sales, person=handler)
    case_transition(case=case, to=Step.DECIDE, by=agent, data={**data, "validity": validity})
    case.refresh_from_db()
    before = snapshot(case)

    with pytest.raises(TransitionRefused) as refused:
        case_transition(case=case, to=Step.CONFIRM, by=agent, data={"remedy_plan": "Just explain."})

    assert refused.value.messages == [
        "Only a complaint found not valid skips Act; this one needs its remedy carried out."
    ]
    assert snapshot(case) == before


# ------------------------------------------------------------------ required data

# Columns the database never lets a case lack (NOT NULL, or the customer's contact check):
# intake refuses them instead, see the tests after this one.
_ALWAYS_STORED = {"customer", "receiver", "received_at"}

REQUIREMENTS = [
    pytest.param(key, index, id=f"{key[0]}->{key[1]}:{requirement.field}")
    for key, move in lifecycle.MOVES.items()
    for index, requirement in enumerate(move.requires)
    if requirement.field not in _ALWAYS_STORED
]


def _blank(name: str):
    """The value that leaves a requirement unmet: an empty one, or for "nothing the customer
    wrote waits for an answer", a message waiting."""
    if name == "awaiting_reply_since":
        return timezone.now()
    field = Case._meta.get_field(name)
    if field.null:
        return None
    if isinstance(field, models.JSONField):
        return []
    if isinstance(field, models.BooleanField):
        return False
    return ""


@pytest.mark.parametrize(("key", "index"), REQUIREMENTS)
def test_a_move_is_refused_while_a_required_datum_is_missing_and_saves_nothing(
    key, index, case, agent, after_sales, handler
):
    move = lifecycle.MOVES[key]
    requirement = move.requires[index]
    valid = not needs_not_valid(move)
    advance(case, to=move.source, by=agent, department=after_sales, person=handler, valid=valid)
    # The datum is missing from the row (however it got lost) and the move does not give it.
    Case.objects.filter(pk=case.pk).update(**{requirement.field: _blank(requirement.field)})
    case.refresh_from_db()
    data, _changes = move_data(*key, after_sales, handler)
    data = {name: value for name, value in data.items() if name != requirement.field}
    before = snapshot(case)

    with pytest.raises(TransitionRefused) as refused:
        case_transition(case=case, to=move.target, by=agent, data=data)

    message = str(requirement.message)
    assert refused.value.messages == [message]
    assert refused.value.fields == {requirement.field: [message]}
    assert snapshot(case) == before


def test_a_move_lists_every_missing_datum_at_once(case, agent, after_sales, handler):
    walk(case, to=Step.ANALYSE, by=agent, department=after_sales, person=handler)

    with pytest.raises(TransitionRefused) as refused:
        case_transition(case=case, to=Step.DECIDE, by=agent, data={"validity": "valid"})

    assert refused.value.messages == [
        "Choose the root-cause category.",
        "Name the responsible department.",
        "Name the responsible person.",
    ]
    case.refresh_from_db()
    assert case.validity == ""


def test_the_data_given_with_a_refused_move_is_not_half_written(case, agent, after_sales, handler):
    walk(case, to=Step.ANALYSE, by=agent, department=after_sales, person=handler)
    case.refresh_from_db()
    before = snapshot(case)

    with pytest.raises(TransitionRefused):
        case_transition(
            case=case,
            to=Step.DECIDE,
            by=agent,
            data={"validity": "valid", "root_cause_category": "people", "department": after_sales},
        )

    case.refresh_from_db()
    assert case.step == Step.ANALYSE
    assert case.validity == ""
    assert case.root_cause_category == ""
    assert case.department is None
    assert snapshot(case) == before


def test_intake_refuses_a_complaint_without_a_customer(agent):
    with pytest.raises(InvalidInput) as refused:
        case_receive(
            by=agent,
            customer=None,
            channel="phone",
            category="safety",
            description="Sparks.",
            desired_outcome="Refund.",
        )

    assert "The customer is missing." in refused.value.messages
    assert not Case.objects.exists()


def test_intake_refuses_a_customer_without_a_phone_or_email(agent):
    customer = CustomerFactory()
    customer.phone = customer.email = ""  # as a form might hand it over, unsaved

    with pytest.raises(InvalidInput) as refused:
        case_receive(
            by=agent,
            customer=customer,
            channel="phone",
            category="safety",
            description="Sparks.",
            desired_outcome="Refund.",
        )

    assert refused.value.messages == ["The customer needs a phone number or an email address."]
    assert not Case.objects.exists()


def test_receiving_requires_who_received_it_and_when():
    move = lifecycle.MOVES[(Step.RECEIVE, Step.LISTEN)]
    bare = Case(received_at=None)

    missing = {str(r.message) for r in move.missing(bare)}

    assert "Record who received the complaint." in missing
    assert "Record when the complaint was received." in missing


# ------------------------------------------------------------------ bad data with a move


def test_a_field_of_another_step_is_refused_with_the_move(case, agent, after_sales, handler):
    walk(case, to=Step.LISTEN, by=agent, department=after_sales, person=handler)
    case.refresh_from_db()
    before = snapshot(case)

    with pytest.raises(InvalidInput) as refused:
        case_transition(
            case=case,
            to=Step.ANALYSE,
            by=agent,
            data={
                **step_data(Step.LISTEN, department=after_sales, person=handler),
                "validity": "valid",
            },
        )

    assert set(refused.value.fields) == {"validity"}
    assert snapshot(case) == before


def test_an_over_long_field_is_refused_with_the_move(case, agent, after_sales, handler):
    walk(case, to=Step.LISTEN, by=agent, department=after_sales, person=handler)
    case.refresh_from_db()
    before = snapshot(case)

    with pytest.raises(InvalidInput) as refused:
        case_transition(
            case=case,
            to=Step.ANALYSE,
            by=agent,
            data={"customer_account": "x" * 5001, "understanding_confirmed": True},
        )

    assert set(refused.value.fields) == {"customer_account"}
    assert snapshot(case) == before


def test_an_over_long_note_is_refused_with_the_move(case, agent):
    before = snapshot(case)

    with pytest.raises(InvalidInput) as refused:
        case_transition(case=case, to=Step.LISTEN, by=agent, note="x" * 5001)

    assert set(refused.value.fields) == {"note"}
    assert snapshot(case) == before


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"satisfaction_rating": 6}, "satisfaction_rating"),
        ({"satisfaction_rating": 0}, "satisfaction_rating"),
        ({"satisfaction_rating": "great"}, "satisfaction_rating"),
    ],
)
def test_a_rating_outside_one_to_five_is_refused(data, field, case, agent, after_sales, handler):
    walk(case, to=Step.FOLLOW_UP, by=agent, department=after_sales, person=handler)
    case.refresh_from_db()
    before = snapshot(case)

    with pytest.raises(InvalidInput) as refused:
        case_transition(case=case, to=Step.CLOSED, by=agent, data=data)

    assert set(refused.value.fields) == {field}
    assert snapshot(case) == before


@pytest.mark.parametrize(
    "data",
    [
        {"remedy_types": ["a_pony"]},
        {"remedy_types": "repair"},
        {"remedy_value": Decimal("-1")},
        {"remedy_value": "lots"},
    ],
    ids=["unknown-remedy", "not-a-list", "negative-value", "not-a-number"],
)
def test_a_bad_remedy_is_refused(data, case, agent, after_sales, handler):
    walk(case, to=Step.DECIDE, by=agent, department=after_sales, person=handler)
    case.refresh_from_db()
    before = snapshot(case)
    full = {**step_data(Step.DECIDE, department=after_sales, person=handler), **data}

    with pytest.raises(InvalidInput) as refused:
        case_transition(case=case, to=Step.ACT, by=agent, data=full)

    assert set(refused.value.fields) == set(data)
    assert snapshot(case) == before


def test_an_inactive_responsible_person_is_refused(case, agent, after_sales, handler):
    walk(case, to=Step.ANALYSE, by=agent, department=after_sales, person=handler)
    handler.is_active = False
    handler.save()
    case.refresh_from_db()
    before = snapshot(case)

    with pytest.raises(InvalidInput) as refused:
        case_transition(
            case=case,
            to=Step.DECIDE,
            by=agent,
            data=step_data(Step.ANALYSE, department=after_sales, person=handler),
        )

    assert set(refused.value.fields) == {"responsible_person"}
    assert snapshot(case) == before


# ------------------------------------------------------------------ signals after commit


@pytest.fixture
def heard():
    """Every lifecycle signal sent, as (signal name, case reference, event kind)."""
    sent = []
    hooks = {
        "received": signals.case_received,
        "step_changed": signals.case_step_changed,
        "reopened": signals.case_reopened,
        "closed": signals.case_closed,
    }

    def listener(name):
        def receive(sender, case, event=None, **kwargs):
            sent.append((name, case.reference, event.kind if event else None))

        return receive

    receivers = {name: listener(name) for name in hooks}
    for name, signal in hooks.items():
        signal.connect(receivers[name], weak=False)
    yield sent
    for name, signal in hooks.items():
        signal.disconnect(receivers[name])


def test_receiving_a_case_is_announced_after_commit(
    heard, agent, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks:
        case = receive_case(by=agent)
        assert heard == []

    for callback in callbacks:
        callback()
    assert heard == [("received", case.reference, None)]


def test_a_step_change_is_announced_after_commit(
    heard, case, agent, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks:
        case_transition(case=case, to=Step.LISTEN, by=agent)
    assert heard == []

    for callback in callbacks:
        callback()
    assert heard == [("step_changed", case.reference, "step")]


def test_closing_announces_the_step_change_and_the_closing(
    heard, case, agent, after_sales, handler, django_capture_on_commit_callbacks
):
    walk(case, to=Step.FOLLOW_UP, by=agent, department=after_sales, person=handler)

    with django_capture_on_commit_callbacks(execute=True):
        case_transition(case=case, to=Step.CLOSED, by=agent, data={"satisfaction_rating": 5})

    assert heard == [("step_changed", case.reference, "step"), ("closed", case.reference, "step")]


def test_reopening_announces_the_step_change_and_the_reopening(
    heard, case, agent, after_sales, handler, django_capture_on_commit_callbacks
):
    walk(case, to=Step.FOLLOW_UP, by=agent, department=after_sales, person=handler)

    with django_capture_on_commit_callbacks(execute=True):
        case_transition(
            case=case,
            to=Step.ANALYSE,
            by=agent,
            data={"satisfaction_rating": 2, "follow_up_comment": "No."},
        )

    assert heard == [
        ("step_changed", case.reference, "reopened"),
        ("reopened", case.reference, "reopened"),
    ]


def test_a_refused_move_announces_nothing(heard, case, agent, django_capture_on_commit_callbacks):
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(TransitionRefused),
    ):
        case_transition(case=case, to=Step.CLOSED, by=agent)

    assert callbacks == []
    assert heard == []


def test_clearing_a_required_datum_with_the_move_is_refused_and_keeps_the_old_value(
    case, agent, after_sales, handler
):
    walk(case, to=Step.LISTEN, by=agent, department=after_sales, person=handler)
    case_update(case=case, by=agent, data={"customer_account": "It bangs."})
    before = snapshot(case)

    with pytest.raises(TransitionRefused) as refused:
        case_transition(
            case=case,
            to=Step.ANALYSE,
            by=agent,
            data={"customer_account": "   ", "understanding_confirmed": True},
        )

    assert refused.value.messages == ["Write down the customer's account."]
    case.refresh_from_db()
    assert case.customer_account == "It bangs."
    assert case.understanding_confirmed is False
    assert snapshot(case) == before
