"""Recording actions from cases, changing them, their statuses through the one guarded service,
and who may do each: every refused move and permission per persona, each writing nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone, translation

from complaints.errors import AccessDenied, InvalidInput, TransitionRefused
from complaints.models import Step, Tier
from improvement import services
from improvement.models import Action, ActionCase, ActionEvent, Status
from improvement.services import ActionConflict

from ..factories import receive_case, walk
from .conftest import T0, walk_to

pytestmark = pytest.mark.django_db


def written() -> dict[str, int]:
    return {
        "actions": Action.objects.count(),
        "links": ActionCase.objects.count(),
        "events": ActionEvent.objects.count(),
    }


def state(action: Action) -> tuple:
    action.refresh_from_db()
    return (action.status, action.version, action.events.count(), action.links.count())


# ---------------------------------------------------------------- recording


def test_a_handler_records_an_action_from_a_case_past_analysis(
    clock, record, analysed_case, handler, after_sales
):
    case = analysed_case()

    action = record(case, due_on=T0.date() + timedelta(days=7))

    action.refresh_from_db()
    assert (action.status, action.kind, action.root_cause) == ("open", "corrective", "materials")
    assert (action.owner, action.department, action.recorded_by) == (handler, after_sales, handler)
    assert list(action.cases.all()) == [case]
    assert action.version == 1 and action.tier == Tier.HANDLER
    # Overdue from the end of the due date; warned from the start of the day before it.
    assert action.due_at == T0.replace(hour=0) + timedelta(days=8)
    assert action.warn_at == T0.replace(hour=0) + timedelta(days=6)
    assert action.next_check_at == action.warn_at
    [event] = action.events.all()
    assert (event.kind, event.actor, event.to_status) == ("recorded", handler, "open")
    assert event.changes == {
        "owner": [None, handler.pk],
        "department": [None, after_sales.pk],
        "due_on": [None, "2026-03-09"],
        "cases": [None, [case.reference]],
    }


def test_naming_only_a_department_leaves_the_action_to_its_people(record, analysed_case, logistics):
    action = record(analysed_case(), owner=None, department=logistics)

    assert (action.owner, action.department) == (None, logistics)


def test_an_action_needs_an_owner_person_or_department(record, analysed_case):
    case = analysed_case()
    before = written()

    with pytest.raises(InvalidInput) as refused:
        record(case, owner=None, department=None)

    assert "owner" in refused.value.fields
    assert written() == before


def test_bad_input_is_refused_all_at_once_and_writes_nothing(record, analysed_case):
    case = analysed_case()
    before = written()

    with pytest.raises(InvalidInput) as refused:
        record(
            case,
            kind="curative",
            root_cause="weather",
            cause=" ",
            title="",
            due_on=timezone.localdate() - timedelta(days=1),
        )

    assert sorted(refused.value.fields) == ["cause", "due_on", "kind", "root_cause", "title"]
    assert refused.value.fields["due_on"] == ["The due date cannot be in the past."]
    assert written() == before


def test_a_due_date_years_away_is_refused(record, analysed_case):
    with pytest.raises(InvalidInput) as refused:
        record(analysed_case(), due_on=timezone.localdate() + timedelta(days=6 * 366))

    assert refused.value.fields["due_on"] == ["Choose a due date within 5 years."]


def test_a_case_still_in_analysis_cannot_have_an_action_yet(record, analysed_case):
    early = analysed_case(to=Step.ANALYSE)
    before = written()

    with pytest.raises(InvalidInput) as refused:
        record(early)

    assert refused.value.fields["cases"] == [
        f"{early.reference} has not finished Analyse: its root cause is not known yet."
    ]
    assert written() == before


def test_a_closed_case_can_have_an_action(record, analysed_case):
    closed = analysed_case(to=Step.CLOSED)

    action = record(closed)

    assert list(action.cases.all()) == [closed]


def test_an_action_comes_from_at_least_one_case(record):
    with pytest.raises(InvalidInput) as refused:
        record()

    assert refused.value.fields["cases"] == ["Link at least one case the action comes from."]


def test_the_same_case_named_twice_is_linked_once(record, analysed_case):
    case = analysed_case()

    action = record(case, case)

    assert action.links.count() == 1


@pytest.mark.parametrize(
    ("persona", "allowed"),
    [
        ("agent", True),  # received the case
        ("handler", True),  # responsible for it
        ("department_head", True),  # of its department
        ("quality_manager", True),
        ("general_manager", True),
        ("foreign_handler", False),
        ("other_agent", False),
        ("outsider", False),
    ],
)
def test_who_may_record_an_action_from_a_case(request, record, analysed_case, persona, allowed):
    case = analysed_case()
    user = request.getfixturevalue(persona)

    if allowed:
        assert record(case, by=user).recorded_by == user
    else:
        with pytest.raises(InvalidInput) as refused:
            record(case, by=user)
        assert refused.value.fields["cases"] == [f"You may not work {case.reference}."]
        assert not Action.objects.exists()


# ---------------------------------------------------------------- linking cases


def test_linking_a_second_case_writes_its_history(action, analysed_case, handler):
    first, second = action.cases.get(), analysed_case()

    services.action_link_case(action=action, case=second, by=handler)

    assert set(action.cases.all()) == {first, second}
    assert action.version == 2
    event = action.events.latest("pk")
    assert (event.kind, event.changes) == ("linked", {"case": [None, second.reference]})


def test_linking_a_case_needs_the_right_to_work_it(
    action, handler, other_agent, logistics, foreign_handler
):
    theirs = walk(
        receive_case(by=other_agent),
        to=Step.DECIDE,
        by=other_agent,
        department=logistics,
        person=foreign_handler,
    )
    before = state(action)

    with pytest.raises(InvalidInput) as refused:
        services.action_link_case(action=action, case=theirs, by=handler)

    assert refused.value.fields["case"] == [f"You may not work {theirs.reference}."]
    assert state(action) == before


def test_a_case_is_linked_to_an_action_once(action, handler):
    case = action.cases.get()

    with pytest.raises(InvalidInput) as refused:
        services.action_link_case(action=action, case=case, by=handler)

    assert refused.value.fields["case"] == [f"{case.reference} is linked already."]


@pytest.mark.parametrize(
    ("persona", "allowed"),
    [
        ("handler", True),  # owner and recorder
        ("department_head", True),
        ("quality_manager", True),
        ("foreign_handler", False),
        ("foreign_head", False),
        ("agent", False),  # received the case, but the action is not theirs
    ],
)
def test_who_may_change_an_actions_cases(request, action, quality_manager, persona, allowed):
    # A case of After-sales that the allowed ones may all work, so only the right to change
    # the action decides.
    second = walk(
        receive_case(by=quality_manager),
        to=Step.DECIDE,
        by=quality_manager,
        department=action.department,
        person=request.getfixturevalue("handler"),
    )
    user = request.getfixturevalue(persona)
    if not allowed:
        before = state(action)
        with pytest.raises(AccessDenied):
            services.action_link_case(action=action, case=second, by=user)
        assert state(action) == before
        return
    services.action_link_case(action=action, case=second, by=user)
    assert action.links.count() == 2


def test_unlinking_keeps_at_least_one_case(action, analysed_case, handler):
    first, second = action.cases.get(), analysed_case()
    services.action_link_case(action=action, case=second, by=handler)

    services.action_unlink_case(action=action, case=first, by=handler)

    assert list(action.cases.all()) == [second]
    assert action.events.latest("pk").changes == {"case": [first.reference, None]}
    with pytest.raises(TransitionRefused) as refused:
        services.action_unlink_case(action=action, case=second, by=handler)
    assert refused.value.messages == ["An action keeps at least one case it comes from."]
    assert list(action.cases.all()) == [second]


def test_a_verified_actions_cases_no_longer_change(action, analysed_case, handler, quality_manager):
    walk_to(action, "done", by=handler)
    services.action_verify(action=action, by=quality_manager, note="Checked the bearings.")

    with pytest.raises(TransitionRefused) as refused:
        services.action_link_case(action=action, case=analysed_case(), by=handler)

    assert refused.value.messages == ["The action is verified: it can no longer change."]


# ---------------------------------------------------------------- statuses


def test_the_owner_starts_and_finishes_the_action_each_move_in_its_history(action, handler):
    services.action_transition(action=action, to="in_progress", by=handler)
    services.action_transition(action=action, to="done", by=handler, note="New supplier since May.")

    assert (action.status, action.done_note, action.version) == (
        "done",
        "New supplier since May.",
        3,
    )
    assert action.done_at is not None
    assert action.next_check_at is None  # nothing left to be overdue
    moves = [(e.from_status, e.to_status, e.note) for e in action.events.filter(kind="status")]
    assert moves == [
        ("open", "in_progress", ""),
        ("in_progress", "done", "New supplier since May."),
    ]


@pytest.mark.parametrize(
    ("to", "note", "message"),
    [
        ("done", "", "Say what was done."),
        ("cancelled", "", "Say why the action is cancelled."),
        ("verified", "Fine.", "An action that is open cannot become verified."),
        ("open", "", "An action that is open cannot become open."),
        ("finished", "", "There is no status called “finished”."),
    ],
)
def test_a_move_that_is_not_allowed_or_lacks_its_note_is_refused(
    action, general_manager, to, note, message
):
    before = state(action)

    with pytest.raises(TransitionRefused) as refused:
        services.action_transition(action=action, to=to, by=general_manager, note=note)

    assert refused.value.messages == [message]
    assert state(action) == before


def test_a_done_action_is_verified_only_with_its_evidence(action, handler, quality_manager):
    walk_to(action, "done", by=handler)
    before = state(action)

    with pytest.raises(TransitionRefused) as refused:
        services.action_transition(action=action, to="verified", by=quality_manager)

    assert refused.value.messages == ["Verify the action with its evidence."]
    assert state(action) == before


@pytest.mark.parametrize("status", ["verified", "cancelled"])
def test_a_verified_or_cancelled_action_moves_no_more(
    action, handler, department_head, quality_manager, status
):
    if status == "verified":
        walk_to(action, "done", by=handler)
        services.action_verify(action=action, by=quality_manager, note="Checked.")
    else:
        services.action_transition(
            action=action, to="cancelled", by=department_head, note="A duplicate of another."
        )

    for target in ("open", "in_progress", "done", "cancelled"):
        with pytest.raises(TransitionRefused):
            services.action_transition(action=action, to=target, by=quality_manager, note="x")


@pytest.mark.parametrize(
    ("persona", "allowed"),
    [
        ("handler", True),  # the owner
        ("department_head", True),  # head of the owner department
        ("quality_manager", True),
        ("general_manager", True),
        ("agent", False),
        ("foreign_handler", False),
        ("foreign_head", False),
        ("outsider", False),
    ],
)
def test_who_may_move_an_action_on(request, action, persona, allowed):
    user = request.getfixturevalue(persona)

    if allowed:
        services.action_transition(action=action, to="in_progress", by=user)
        assert action.status == "in_progress"
    else:
        before = state(action)
        with pytest.raises(AccessDenied) as refused:
            services.action_transition(action=action, to="in_progress", by=user)
        assert refused.value.messages == [
            "Only the action's owner, its department's head or a manager may do this."
        ]
        assert state(action) == before


def test_a_refused_move_is_explained_in_the_users_language(action, agent, handler):
    walk_to(action, "done", by=handler)
    with translation.override("zh-hans"):
        with pytest.raises(AccessDenied) as refused:
            services.action_transition(action=action, to="cancelled", by=agent, note="No.")
        with pytest.raises(AccessDenied) as not_verifier:
            services.action_verify(action=action, by=handler, note="It works.")

    assert refused.value.messages == ["只有负责部门的部门主任、质量负责人或总经理可以取消此措施。"]
    assert not_verifier.value.messages == [
        "效果验证须由质量负责人或总经理进行，且不能是措施负责人本人或将其标记为完成的人。"  # noqa: RUF001 (Chinese punctuation)
    ]


def test_an_action_owned_by_a_department_is_moved_by_its_people(
    record, analysed_case, handler, agent, after_sales, foreign_handler
):
    action = record(analysed_case(), owner=None, department=after_sales, by=agent)

    services.action_transition(action=action, to="in_progress", by=handler)

    assert action.status == "in_progress"
    with pytest.raises(AccessDenied):
        services.action_transition(action=action, to="done", by=foreign_handler, note="Done.")


@pytest.mark.parametrize(
    ("persona", "allowed"),
    [
        ("handler", False),  # the owner does not cancel their own action
        ("department_head", True),
        ("quality_manager", True),
        ("general_manager", True),
        ("foreign_head", False),
    ],
)
def test_who_may_cancel_an_action(request, action, persona, allowed):
    user = request.getfixturevalue(persona)

    if allowed:
        services.action_transition(action=action, to="cancelled", by=user, note="Superseded.")
        assert (action.status, action.cancel_reason) == ("cancelled", "Superseded.")
        assert action.closed_at is not None and action.next_check_at is None
    else:
        with pytest.raises(AccessDenied):
            services.action_transition(action=action, to="cancelled", by=user, note="No.")
        action.refresh_from_db()
        assert action.status == "open"


def test_a_done_action_goes_back_to_in_progress_with_what_is_missing(
    clock, action, handler, quality_manager
):
    walk_to(action, "done", by=handler)

    services.action_transition(
        action=action, to="in_progress", by=quality_manager, note="The old batch is still used."
    )

    assert (action.status, action.done_at) == ("in_progress", None)
    assert action.next_check_at == action.warn_at  # due again
    with pytest.raises(TransitionRefused) as refused:
        services.action_transition(action=action, to="done", by=handler)
    assert refused.value.fields == {"note": ["Say what was done."]}


def test_an_action_changed_since_it_was_read_is_not_overwritten(action, handler, department_head):
    seen = action.version
    services.action_transition(action=action, to="in_progress", by=department_head)
    before = state(action)

    with pytest.raises(ActionConflict):
        services.action_transition(
            action=action, to="cancelled", by=department_head, note="x", expected_version=seen
        )
    with pytest.raises(ActionConflict):
        services.action_update(
            action=action, by=handler, data={"title": "Something else"}, expected_version=seen
        )

    assert state(action) == before
    assert action.title == "Replace the bearing supplier"


# ---------------------------------------------------------------- changing the details


def test_changing_the_details_writes_what_changed(action, handler, logistics):
    event = services.action_update(
        action=action,
        by=handler,
        data={"title": "Qualify a second bearing supplier", "department": logistics},
    )

    assert (action.title, action.department, action.version) == (
        "Qualify a second bearing supplier",
        logistics,
        2,
    )
    assert event.changes == {
        "title": ["Replace the bearing supplier", "Qualify a second bearing supplier"],
        "department": [action.links.get().case.department_id, logistics.pk],
    }
    assert services.action_update(action=action, by=handler, data={"title": action.title}) is None


def test_a_new_due_date_needs_a_reason_and_starts_a_new_round(clock, action, handler):
    later = action.due_on + timedelta(days=14)

    with pytest.raises(InvalidInput) as refused:
        services.action_update(action=action, by=handler, data={"due_on": later})
    assert refused.value.fields == {"note": ["Say why the due date moves."]}

    services.action_update(
        action=action, by=handler, data={"due_on": later}, note="The supplier audit moved."
    )

    assert (action.due_on, action.round) == (later, 1)
    assert action.due_at == T0.replace(hour=0) + timedelta(days=22)
    assert action.events.latest("pk").note == "The supplier audit moved."


def test_whoever_recorded_an_action_may_change_it_but_not_move_it(
    record, analysed_case, agent, handler
):
    action = record(analysed_case(), by=agent, owner=handler)

    services.action_update(action=action, by=agent, data={"plan": "Audit the supplier first."})

    assert action.plan == "Audit the supplier first."
    with pytest.raises(AccessDenied):
        services.action_transition(action=action, to="in_progress", by=agent)


def test_others_may_not_change_the_details(action, foreign_handler):
    with pytest.raises(AccessDenied):
        services.action_update(action=action, by=foreign_handler, data={"title": "Mine now"})


def test_a_field_that_is_not_a_detail_is_refused(action, handler):
    with pytest.raises(InvalidInput) as refused:
        services.action_update(action=action, by=handler, data={"status": "verified"})

    assert refused.value.fields == {"status": ["Not editable."]}
    action.refresh_from_db()
    assert action.status == Status.OPEN


def test_the_history_is_append_only_one_by_one_and_in_bulk(action):
    [event] = action.events.all()

    for write in (
        event.save,
        event.delete,
        lambda: ActionEvent.objects.filter(pk=event.pk).update(note="Changed"),
        lambda: ActionEvent.objects.filter(pk=event.pk).delete(),
    ):
        with pytest.raises(TypeError, match="ActionEvent rows are append-only"):
            write()
    event.refresh_from_db()
    assert (event.note, ActionEvent.objects.count()) == ("", 1)
