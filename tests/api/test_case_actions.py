"""What is done to a case besides its step data: notes and messages (with files), downloading
a file, handing the case over, taking a case nobody owns, renewing the customer's tracking
link, stopping and restarting the clock, escalating by hand and asking for a remedy's
approval. Each with who may and who may not, and the rows it must leave."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from complaints import customer_actions, services
from complaints.models import Attachment, CaseEvent, Step, Tier
from escalation.models import Approval, Escalation, Pause
from intake import tracking

from ..factories import CustomerFactory, walk
from .conftest import PNG, case_url, error, event_kinds, png, queries, read

# ---------------------------------------------------------------- notes and messages


def post_message(client, case, **data):
    return client.post(case_url(case, "messages"), data, format="json")


def test_agent_adds_an_internal_note(api, agent, case):
    response = post_message(api(agent), case, body="Called the customer.")

    assert response.status_code == 201
    assert response.json()["kind"] == "note"
    event = case.events.get(kind=CaseEvent.Kind.NOTE)
    assert (event.note, event.actor, event.customer_visible) == (
        "Called the customer.",
        agent,
        False,
    )


def test_a_customer_visible_note_is_a_message_to_the_customer(api, agent, case):
    post_message(api(agent), case, body="We will call tomorrow.", customer_visible=True)

    event = case.events.get(kind=CaseEvent.Kind.MESSAGE)
    assert (event.note, event.customer_visible) == ("We will call tomorrow.", True)


def test_a_note_with_files_attaches_them(api, agent, case):
    response = api(agent).post(
        case_url(case, "messages"),
        {"body": "Photo of the drum.", "files": [png("a.png"), png("b.png")]},
        format="multipart",
    )

    assert response.status_code == 201, response.json()
    assert [f["name"] for f in response.json()["attachments"]] == ["a.png", "b.png"]
    event = case.events.get(kind=CaseEvent.Kind.NOTE)
    assert sorted(event.attachments.values_list("name", "content_type")) == [
        ("a.png", "image/png"),
        ("b.png", "image/png"),
    ]


def test_a_file_that_is_not_a_photo_or_pdf_is_refused_and_nothing_is_added(api, agent, case):
    script = SimpleUploadedFile("x.png", b"<script>alert(1)</script>", content_type="image/png")

    response = api(agent).post(
        case_url(case, "messages"), {"body": "See file.", "files": [script]}, format="multipart"
    )

    refused = error(response, 400, "invalid")
    assert list(refused["fields"]) == ["files"]
    assert event_kinds(case) == [CaseEvent.Kind.RECEIVED]
    assert not Attachment.objects.exists()


def test_an_empty_note_is_refused(api, agent, case):
    refused = error(post_message(api(agent), case, body="  "), 400, "invalid")

    assert refused["fields"] == {"body": ["Write something first."]}
    assert event_kinds(case) == [CaseEvent.Kind.RECEIVED]


def test_an_over_long_note_is_refused(api, agent, case):
    refused = error(post_message(api(agent), case, body="x" * 5001), 400, "invalid")

    assert list(refused["fields"]) == ["body"]


def test_messages_list_notes_and_messages_not_the_other_events(api, agent, case):
    services.case_add_note(case=case, by=agent, body="Internal.")
    services.case_transition(case=case, to=Step.LISTEN, by=agent)
    services.case_add_note(case=case, by=agent, body="For you.", customer_visible=True)
    customer_actions.case_customer_message(case=case, body="Any news?")

    results = api(agent).get(case_url(case, "messages")).json()["results"]

    assert [(e["kind"], e["note"]) for e in results] == [
        ("note", "Internal."),
        ("message", "For you."),
        ("customer_message", "Any news?"),
    ]


def test_handler_of_another_department_reads_the_messages(api, foreign_handler, case):
    assert api(foreign_handler).get(case_url(case, "messages")).status_code == 200


def test_handler_of_another_department_may_not_add_a_note(api, foreign_handler, case):
    error(post_message(api(foreign_handler), case, body="Mine."), 403, "permission_denied")
    assert event_kinds(case) == [CaseEvent.Kind.RECEIVED]


@pytest.mark.parametrize("method", ["get", "post"])
def test_user_without_a_role_is_refused_the_messages(api, outsider, case, method):
    response = getattr(api(outsider), method)(case_url(case, "messages"), {"body": "Hi."})

    error(response, 403, "permission_denied")


@pytest.mark.parametrize("method", ["get", "post"])
def test_anonymous_caller_is_refused_the_messages(api, case, method):
    response = getattr(api(), method)(case_url(case, "messages"), {"body": "Hi."})

    error(response, 401, "not_authenticated")


def test_messages_query_count_does_not_grow_with_the_messages(api, agent, quality_manager, case):
    client = api(agent)
    url = case_url(case, "messages") + "?page_size=100"
    services.case_add_note(case=case, by=agent, body="First.", files=[png()])
    client.get(url)
    few = queries(client, url)
    for i in range(15):
        services.case_add_note(
            case=case,
            by=[agent, quality_manager][i % 2],
            body=f"Note {i}.",
            customer_visible=bool(i % 2),
            files=[png(f"{i}.png")] if i % 3 == 0 else [],
        )
        customer_actions.case_customer_message(case=case, body=f"Reply {i}.")

    assert len(client.get(url).json()["results"]) == 31
    assert queries(client, url) == few


# ---------------------------------------------------------------- a file of the case


@pytest.fixture
def attachment(agent, case) -> Attachment:
    event = services.case_add_note(case=case, by=agent, body="Photo.", files=[png()])
    return event.attachments.get()


def file_url(case, attachment) -> str:
    return case_url(case, f"attachments/{attachment.pk}")


@pytest.mark.parametrize("persona", ["agent", "foreign_handler"])
def test_staff_who_may_see_the_case_download_its_file(api, request, case, attachment, persona):
    response = api(request.getfixturevalue(persona)).get(file_url(case, attachment))

    assert response.status_code == 200
    assert b"".join(response.streaming_content) == PNG
    assert response["Content-Type"] == "image/png"
    assert response["Content-Disposition"] == 'attachment; filename="drum.png"'


def test_a_file_of_another_case_is_not_found_under_this_one(api, agent, attachment):
    other = services.case_receive(
        by=agent,
        customer=CustomerFactory(),
        channel="phone",
        category="product_quality",
        description="Other.",
        desired_outcome="Other.",
    ).case

    error(api(agent).get(file_url(other, attachment)), 404, "not_found")


def test_user_without_a_role_may_not_download_a_file(api, outsider, case, attachment):
    error(api(outsider).get(file_url(case, attachment)), 403, "permission_denied")


def test_anonymous_caller_may_not_download_a_file(api, case, attachment):
    error(api().get(file_url(case, attachment)), 401, "not_authenticated")


# ---------------------------------------------------------------- handing over


def assign(client, case, **data):
    return client.post(case_url(case, "assignment"), data, format="json", **read(case))


def test_handing_over_to_a_person_makes_them_the_owner(api, agent, handler, case):
    response = assign(api(agent), case, person=handler.pk, note="Yours now.")

    assert response.status_code == 200
    assert response.json()["owner"]["id"] == handler.pk
    case.refresh_from_db()
    assert case.owner == handler


def test_handing_over_writes_an_assigned_event(api, agent, handler, case):
    assign(api(agent), case, person=handler.pk, note="Yours now.")

    event = case.events.get(kind=CaseEvent.Kind.ASSIGNED)
    assert (event.actor, event.note) == (agent, "Yours now.")
    assert event.changes == {"owner": [agent.pk, handler.pk]}


def test_handing_over_to_a_department_makes_it_responsible(api, agent, logistics, case):
    assign(api(agent), case, department=logistics.pk)

    case.refresh_from_db()
    assert (case.department, case.owner) == (logistics, None)


def test_handing_over_to_nobody_is_refused(api, agent, case):
    error(assign(api(agent), case, note="To whom?"), 400, "invalid")
    assert event_kinds(case) == [CaseEvent.Kind.RECEIVED]


def test_handing_over_to_someone_who_cannot_work_cases_is_refused_naming_the_field(
    api, agent, outsider, case
):
    refused = error(assign(api(agent), case, person=outsider.pk), 400, "invalid")

    assert list(refused["fields"]) == ["person"]
    case.refresh_from_db()
    assert case.owner == agent


def test_handing_over_with_a_stale_version_is_a_conflict(api, agent, handler, case):
    services.case_update(case=case, by=agent, data={"product": "Changed by a colleague"})

    error(assign(api(agent), case, person=handler.pk, version=1), 409, "conflict")
    case.refresh_from_db()
    assert case.owner == agent


def test_a_closed_case_cannot_be_handed_over(api, agent, handler, after_sales, case):
    walk(case, to=Step.CLOSED, by=agent, department=after_sales, person=handler)

    refused = error(assign(api(agent), case, person=handler.pk), 409, "refused")

    assert refused["message"] == "A closed case cannot be handed over."


def test_handler_of_another_department_may_not_hand_the_case_over(
    api, foreign_handler, logistics, case
):
    error(assign(api(foreign_handler), case, department=logistics.pk), 403, "permission_denied")
    case.refresh_from_db()
    assert case.department is None


def test_user_without_a_role_may_not_hand_a_case_over(api, outsider, logistics, case):
    error(assign(api(outsider), case, department=logistics.pk), 403, "permission_denied")


def test_anonymous_caller_may_not_hand_a_case_over(api, logistics, case):
    error(assign(api(), case, department=logistics.pk), 401, "not_authenticated")


# ---------------------------------------------------------------- taking a case nobody owns


@pytest.fixture
def sent_by_the_customer(db):
    """A complaint the customer sent through the public form: nobody owns it yet."""
    return customer_actions.case_receive_from_customer(
        customer=CustomerFactory(),
        category="product_quality",
        description="The kettle leaks.",
        desired_outcome="A new kettle.",
    ).case


def test_agent_takes_a_case_nobody_owns(api, agent, sent_by_the_customer):
    response = api(agent).post(case_url(sent_by_the_customer, "take"))

    assert response.status_code == 200
    assert response.json()["owner"]["id"] == agent.pk
    sent_by_the_customer.refresh_from_db()
    assert sent_by_the_customer.owner == agent


def test_taking_writes_an_assigned_event(api, agent, sent_by_the_customer):
    api(agent).post(case_url(sent_by_the_customer, "take"))

    event = sent_by_the_customer.events.get(kind=CaseEvent.Kind.ASSIGNED)
    assert (event.actor, event.changes) == (agent, {"owner": [None, agent.pk]})


def test_a_case_already_taken_is_refused_naming_who_took_it(
    api, agent, other_agent, sent_by_the_customer
):
    customer_actions.case_take(case=sent_by_the_customer, by=other_agent)

    refused = error(api(agent).post(case_url(sent_by_the_customer, "take")), 409, "refused")

    assert str(other_agent) in refused["message"]
    sent_by_the_customer.refresh_from_db()
    assert sent_by_the_customer.owner == other_agent


def test_staff_who_do_not_take_complaints_may_not_take_one(api, handler, sent_by_the_customer):
    error(api(handler).post(case_url(sent_by_the_customer, "take")), 403, "permission_denied")
    sent_by_the_customer.refresh_from_db()
    assert sent_by_the_customer.owner is None


def test_user_without_a_role_may_not_take_a_case(api, outsider, sent_by_the_customer):
    error(api(outsider).post(case_url(sent_by_the_customer, "take")), 403, "permission_denied")


def test_anonymous_caller_may_not_take_a_case(api, sent_by_the_customer):
    error(api().post(case_url(sent_by_the_customer, "take")), 401, "not_authenticated")


# ---------------------------------------------------------------- a new tracking link


@pytest.fixture
def received(agent):
    return services.case_receive(
        by=agent,
        customer=CustomerFactory(),
        channel="phone",
        category="product_quality",
        description="The drum is loud.",
        desired_outcome="A repair.",
    )


def test_renewing_the_link_returns_a_new_one_that_opens_the_case(api, agent, received):
    response = api(agent).post(case_url(received.case, "tracking-link"))

    assert response.status_code == 201
    token = response.json()["tracking_url"].rsplit("/", 1)[1]
    assert tracking.case_for_token(token) == received.case


def test_renewing_the_link_stops_the_old_one(api, agent, received):
    api(agent).post(case_url(received.case, "tracking-link"))

    assert tracking.case_for_token(received.tracking_token) is None


def test_renewing_the_link_is_on_the_timeline(api, agent, received):
    api(agent).post(case_url(received.case, "tracking-link"))

    assert event_kinds(received.case)[-1] == CaseEvent.Kind.LINK_RENEWED


def test_handler_of_another_department_may_not_renew_the_link(api, foreign_handler, received):
    response = api(foreign_handler).post(case_url(received.case, "tracking-link"))

    error(response, 403, "permission_denied")
    assert tracking.case_for_token(received.tracking_token) == received.case


def test_user_without_a_role_may_not_renew_the_link(api, outsider, received):
    error(api(outsider).post(case_url(received.case, "tracking-link")), 403, "permission_denied")


def test_anonymous_caller_may_not_renew_the_link(api, received):
    error(api().post(case_url(received.case, "tracking-link")), 401, "not_authenticated")


# ---------------------------------------------------------------- stopping the clock


def pause(client, case, **data):
    return client.post(case_url(case, "pause"), {"reason": "customer", **data}, format="json")


def test_handler_stops_the_clock_while_waiting_on_the_customer(api, handler, waiting_case):
    response = pause(api(handler), waiting_case, note="Sent for photos.")

    assert response.status_code == 201
    assert response.json()["reason"] == "customer"
    stopped = Pause.objects.get(case=waiting_case)
    assert (stopped.started_by, stopped.note, stopped.ended_at) == (
        handler,
        "Sent for photos.",
        None,
    )


def test_stopping_the_clock_is_on_the_timeline(api, handler, waiting_case):
    pause(api(handler), waiting_case)

    event = waiting_case.events.get(kind=CaseEvent.Kind.PAUSED)
    assert (event.actor, event.changes) == (handler, {"pause": [None, "customer"]})


def test_stopping_an_absolute_clock_is_refused_with_the_reason(api, handler, decide_case):
    case = decide_case()

    refused = error(pause(api(handler), case), 409, "refused")

    assert refused["message"] == (
        "The time limits of this case are absolute: its clock cannot be stopped."
    )
    assert not Pause.objects.exists()


def test_stopping_a_stopped_clock_is_refused(api, handler, waiting_case):
    client = api(handler)
    pause(client, waiting_case)

    refused = error(pause(client, waiting_case), 409, "refused")

    assert refused["message"] == "The clock is already stopped."
    assert Pause.objects.count() == 1


def test_stopping_the_clock_for_an_unknown_reason_is_refused_naming_the_field(
    api, handler, waiting_case
):
    refused = error(pause(api(handler), waiting_case, reason="lunch"), 400, "invalid")

    assert list(refused["fields"]) == ["reason"]


def test_handler_of_another_department_may_not_stop_the_clock(api, foreign_handler, waiting_case):
    error(pause(api(foreign_handler), waiting_case), 403, "permission_denied")
    assert not Pause.objects.exists()


def test_user_without_a_role_may_not_stop_the_clock(api, outsider, waiting_case):
    error(pause(api(outsider), waiting_case), 403, "permission_denied")


def test_anonymous_caller_may_not_stop_the_clock(api, waiting_case):
    error(pause(api(), waiting_case), 401, "not_authenticated")


def test_handler_restarts_the_clock(api, handler, waiting_case):
    client = api(handler)
    pause(client, waiting_case)

    response = client.post(case_url(waiting_case, "resume"), {"note": "Photos came."})

    assert response.status_code == 200
    stopped = Pause.objects.get(case=waiting_case)
    assert stopped.ended_by == handler and stopped.ended_at is not None
    event = waiting_case.events.get(kind=CaseEvent.Kind.RESUMED)
    assert (event.note, event.changes) == ("Photos came.", {"pause": ["customer", None]})


def test_restarting_a_running_clock_is_refused(api, handler, waiting_case):
    refused = error(api(handler).post(case_url(waiting_case, "resume")), 409, "refused")

    assert refused["message"] == "The clock is running."


def test_handler_of_another_department_may_not_restart_the_clock(
    api, handler, foreign_handler, waiting_case
):
    pause(api(handler), waiting_case)

    error(api(foreign_handler).post(case_url(waiting_case, "resume")), 403, "permission_denied")
    assert Pause.objects.get(case=waiting_case).ended_at is None


def test_user_without_a_role_may_not_restart_the_clock(api, handler, outsider, waiting_case):
    pause(api(handler), waiting_case)

    error(api(outsider).post(case_url(waiting_case, "resume")), 403, "permission_denied")
    assert Pause.objects.get(case=waiting_case).ended_at is None


def test_anonymous_caller_may_not_restart_the_clock(api, handler, waiting_case):
    pause(api(handler), waiting_case)

    error(api().post(case_url(waiting_case, "resume")), 401, "not_authenticated")
    assert Pause.objects.get(case=waiting_case).ended_at is None


# ---------------------------------------------------------------- escalating by hand


def escalate(client, case, note="The press called."):
    return client.post(case_url(case, "escalate"), {"note": note}, format="json")


def test_handler_escalates_the_case_one_tier_up(api, handler, decide_case):
    case = decide_case()

    response = escalate(api(handler), case)

    assert response.status_code == 201
    assert (response.json()["from_tier"], response.json()["to_tier"]) == (0, 1)
    escalation = Escalation.objects.get(case=case)
    assert (escalation.reason, escalation.by, escalation.note) == (
        Escalation.Reason.MANUAL,
        handler,
        "The press called.",
    )
    case.refresh_from_db()
    assert case.tier == Tier.DEPARTMENT_HEAD


def test_escalating_is_on_the_timeline(api, handler, decide_case):
    case = decide_case()

    escalate(api(handler), case)

    event = case.events.get(kind=CaseEvent.Kind.ESCALATED)
    assert (event.actor, event.changes) == (handler, {"reason": [None, "manual"], "tier": [0, 1]})


def test_escalating_without_a_reason_is_refused_naming_the_field(api, handler, decide_case):
    case = decide_case()

    refused = error(escalate(api(handler), case, note=""), 400, "invalid")

    assert refused["fields"] == {"note": ["Say why the case needs a higher tier."]}
    assert not Escalation.objects.exists()


def test_escalating_a_closed_case_is_refused(api, agent, handler, after_sales, case):
    walk(case, to=Step.CLOSED, by=agent, department=after_sales, person=handler)

    refused = error(escalate(api(agent), case), 409, "refused")

    assert refused["message"] == "A closed case cannot be escalated."


def test_handler_of_another_department_may_not_escalate(api, foreign_handler, decide_case):
    error(escalate(api(foreign_handler), decide_case()), 403, "permission_denied")
    assert not Escalation.objects.exists()


def test_user_without_a_role_may_not_escalate(api, outsider, decide_case):
    error(escalate(api(outsider), decide_case()), 403, "permission_denied")


def test_anonymous_caller_may_not_escalate(api, decide_case):
    error(escalate(api(), decide_case()), 401, "not_authenticated")


# ---------------------------------------------------------------- asking for approval


def request_approval(client, case, note="Customer is a long-standing client."):
    return client.post(case_url(case, "approval"), {"note": note}, format="json")


def test_moving_on_with_a_remedy_above_ones_authority_is_refused_naming_value_and_ceiling(
    api, handler, remedy_case
):
    case = remedy_case("1500")

    refused = error(
        api(handler).post(case_url(case, "transition"), {"to": "act"}, format="json", **read(case)),
        409,
        "refused",
    )

    assert refused["message"] == (
        "The remedy's value 1500.00 is above your authority (500.00): request approval first."
    )
    case.refresh_from_db()
    assert case.step == Step.DECIDE


def test_handler_asks_the_tier_that_may_grant_the_remedy(api, handler, remedy_case):
    case = remedy_case("1500")

    response = request_approval(api(handler), case)

    assert response.status_code == 201
    approval = Approval.objects.get(case=case)
    assert (approval.status, approval.tier, approval.requested_by) == (
        Approval.Status.PENDING,
        Tier.DEPARTMENT_HEAD,
        handler,
    )
    assert response.json()["id"] == approval.pk


def test_asking_for_approval_is_on_the_timeline_and_in_the_tiers_queue(api, handler, remedy_case):
    case = remedy_case("1500")

    request_approval(api(handler), case)

    assert CaseEvent.Kind.APPROVAL_REQUESTED in event_kinds(case)
    assert Escalation.objects.get(case=case).reason == Escalation.Reason.AUTHORITY


def test_asking_for_approval_within_ones_authority_is_refused(api, handler, remedy_case):
    case = remedy_case("400")

    refused = error(request_approval(api(handler), case), 400, "invalid")

    assert refused["message"] == "This remedy is within your authority: no approval is needed."
    assert not Approval.objects.exists()


def test_a_second_request_while_one_waits_is_refused(api, handler, remedy_case):
    case = remedy_case("1500")
    client = api(handler)
    request_approval(client, case)

    refused = error(request_approval(client, case), 409, "refused")

    assert refused["message"] == "An approval is already waiting for this case."
    assert Approval.objects.count() == 1


def test_handler_of_another_department_may_not_ask_for_approval(api, foreign_handler, remedy_case):
    error(request_approval(api(foreign_handler), remedy_case("1500")), 403, "permission_denied")
    assert not Approval.objects.exists()


def test_user_without_a_role_may_not_ask_for_approval(api, outsider, remedy_case):
    error(request_approval(api(outsider), remedy_case("1500")), 403, "permission_denied")


def test_anonymous_caller_may_not_ask_for_approval(api, remedy_case):
    error(request_approval(api(), remedy_case("1500")), 401, "not_authenticated")
