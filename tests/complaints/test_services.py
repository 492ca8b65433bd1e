"""The write services: customers at intake, receiving a case, updating, handing over, notes,
stale writes and the append-only event log."""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime

import pytest
import time_machine
from django.db.models import ProtectedError

from complaints.errors import CaseConflict, InvalidInput, TransitionRefused
from complaints.models import Case, CaseEvent, Customer, ReferenceSequence, Step
from complaints.services import (
    case_add_note,
    case_assign,
    case_receive,
    case_transition,
    case_update,
    customer_get_or_create,
)

from ..factories import CustomerFactory, DepartmentFactory, active_digests, receive_case, walk


def snapshot(case: Case) -> tuple[dict, list[int]]:
    """The case row as stored and the ids of its events."""
    row = Case.objects.values().get(pk=case.pk)
    return row, list(CaseEvent.objects.filter(case=case).values_list("pk", flat=True))


# ------------------------------------------------------------------ customers at intake


@pytest.mark.parametrize(
    "typed", ["138 0013 8000", "13800138000", "+86 138-0013-8000", "+8613800138000"]
)
def test_an_existing_customer_is_found_by_phone_in_any_format(typed, db):
    existing = CustomerFactory(phone="+8613800138000")

    found = customer_get_or_create(name="Someone else", phone=typed)

    assert found == existing
    assert Customer.objects.count() == 1


def test_an_existing_customer_is_found_by_email_whatever_its_case(db):
    existing = CustomerFactory(email="li.wei@example.com")

    found = customer_get_or_create(name="Li Wei", email="  Li.Wei@Example.COM ")

    assert found == existing
    assert Customer.objects.count() == 1


def test_a_new_customer_is_stored_with_normalised_contact_details(db):
    customer = customer_get_or_create(
        name=" Wang Fang ", phone="139 1234 5678", email="Wang@Example.com"
    )

    customer.refresh_from_db()
    assert customer.name == "Wang Fang"
    assert customer.phone == "+8613912345678"
    assert customer.email == "wang@example.com"
    assert customer.type == Customer.Type.NEW


def test_a_contact_detail_the_customer_lacked_is_added_to_them(db):
    existing = CustomerFactory(phone="+8613800138000", email="")

    found = customer_get_or_create(name="Li", phone="13800138000", email="li@example.com")

    existing.refresh_from_db()
    assert found == existing
    assert existing.email == "li@example.com"
    assert Customer.objects.count() == 1


def test_an_email_that_belongs_to_another_customer_is_not_taken_over(db):
    by_phone = CustomerFactory(phone="+8613800138000", email="")
    CustomerFactory(phone="", email="shared@example.com")

    found = customer_get_or_create(name="Li", phone="13800138000", email="shared@example.com")

    by_phone.refresh_from_db()
    assert found == by_phone
    assert by_phone.email == ""
    assert Customer.objects.count() == 2


@pytest.mark.parametrize("phone", ["not a phone", "12", "+86 1", "138001380001234567"])
def test_a_malformed_phone_is_refused_with_a_field_error(phone, db):
    with pytest.raises(InvalidInput) as refused:
        customer_get_or_create(name="Li", phone=phone)

    assert set(refused.value.fields) == {"phone"}
    assert not Customer.objects.exists()


@pytest.mark.parametrize("email", ["li@", "li at example.com", "@example.com", "li@@x.com"])
def test_a_malformed_email_is_refused_with_a_field_error(email, db):
    with pytest.raises(InvalidInput) as refused:
        customer_get_or_create(name="Li", email=email)

    assert set(refused.value.fields) == {"email"}
    assert not Customer.objects.exists()


def test_a_customer_needs_a_phone_or_an_email(db):
    with pytest.raises(InvalidInput) as refused:
        customer_get_or_create(name="Li", phone=" ", email="")

    assert set(refused.value.fields) == {"phone"}
    assert not Customer.objects.exists()


def test_a_new_customer_needs_a_name(db):
    with pytest.raises(InvalidInput) as refused:
        customer_get_or_create(name="  ", phone="13800138000")

    assert set(refused.value.fields) == {"name"}
    assert not Customer.objects.exists()


def test_an_over_long_customer_name_is_refused(db):
    with pytest.raises(InvalidInput) as refused:
        customer_get_or_create(name="x" * 121, phone="13800138000")

    assert set(refused.value.fields) == {"name"}
    assert not Customer.objects.exists()


def test_an_unknown_customer_type_is_refused(db):
    with pytest.raises(InvalidInput) as refused:
        customer_get_or_create(name="Li", phone="13800138000", type="royalty")

    assert set(refused.value.fields) == {"type"}
    assert not Customer.objects.exists()


# ------------------------------------------------------------------ receiving a case


def test_references_run_per_month_from_one(agent):
    def reference(at):
        return receive_case(by=agent, received_at=at).reference

    assert reference(datetime(2026, 11, 3, 9, tzinfo=UTC)) == "C202611-00001"
    assert reference(datetime(2026, 11, 20, 9, tzinfo=UTC)) == "C202611-00002"
    assert reference(datetime(2026, 12, 1, 9, tzinfo=UTC)) == "C202612-00001"
    assert reference(datetime(2026, 11, 30, 9, tzinfo=UTC)) == "C202611-00003"


def test_the_reference_month_changes_at_midnight_at_the_month_boundary(agent):
    with time_machine.travel(datetime(2026, 11, 30, 23, 59, 59, tzinfo=UTC), tick=False):
        last_of_november = receive_case(by=agent)
    with time_machine.travel(datetime(2026, 12, 1, 0, 0, tzinfo=UTC), tick=False):
        first_of_december = receive_case(by=agent)

    assert last_of_november.reference == "C202611-00001"
    assert first_of_december.reference == "C202612-00001"
    assert first_of_december.received_at == datetime(2026, 12, 1, 0, 0, tzinfo=UTC)


def test_the_reference_month_is_the_month_in_the_configured_time_zone(agent, settings):
    settings.TIME_ZONE = "Asia/Shanghai"
    # 16:30 UTC on 31 October is 00:30 on 1 November in Shanghai.
    case = receive_case(by=agent, received_at=datetime(2026, 10, 31, 16, 30, tzinfo=UTC))

    assert case.reference == "C202611-00001"


def test_the_same_moment_in_utc_belongs_to_the_earlier_month(agent, settings):
    settings.TIME_ZONE = "UTC"
    case = receive_case(by=agent, received_at=datetime(2026, 10, 31, 16, 30, tzinfo=UTC))

    assert case.reference == "C202610-00001"


def test_a_refused_intake_takes_no_reference(agent):
    with pytest.raises(InvalidInput):
        receive_case(by=agent, description="", received_at=datetime(2026, 11, 3, tzinfo=UTC))

    assert not Case.objects.exists()
    assert not ReferenceSequence.objects.filter(period="202611", last__gt=0).exists()
    assert (
        receive_case(by=agent, received_at=datetime(2026, 11, 4, tzinfo=UTC)).reference
        == "C202611-00001"
    )


def test_a_received_case_gets_a_tracking_token_stored_only_as_its_digest(agent):
    received = case_receive(
        by=agent,
        customer=CustomerFactory(),
        channel="phone",
        category="safety",
        description="Sparks from the plug.",
        desired_outcome="A refund.",
    )
    token = received.tracking_token

    row = Case.objects.values().get(pk=received.case.pk)
    link = received.case.tracking_tokens.values().get()
    assert len(token) == 43
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", token)
    assert link["digest"] == hashlib.sha256(token.encode()).hexdigest()
    assert not any(token in str(value) for value in [*row.values(), *link.values()])
    for event in CaseEvent.objects.filter(case=received.case).values():
        assert not any(token in str(value) for value in event.values())


def test_every_case_gets_its_own_tracking_token(agent):
    customer = CustomerFactory()
    data = {
        "channel": "phone",
        "category": "safety",
        "description": "Sparks.",
        "desired_outcome": "A refund.",
    }

    first = case_receive(by=agent, customer=customer, **data)
    second = case_receive(by=agent, customer=customer, **data)

    assert first.tracking_token != second.tracking_token
    assert active_digests(first.case).isdisjoint(active_digests(second.case))


def test_whoever_receives_a_case_owns_it(agent):
    case = receive_case(by=agent)

    case.refresh_from_db()
    assert case.receiver == agent
    assert case.owner == agent
    assert case.step == Step.RECEIVE
    assert case.version == 1


def test_receiving_writes_the_received_event(agent):
    case = receive_case(by=agent, received_at=datetime(2026, 11, 3, 9, tzinfo=UTC))

    [event] = case.events.all()
    assert event.kind == CaseEvent.Kind.RECEIVED
    assert (event.from_step, event.to_step) == ("", Step.RECEIVE)
    assert event.actor == agent
    assert event.at == datetime(2026, 11, 3, 9, tzinfo=UTC)
    assert event.customer_visible is True


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"description": ""}, "description"),
        ({"description": "   "}, "description"),
        ({"desired_outcome": ""}, "desired_outcome"),
        ({"description": "x" * 5001}, "description"),
        ({"desired_outcome": "x" * 2001}, "desired_outcome"),
        ({"product": "x" * 201}, "product"),
        ({"order_number": "x" * 61}, "order_number"),
        ({"channel": "pigeon"}, "channel"),
        ({"channel": ""}, "channel"),
        ({"category": "vibes"}, "category"),
        ({"urgency": "purple"}, "urgency"),
        ({"quantity": -1}, "quantity"),
    ],
    ids=lambda v: next(iter(v)) if isinstance(v, dict) else None,
)
def test_intake_refuses_missing_over_long_or_unknown_data_and_saves_nothing(
    overrides, field, agent
):
    with pytest.raises(InvalidInput) as refused:
        receive_case(by=agent, **overrides)

    assert set(refused.value.fields) == {field}
    assert not Case.objects.exists()
    assert not CaseEvent.objects.exists()


def test_markup_in_a_complaint_is_stored_as_plain_text(agent):
    case = receive_case(by=agent, description="<script>alert(1)</script> the drum is loud")

    case.refresh_from_db()
    assert case.description == "<script>alert(1)</script> the drum is loud"


@pytest.mark.parametrize(
    ("given", "raised"), [("green", "yellow"), ("yellow", "red"), ("red", "red")]
)
def test_a_vip_customer_raises_the_urgency_one_grade(given, raised, agent):
    case = receive_case(by=agent, customer=CustomerFactory(type="vip"), urgency=given)

    case.refresh_from_db()
    assert case.urgency == raised


# ------------------------------------------------------------------ updating the current step


def test_an_update_records_the_current_steps_data_without_moving_on(
    case, agent, after_sales, handler
):
    walk(case, to=Step.LISTEN, by=agent, department=after_sales, person=handler)
    case.refresh_from_db()
    version = case.version

    event = case_update(
        case=case, by=agent, data={"customer_account": "It bangs.", "emotion": "angry"}
    )

    case.refresh_from_db()
    assert case.step == Step.LISTEN
    assert case.customer_account == "It bangs."
    assert case.emotion == "angry"
    assert case.version == version + 1
    assert event.kind == CaseEvent.Kind.UPDATED
    assert event.changes == {"customer_account": ["", "It bangs."], "emotion": ["", "angry"]}
    assert (event.from_step, event.to_step) == ("", "")


@pytest.mark.parametrize(
    ("step", "data"),
    [
        (Step.RECEIVE, {"customer_account": "Too early."}),
        (Step.LISTEN, {"validity": "valid"}),
        (Step.LISTEN, {"channel": "email"}),
        (Step.ANALYSE, {"remedy_plan": "Too early."}),
        (Step.DECIDE, {"validity": "not_valid"}),
        (Step.CLOSED, {"follow_up_comment": "Too late."}),
        (Step.LISTEN, {"step": "closed"}),
        (Step.LISTEN, {"version": 99}),
        (Step.LISTEN, {"reference": "C000000-00000"}),
    ],
    ids=lambda v: "-".join(v) if isinstance(v, dict) else str(v),
)
def test_an_update_refuses_fields_of_another_step_and_saves_nothing(
    step, data, case, agent, after_sales, handler
):
    walk(case, to=step, by=agent, department=after_sales, person=handler)
    case.refresh_from_db()
    before = snapshot(case)

    with pytest.raises(InvalidInput) as refused:
        case_update(case=case, by=agent, data=data)

    assert set(refused.value.fields) == set(data)
    assert snapshot(case) == before


def test_an_update_that_changes_nothing_writes_no_event(case, agent):
    before = snapshot(case)

    assert case_update(case=case, by=agent, data={"channel": "phone"}) is None

    assert snapshot(case) == before


def test_an_over_long_update_is_refused(case, agent):
    before = snapshot(case)

    with pytest.raises(InvalidInput) as refused:
        case_update(case=case, by=agent, data={"description": "x" * 5001})

    assert set(refused.value.fields) == {"description"}
    assert snapshot(case) == before


# ------------------------------------------------------------------ handing over


def test_handing_a_case_to_a_person_makes_them_its_owner(case, agent, other_agent):
    event = case_assign(case=case, by=agent, person=other_agent, note="Your customer.")

    case.refresh_from_db()
    assert case.owner == other_agent
    assert case.receiver == agent
    assert case.department is None
    assert event.kind == CaseEvent.Kind.ASSIGNED
    assert event.changes == {"owner": [agent.pk, other_agent.pk]}
    assert event.note == "Your customer."
    assert event.customer_visible is False


def test_a_case_handed_to_a_department_waits_there_without_an_owner(case, agent, after_sales):
    event = case_assign(case=case, by=agent, department=after_sales)

    case.refresh_from_db()
    assert case.department == after_sales
    assert case.owner is None
    assert event.changes == {"owner": [agent.pk, None], "department": [None, after_sales.pk]}


def test_a_case_handed_to_its_owners_department_keeps_its_owner(case, agent, handler, after_sales):
    case_assign(case=case, by=agent, person=handler)

    case_assign(case=case, by=agent, department=after_sales)

    case.refresh_from_db()
    assert case.owner == handler
    assert case.department == after_sales


def test_a_case_can_be_handed_to_a_person_and_a_department_at_once(
    case, agent, department_head, after_sales
):
    case_assign(case=case, by=agent, person=department_head, department=after_sales)

    case.refresh_from_db()
    assert case.owner == department_head
    assert case.department == after_sales


def test_a_closed_case_cannot_be_handed_over(case, agent, handler, after_sales, other_agent):
    walk(case, to=Step.CLOSED, by=agent, department=after_sales, person=handler)
    case.refresh_from_db()
    before = snapshot(case)

    with pytest.raises(TransitionRefused):
        case_assign(case=case, by=agent, person=other_agent)

    assert snapshot(case) == before


def test_a_case_cannot_be_handed_to_someone_without_a_role(case, agent, outsider):
    before = snapshot(case)

    with pytest.raises(InvalidInput) as refused:
        case_assign(case=case, by=agent, person=outsider)

    assert set(refused.value.fields) == {"person"}
    assert snapshot(case) == before


def test_a_case_cannot_be_handed_to_an_inactive_member_of_staff(case, agent, other_agent):
    other_agent.is_active = False
    other_agent.save()
    before = snapshot(case)

    with pytest.raises(InvalidInput) as refused:
        case_assign(case=case, by=agent, person=other_agent)

    assert set(refused.value.fields) == {"person"}
    assert snapshot(case) == before


def test_handing_over_needs_a_person_or_a_department(case, agent):
    before = snapshot(case)

    with pytest.raises(InvalidInput):
        case_assign(case=case, by=agent)

    assert snapshot(case) == before


def test_handing_a_case_to_where_it_already_is_is_refused(case, agent):
    before = snapshot(case)

    with pytest.raises(InvalidInput, match="already there"):
        case_assign(case=case, by=agent, person=agent)

    assert snapshot(case) == before


def test_an_over_long_hand_over_note_is_refused(case, agent, other_agent):
    before = snapshot(case)

    with pytest.raises(InvalidInput) as refused:
        case_assign(case=case, by=agent, person=other_agent, note="x" * 5001)

    assert set(refused.value.fields) == {"note"}
    assert snapshot(case) == before


# ------------------------------------------------------------------ notes and messages


def test_an_internal_note_is_hidden_from_the_customer(case, agent):
    event = case_add_note(case=case, by=agent, body="  Customer called twice.  ")

    event.refresh_from_db()
    assert event.kind == CaseEvent.Kind.NOTE
    assert event.note == "Customer called twice."
    assert event.customer_visible is False
    assert event.actor == agent


def test_a_message_to_the_customer_is_visible_to_them(case, agent):
    event = case_add_note(case=case, by=agent, body="We are on it.", customer_visible=True)

    event.refresh_from_db()
    assert event.kind == CaseEvent.Kind.MESSAGE
    assert event.customer_visible is True


@pytest.mark.parametrize("body", ["", "   ", "x" * 5001], ids=["empty", "blank", "over-long"])
def test_an_empty_or_over_long_note_is_refused(body, case, agent):
    before = snapshot(case)

    with pytest.raises(InvalidInput) as refused:
        case_add_note(case=case, by=agent, body=body)

    assert set(refused.value.fields) == {"body"}
    assert snapshot(case) == before


# ------------------------------------------------------------------ stale writes


def test_a_write_from_a_stale_read_is_a_conflict(case, agent):
    stale = Case.objects.get(pk=case.pk)
    case_update(case=case, by=agent, data={"urgency": "red"})
    before = snapshot(case)

    with pytest.raises(CaseConflict):
        case_transition(case=stale, to=Step.LISTEN, by=agent)

    assert snapshot(case) == before


@pytest.mark.parametrize("service", ["transition", "update", "assign"])
def test_a_write_naming_an_old_version_is_a_conflict(service, case, agent, other_agent):
    case_update(case=case, by=agent, data={"urgency": "red"})
    case.refresh_from_db()
    assert case.version == 2
    before = snapshot(case)

    with pytest.raises(CaseConflict):
        if service == "transition":
            case_transition(case=case, to=Step.LISTEN, by=agent, expected_version=1)
        elif service == "update":
            case_update(case=case, by=agent, data={"urgency": "green"}, expected_version=1)
        else:
            case_assign(case=case, by=agent, person=other_agent, expected_version=1)

    assert snapshot(case) == before


def test_a_write_naming_the_current_version_goes_through(case, agent):
    case_update(case=case, by=agent, data={"urgency": "red"}, expected_version=1)

    case_transition(case=case, to=Step.LISTEN, by=agent, expected_version=2)

    case.refresh_from_db()
    assert (case.step, case.version) == (Step.LISTEN, 3)


def test_the_conflict_tells_the_user_to_reload(case, agent):
    with pytest.raises(CaseConflict) as conflict:
        case_transition(case=case, to=Step.LISTEN, by=agent, expected_version=7)

    assert "Reload" in conflict.value.messages[0]


# ------------------------------------------------------------------ the append-only event log


@pytest.fixture
def event(case):
    return case.events.get()


def test_an_event_cannot_be_saved_again(event):
    event.note = "rewritten"

    with pytest.raises(TypeError, match="append-only"):
        event.save()

    event.refresh_from_db()
    assert event.note == ""


def test_an_event_cannot_be_deleted(event):
    with pytest.raises(TypeError, match="append-only"):
        event.delete()

    assert CaseEvent.objects.filter(pk=event.pk).exists()


def test_events_cannot_be_updated_in_bulk(event, case):
    with pytest.raises(TypeError, match="append-only"):
        CaseEvent.objects.filter(case=case).update(note="rewritten")
    with pytest.raises(TypeError, match="append-only"):
        case.events.update(note="rewritten")

    event.refresh_from_db()
    assert event.note == ""


def test_events_cannot_be_deleted_in_bulk(event, case):
    with pytest.raises(TypeError, match="append-only"):
        CaseEvent.objects.all().delete()
    with pytest.raises(TypeError, match="append-only"):
        case.events.all().delete()

    assert CaseEvent.objects.filter(pk=event.pk).exists()


def test_a_case_with_a_history_cannot_be_deleted(event, case):
    with pytest.raises(ProtectedError):
        case.delete()

    assert Case.objects.filter(pk=case.pk).exists()
    assert CaseEvent.objects.filter(pk=event.pk).exists()


def test_every_change_appends_and_never_rewrites_earlier_events(case, agent, other_agent):
    first = list(CaseEvent.objects.filter(case=case).values())

    case_update(case=case, by=agent, data={"urgency": "red"})
    case_assign(case=case, by=agent, person=other_agent)
    case_add_note(case=case, by=agent, body="Noted.")
    case_transition(case=case, to=Step.LISTEN, by=other_agent)

    events = list(CaseEvent.objects.filter(case=case).order_by("pk").values())
    assert events[:1] == first
    assert [e["kind"] for e in events] == ["received", "updated", "assigned", "note", "step"]


def test_a_department_in_use_cannot_be_deleted(case, agent):
    department = DepartmentFactory()
    case_assign(case=case, by=agent, department=department)

    with pytest.raises(ProtectedError):
        department.delete()
