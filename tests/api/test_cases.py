"""/api/v1/cases/: who may list, read, log and change cases; the step data (PATCH) and the
moves (transition) through the same guard as the case page, writing the same events; the
timeline; the list's filters, order and pages; and a constant number of queries per list."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from complaints import lifecycle, services
from complaints.forms import StepForm
from complaints.models import Case, CaseEvent, Customer, Step
from escalation.services import case_escalate_manually
from intake import tracking

from ..factories import CustomerFactory, receive_case, walk
from .conftest import V1, case_url, error, event_kinds, queries, read, references

LIST = f"{V1}/cases/"
STAFF = [
    "agent",
    "handler",
    "department_head",
    "foreign_handler",
    "quality_manager",
    "general_manager",
]

NEW_COMPLAINT = {
    "customer": {"name": "Li Na", "phone": "138 0013 8000", "email": "li.na@example.com"},
    "channel": "phone",
    "category": "product_quality",
    "urgency": "yellow",
    "product": "Washing machine W-200",
    "order_number": "SO-881",
    "quantity": 1,
    "description": "The drum bangs on spin.",
    "desired_outcome": "A repair this week.",
}


def event_rows(case: Case) -> list[tuple]:
    """The case's events as what they record, without their ids and times."""
    return list(
        case.events.order_by("at", "pk").values_list(
            "kind", "actor", "from_step", "to_step", "changes", "note", "customer_visible"
        )
    )


def page_post(case: Case, **fields) -> dict:
    """What the case page's step form submits as rendered, with the fields the user changed."""
    data = {}
    for field in StepForm(case=case):
        value = field.value()
        if value is None or value is False:
            continue
        data[field.name] = "on" if value is True else value
    data.update(fields)
    return data


@pytest.fixture
def listening_case(agent, case):
    services.case_transition(case=case, to=Step.LISTEN, by=agent)
    return case


@pytest.fixture
def after_sales_case(agent, handler, after_sales):
    """A case at Analyse that After-sales is responsible for."""
    case = receive_case(by=agent)
    walk(case, to=Step.ANALYSE, by=agent, department=after_sales, person=handler)
    services.case_update(
        case=case, by=agent, data={"department": after_sales, "responsible_person": handler}
    )
    return case


# ---------------------------------------------------------------- who may read


@pytest.mark.parametrize("persona", STAFF)
def test_every_staff_role_lists_the_cases(api, request, case, persona):
    response = api(request.getfixturevalue(persona)).get(LIST)

    assert references(response) == [case.reference]


def test_user_without_a_role_is_refused_the_case_list(api, outsider, case):
    error(api(outsider).get(LIST), 403, "permission_denied")


def test_anonymous_caller_is_asked_to_authenticate_for_the_case_list(api, case):
    response = api().get(LIST)

    error(response, 401, "not_authenticated")
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'


@pytest.mark.parametrize("persona", STAFF)
def test_every_staff_role_reads_a_case(api, request, case, persona):
    response = api(request.getfixturevalue(persona)).get(case_url(case))

    assert response.status_code == 200
    assert response.json()["reference"] == case.reference


def test_user_without_a_role_is_refused_a_case(api, outsider, case):
    error(api(outsider).get(case_url(case)), 403, "permission_denied")


def test_anonymous_caller_is_refused_a_case(api, case):
    error(api().get(case_url(case)), 401, "not_authenticated")


def test_unknown_reference_is_not_found(api, agent, case):
    error(api(agent).get(case_url("C202001-99999")), 404, "not_found")


def test_case_is_read_in_machine_values(api, agent, case):
    body = api(agent).get(case_url(case)).json()

    assert body["step"] == "receive"
    assert body["urgency"] == "yellow"
    assert body["channel"] == "phone"
    assert body["customer"]["id"] == case.customer_id
    assert body["owner"] == {"id": agent.pk, "username": "agent", "name": agent.get_full_name()}
    assert body["tier"] == 0
    assert body["version"] == case.version


def test_case_answers_with_its_version_as_etag(api, agent, case):
    response = api(agent).get(case_url(case))

    assert response["ETag"] == f'"{case.version}"'


def test_case_says_which_fields_its_step_takes_and_where_it_may_move(api, agent, listening_case):
    body = api(agent).get(case_url(listening_case)).json()

    assert body["editable_fields"] == list(lifecycle.STEP_FIELDS[Step.LISTEN])
    assert body["moves"] == [
        {"to": "analyse", "label": "Understood — start the analysis", "kind": "forward"}
    ]


# ---------------------------------------------------------------- logging a complaint


def test_agent_logs_a_complaint_and_owns_it(api, agent):
    response = api(agent).post(LIST, NEW_COMPLAINT, format="json")

    assert response.status_code == 201, response.json()
    case = Case.objects.get(reference=response.json()["reference"])
    assert (case.step, case.receiver, case.owner) == (Step.RECEIVE, agent, agent)
    assert case.customer.phone == "+8613800138000"
    assert event_kinds(case) == [CaseEvent.Kind.RECEIVED]


def test_new_complaint_answers_with_its_address_and_etag(api, agent):
    response = api(agent).post(LIST, NEW_COMPLAINT, format="json")

    body = response.json()
    assert response["Location"] == body["url"] == f"http://testserver{case_url(body['reference'])}"
    assert response["ETag"] == f'"{body["version"]}"'


def test_new_complaint_returns_a_tracking_link_that_opens_the_case(api, agent):
    body = api(agent).post(LIST, NEW_COMPLAINT, format="json").json()

    token = body["tracking_url"].rsplit("/", 1)[1]
    assert tracking.case_for_token(token).reference == body["reference"]


def test_new_complaint_finds_the_existing_customer_by_phone(api, agent):
    known = CustomerFactory(name="Li Na", phone="+8613800138000", email="")

    body = api(agent).post(LIST, NEW_COMPLAINT, format="json").json()

    assert body["customer"]["id"] == known.pk
    assert Customer.objects.count() == 1


@pytest.mark.parametrize("persona", ["handler", "foreign_handler"])
def test_staff_who_do_not_take_complaints_may_not_log_one(api, request, persona):
    response = api(request.getfixturevalue(persona)).post(LIST, NEW_COMPLAINT, format="json")

    error(response, 403, "permission_denied")
    assert not Case.objects.exists()


def test_user_without_a_role_may_not_log_a_complaint(api, outsider):
    error(api(outsider).post(LIST, NEW_COMPLAINT, format="json"), 403, "permission_denied")
    assert not Case.objects.exists()


def test_anonymous_caller_may_not_log_a_complaint(api, db):
    error(api().post(LIST, NEW_COMPLAINT, format="json"), 401, "not_authenticated")
    assert not Case.objects.exists()


def test_new_complaint_without_what_happened_is_refused_naming_the_field(api, agent):
    data = {k: v for k, v in NEW_COMPLAINT.items() if k != "description"}

    refused = error(api(agent).post(LIST, data, format="json"), 400, "invalid")

    assert list(refused["fields"]) == ["description"]
    assert not Case.objects.exists()


def test_new_complaint_without_a_phone_or_email_is_refused_naming_the_customers_field(api, agent):
    data = {**NEW_COMPLAINT, "customer": {"name": "Li Na", "phone": "", "email": ""}}

    refused = error(api(agent).post(LIST, data, format="json"), 400, "invalid")

    assert refused["fields"] == {"customer.phone": ["Give a phone number or an email address."]}
    assert not Case.objects.exists()


def test_new_complaint_received_in_the_future_is_refused(api, agent):
    data = {**NEW_COMPLAINT, "received_at": (timezone.now() + timedelta(days=1)).isoformat()}

    refused = error(api(agent).post(LIST, data, format="json"), 400, "invalid")

    assert refused["fields"] == {"received_at": ["This is in the future."]}


def test_new_complaint_logged_later_keeps_when_it_arrived(api, agent):
    arrived = timezone.now() - timedelta(hours=3)

    body = (
        api(agent)
        .post(LIST, {**NEW_COMPLAINT, "received_at": arrived.isoformat()}, format="json")
        .json()
    )

    assert Case.objects.get(reference=body["reference"]).received_at == arrived


def test_new_complaint_with_an_unknown_channel_is_refused_naming_it(api, agent):
    refused = error(
        api(agent).post(LIST, {**NEW_COMPLAINT, "channel": "pigeon"}, format="json"), 400, "invalid"
    )

    assert list(refused["fields"]) == ["channel"]


# ---------------------------------------------------------------- the step's data (PATCH)


def test_patch_records_the_current_steps_data_without_moving_the_case(api, agent, case):
    response = api(agent).patch(
        case_url(case), {"product": "Dryer D-9"}, format="json", **read(case)
    )

    assert response.status_code == 200
    assert response.json()["product"] == "Dryer D-9"
    case.refresh_from_db()
    assert (case.product, case.step, case.version) == ("Dryer D-9", Step.RECEIVE, 2)


def test_patch_answers_with_the_new_etag(api, agent, case):
    response = api(agent).patch(
        case_url(case), {"product": "Dryer D-9"}, format="json", **read(case)
    )

    assert response["ETag"] == '"2"'


def test_patch_writes_an_updated_event_with_the_change(api, agent, case):
    api(agent).patch(case_url(case), {"product": "Dryer D-9"}, format="json", **read(case))

    event = case.events.get(kind=CaseEvent.Kind.UPDATED)
    assert event.actor == agent
    assert event.changes == {"product": ["Washing machine W-200", "Dryer D-9"]}


def test_patch_writes_the_same_event_as_the_case_page(client, api, agent):
    by_page, by_api = receive_case(by=agent), receive_case(by=agent)
    client.force_login(agent)
    client.post(
        f"/cases/{by_page.reference}/step/",
        page_post(by_page, product="Dryer D-9", urgency="red", quantity="3"),
    )

    api(agent).patch(
        case_url(by_api),
        {"product": "Dryer D-9", "urgency": "red", "quantity": 3},
        format="json",
        **read(by_api),
    )

    by_page.refresh_from_db()
    by_api.refresh_from_db()
    assert event_rows(by_api) == event_rows(by_page)
    assert event_rows(by_api)[-1][0] == CaseEvent.Kind.UPDATED


def test_patch_without_changes_writes_no_event(api, agent, case):
    api(agent).patch(case_url(case), {"product": case.product}, format="json", **read(case))

    case.refresh_from_db()
    assert event_kinds(case) == [CaseEvent.Kind.RECEIVED]
    assert case.version == 1


def test_patch_of_a_field_not_editable_at_this_step_is_refused_naming_it(api, agent, case):
    response = api(agent).patch(
        case_url(case), {"customer_account": "Told twice."}, format="json", **read(case)
    )

    refused = error(response, 400, "invalid")
    assert refused["fields"] == {"customer_account": ["Not editable at this step."]}
    assert "customer_account" in refused["message"]


def test_patch_of_a_field_not_editable_at_this_step_saves_nothing(api, agent, case):
    api(agent).patch(
        case_url(case),
        {"product": "Dryer D-9", "customer_account": "Told twice."},
        format="json",
        **read(case),
    )

    case.refresh_from_db()
    assert (case.product, case.customer_account, case.version) == ("Washing machine W-200", "", 1)
    assert event_kinds(case) == [CaseEvent.Kind.RECEIVED]


@pytest.mark.parametrize("name", ["step", "reference", "owner", "tier", "prodcut"])
def test_patch_of_a_field_that_is_no_step_data_is_refused_naming_it(api, agent, case, name):
    refused = error(
        api(agent).patch(case_url(case), {name: "x"}, format="json", **read(case)), 400, "invalid"
    )

    assert list(refused["fields"]) == [name]
    case.refresh_from_db()
    assert case.version == 1


def test_patch_with_an_unknown_choice_is_refused_naming_the_field(api, agent, case):
    refused = error(
        api(agent).patch(case_url(case), {"urgency": "purple"}, format="json", **read(case)),
        400,
        "invalid",
    )

    assert list(refused["fields"]) == ["urgency"]


def test_patch_of_an_over_long_description_is_refused(api, agent, case):
    response = api(agent).patch(
        case_url(case), {"description": "x" * 5001}, format="json", **read(case)
    )

    refused = error(response, 400, "invalid")
    assert list(refused["fields"]) == ["description"]
    case.refresh_from_db()
    assert case.description == "The drum is loud."


def test_patch_with_a_stale_version_is_a_conflict(api, agent, other_agent, case):
    services.case_update(case=case, by=agent, data={"product": "Changed by a colleague"})

    response = api(agent).patch(case_url(case), {"product": "Mine", "version": 1}, format="json")

    error(response, 409, "conflict")
    case.refresh_from_db()
    assert case.product == "Changed by a colleague"


def test_patch_with_a_stale_if_match_is_412_precondition_failed(api, agent, case):
    services.case_update(case=case, by=agent, data={"product": "Changed by a colleague"})

    response = api(agent).patch(
        case_url(case), {"product": "Mine"}, format="json", HTTP_IF_MATCH='"1"'
    )

    error(response, 412, "precondition_failed")
    case.refresh_from_db()
    assert case.product == "Changed by a colleague"


def test_patch_with_the_current_if_match_saves(api, agent, case):
    response = api(agent).patch(
        case_url(case), {"product": "Mine"}, format="json", HTTP_IF_MATCH='W/"1"'
    )

    assert response.status_code == 200
    assert response.json()["product"] == "Mine"


def test_a_write_that_says_no_version_is_428_and_changes_nothing(api, agent, case):
    """Without If-Match or version two clients could overwrite each other unseen: refused."""
    patched = api(agent).patch(case_url(case), {"product": "Mine"}, format="json")
    moved = api(agent).post(case_url(case, "transition"), {"to": "listen"}, format="json")
    anything = api(agent).patch(
        case_url(case), {"product": "Mine"}, format="json", HTTP_IF_MATCH="*"
    )

    for response in (patched, moved, anything):
        assert "If-Match" in error(response, 428, "precondition_required")["message"]
    case.refresh_from_db()
    assert (case.product, case.step, case.version) == ("Washing machine W-200", Step.RECEIVE, 1)


def test_patch_with_a_malformed_if_match_is_refused_naming_the_header(api, agent, case):
    response = api(agent).patch(
        case_url(case), {"product": "Mine"}, format="json", HTTP_IF_MATCH='"one"'
    )

    assert list(error(response, 400, "invalid")["fields"]) == ["If-Match"]


def test_handler_of_another_department_may_not_patch_the_case(
    api, foreign_handler, after_sales_case
):
    response = api(foreign_handler).patch(
        case_url(after_sales_case),
        {"root_cause_analysis": "Mine"},
        format="json",
        **read(after_sales_case),
    )

    error(response, 403, "permission_denied")
    after_sales_case.refresh_from_db()
    assert after_sales_case.root_cause_analysis == ""


def test_handler_of_the_responsible_department_may_patch_the_case(api, handler, after_sales_case):
    response = api(handler).patch(
        case_url(after_sales_case),
        {"root_cause_analysis": "Bearings."},
        format="json",
        **read(after_sales_case),
    )

    assert response.status_code == 200
    after_sales_case.refresh_from_db()
    assert after_sales_case.root_cause_analysis == "Bearings."


def test_user_without_a_role_may_not_patch_a_case(api, outsider, case):
    error(
        api(outsider).patch(case_url(case), {"product": "x"}, format="json", **read(case)),
        403,
        "permission_denied",
    )


def test_anonymous_caller_may_not_patch_a_case(api, case):
    error(
        api().patch(case_url(case), {"product": "x"}, format="json", **read(case)),
        401,
        "not_authenticated",
    )


# ---------------------------------------------------------------- moves (transition)


def move(api_client, case, to: str, **data):
    return api_client.post(
        case_url(case, "transition"), {"to": to, **data}, format="json", **read(case)
    )


def test_transition_moves_the_case_on(api, agent, case):
    response = move(api(agent), case, "listen")

    assert response.status_code == 200
    assert response.json()["step"] == "listen"
    assert response["ETag"] == '"2"'
    case.refresh_from_db()
    assert case.step == Step.LISTEN


def test_transition_writes_a_step_event(api, agent, case):
    move(api(agent), case, "listen", note="Called back.")

    event = case.events.get(kind=CaseEvent.Kind.STEP)
    assert (event.actor, event.from_step, event.to_step) == (agent, "receive", "listen")
    assert (event.note, event.customer_visible) == ("Called back.", True)


def test_transition_records_the_moves_data_in_its_event(api, agent, listening_case):
    move(
        api(agent),
        listening_case,
        "analyse",
        customer_account="Bought two weeks ago.",
        understanding_confirmed=True,
    )

    event = listening_case.events.get(kind=CaseEvent.Kind.STEP, to_step="analyse")
    assert event.changes == {
        "customer_account": ["", "Bought two weeks ago."],
        "understanding_confirmed": [False, True],
    }


def test_transition_writes_the_same_events_as_the_case_page(
    client, api, agent, handler, after_sales
):
    by_page, by_api = receive_case(by=agent), receive_case(by=agent)
    for case in (by_page, by_api):
        walk(case, to=Step.ANALYSE, by=agent, department=after_sales, person=handler)
    client.force_login(agent)
    client.post(
        f"/cases/{by_page.reference}/step/",
        page_post(
            by_page,
            to="decide",
            note="Found it.",
            validity="valid",
            root_cause_category="materials",
            department=after_sales.pk,
            responsible_person=handler.pk,
        ),
    )

    move(
        api(agent),
        by_api,
        "decide",
        note="Found it.",
        validity="valid",
        root_cause_category="materials",
        department=after_sales.pk,
        responsible_person=handler.pk,
    )

    by_page.refresh_from_db()
    by_api.refresh_from_db()
    assert by_api.step == by_page.step == Step.DECIDE
    assert event_rows(by_api) == event_rows(by_page)


def test_transition_not_open_from_this_step_is_refused(api, agent, case):
    refused = error(move(api(agent), case, "decide"), 409, "refused")

    assert refused["message"] == "A case at Receive cannot move to Decide."


def test_transition_with_missing_data_is_refused_with_the_reasons(api, agent, listening_case):
    refused = error(move(api(agent), listening_case, "analyse"), 409, "refused")

    assert refused["fields"] == {
        "customer_account": ["Write down the customer's account."],
        "understanding_confirmed": ["Confirm with the customer that you understood them."],
    }
    assert "Write down the customer's account." in refused["message"]


def test_refused_transition_saves_nothing(api, agent, listening_case):
    move(api(agent), listening_case, "analyse", customer_account="Half of it.")

    listening_case.refresh_from_db()
    assert (listening_case.step, listening_case.customer_account) == (Step.LISTEN, "")
    assert listening_case.version == 2
    assert event_kinds(listening_case) == [CaseEvent.Kind.RECEIVED, CaseEvent.Kind.STEP]


def test_transition_to_an_unknown_step_is_refused_naming_the_field(api, agent, case):
    refused = error(move(api(agent), case, "nirvana"), 400, "invalid")

    assert list(refused["fields"]) == ["to"]


def test_transition_with_data_of_another_step_is_refused_naming_the_field(api, agent, case):
    refused = error(move(api(agent), case, "listen", report="Early."), 400, "invalid")

    assert refused["fields"] == {"report": ["Not editable at this step."]}
    case.refresh_from_db()
    assert case.step == Step.RECEIVE


def test_transition_with_a_stale_version_is_a_conflict(api, agent, case):
    services.case_update(case=case, by=agent, data={"product": "Changed by a colleague"})

    error(move(api(agent), case, "listen", version=1), 409, "conflict")
    case.refresh_from_db()
    assert case.step == Step.RECEIVE


def test_transition_with_a_stale_if_match_is_412_precondition_failed(api, agent, case):
    services.case_update(case=case, by=agent, data={"product": "Changed by a colleague"})

    response = api(agent).post(
        case_url(case, "transition"), {"to": "listen"}, format="json", HTTP_IF_MATCH='"1"'
    )

    error(response, 412, "precondition_failed")
    case.refresh_from_db()
    assert case.step == Step.RECEIVE


def test_reopening_writes_a_reopened_event(api, agent, handler, after_sales, case):
    walk(case, to=Step.FOLLOW_UP, by=agent, department=after_sales, person=handler)

    move(api(agent), case, "analyse", satisfaction_rating=2, follow_up_comment="Still loud.")

    case.refresh_from_db()
    assert (case.step, case.reopen_count) == (Step.ANALYSE, 1)
    reopened = case.events.get(kind=CaseEvent.Kind.REOPENED)
    assert (reopened.from_step, reopened.to_step) == ("follow_up", "analyse")


def test_handler_of_another_department_may_not_move_the_case(
    api, foreign_handler, after_sales_case
):
    response = move(
        api(foreign_handler),
        after_sales_case,
        "decide",
        validity="valid",
        root_cause_category="materials",
    )

    error(response, 403, "permission_denied")
    after_sales_case.refresh_from_db()
    assert after_sales_case.step == Step.ANALYSE


def test_user_without_a_role_may_not_move_a_case(api, outsider, case):
    error(move(api(outsider), case, "listen"), 403, "permission_denied")
    case.refresh_from_db()
    assert case.step == Step.RECEIVE


def test_anonymous_caller_may_not_move_a_case(api, case):
    error(move(api(), case, "listen"), 401, "not_authenticated")


# ---------------------------------------------------------------- the timeline


def test_events_are_the_timeline_oldest_first(api, agent, case):
    services.case_add_note(case=case, by=agent, body="Called.")
    services.case_transition(case=case, to=Step.LISTEN, by=agent)

    response = api(agent).get(case_url(case, "events"))

    assert [e["kind"] for e in response.json()["results"]] == ["received", "note", "step"]


def test_events_show_changes_in_machine_values(api, agent, logistics, case):
    services.case_assign(case=case, by=agent, department=logistics)

    assigned = api(agent).get(case_url(case, "events")).json()["results"][-1]

    assert assigned["changes"] == {"department": [None, logistics.pk], "owner": [agent.pk, None]}
    assert assigned["actor"]["username"] == "agent"


def test_handler_of_another_department_reads_the_timeline(api, foreign_handler, case):
    assert api(foreign_handler).get(case_url(case, "events")).status_code == 200


def test_user_without_a_role_is_refused_the_timeline(api, outsider, case):
    error(api(outsider).get(case_url(case, "events")), 403, "permission_denied")


def test_anonymous_caller_is_refused_the_timeline(api, case):
    error(api().get(case_url(case, "events")), 401, "not_authenticated")


def test_timeline_query_count_does_not_grow_with_the_events(
    api, agent, handler, other_agent, quality_manager, after_sales, logistics, case
):
    client = api(agent)
    url = case_url(case, "events") + "?page_size=100"
    services.case_assign(case=case, by=agent, person=handler, department=after_sales)
    client.get(url)
    few = queries(client, url)
    for i in range(10):
        services.case_assign(
            case=case,
            by=agent,
            person=[other_agent, handler][i % 2],
            department=[logistics, after_sales][i % 2],
        )
        services.case_add_note(
            case=case, by=quality_manager, body=f"Call {i}.", customer_visible=bool(i % 2)
        )
        services.case_update(case=case, by=agent, data={"product": f"W-{i}"})

    assert case.events.count() > 30
    assert queries(client, url) == few


# ---------------------------------------------------------------- list filters


@pytest.fixture
def spread(agent, other_agent, handler, after_sales, logistics):
    """Cases that differ in one thing each, all logged by the agent unless said otherwise."""
    now = timezone.now()
    cases = {
        "red": receive_case(by=agent, urgency="red"),
        "email": receive_case(by=agent, channel="email"),
        "billing": receive_case(by=agent, category="price_billing"),
        "other_agent": receive_case(by=other_agent),
        "old": receive_case(by=agent, received_at=now - timedelta(days=40)),  # closed since
        "overdue": receive_case(by=agent, received_at=now - timedelta(days=2)),
        "fridge": receive_case(by=agent, description="The fridge leaks water."),
        "order": receive_case(by=agent, order_number="SO-77123"),
        "quenby": receive_case(
            by=agent,
            customer=CustomerFactory(
                name="Xylo Quenby", phone="+8613911112222", email="xquenby@example.org"
            ),
        ),
        "logistics": receive_case(by=agent),
        "listening": receive_case(by=agent),
        "escalated": receive_case(by=agent),
    }
    services.case_assign(case=cases["logistics"], by=agent, department=logistics)
    services.case_transition(case=cases["listening"], to=Step.LISTEN, by=agent)
    case_escalate_manually(case=cases["escalated"], by=agent, note="The press called.")
    walk(cases["old"], to=Step.CLOSED, by=agent, department=after_sales, person=handler)
    return cases


def listed(client, query: str) -> set[str]:
    return set(references(client.get(f"{LIST}?page_size=100&{query}")))


def test_each_list_filter_returns_only_the_matching_case(
    api, agent, other_agent, logistics, spread
):
    client = api(agent)
    expected = {
        "urgency=red": "red",
        "channel=email": "email",
        "category=price_billing": "billing",
        "step=listen": "listening",
        "step=closed": "old",
        "overdue=true": "overdue",
        "tier=1": "escalated",
        f"department={logistics.pk}": "logistics",
        f"owner={other_agent.pk}": "other_agent",
        f"customer={spread['quenby'].customer_id}": "quenby",
    }

    shown = {query: listed(client, query) for query in expected}

    assert shown == {query: {spread[name].reference} for query, name in expected.items()}


def test_list_filter_by_several_steps_returns_cases_at_any_of_them(api, agent, spread):
    shown = listed(api(agent), "step=listen&step=closed")

    assert shown == {spread["listening"].reference, spread["old"].reference}


def test_list_filter_not_overdue_leaves_out_overdue_cases(api, agent, spread):
    shown = listed(api(agent), "overdue=false")

    assert spread["overdue"].reference not in shown
    assert spread["red"].reference in shown


def test_list_filter_by_received_range(api, agent, spread):
    start = (timezone.now() - timedelta(days=41)).date().isoformat()
    end = (timezone.now() - timedelta(days=39)).date().isoformat()

    shown = listed(api(agent), f"received_after={start}&received_before={end}")

    assert shown == {spread["old"].reference}


def test_list_filter_received_since_leaves_out_older_cases(api, agent, spread):
    since = (timezone.now() - timedelta(days=7)).date().isoformat()

    shown = listed(api(agent), f"received_after={since}")

    assert spread["old"].reference not in shown
    assert spread["overdue"].reference in shown


def test_list_search_finds_the_case_by_any_of_its_words(api, agent, spread):
    client = api(agent)
    expected = {
        "quenby": "quenby",  # the customer's name
        "13911112222": "quenby",  # phone
        "XQUENBY@example": "quenby",  # email
        "fridge leaks": "fridge",  # what happened
        "so-77123": "order",  # order number
        spread["red"].reference: "red",
    }

    shown = {term: listed(client, f"q={term}") for term in expected}

    assert shown == {term: {spread[name].reference} for term, name in expected.items()}


def test_list_filters_combine(api, agent, spread):
    assert listed(api(agent), "urgency=red&channel=email") == set()


@pytest.mark.parametrize(
    "query",
    ["urgency=purple", "step=nowhere", "tier=9", "owner=0", "received_after=someday"],
)
def test_invalid_filter_value_is_refused_naming_the_filter(api, agent, case, query):
    name = query.split("=")[0].removesuffix("_after")

    refused = error(api(agent).get(f"{LIST}?{query}"), 400, "invalid")

    assert list(refused["fields"]) == [name]


# ---------------------------------------------------------------- order and pages


def test_list_is_newest_first_by_default(api, agent):
    now = timezone.now()
    older = receive_case(by=agent, received_at=now - timedelta(hours=5))
    newest = receive_case(by=agent, received_at=now)
    oldest = receive_case(by=agent, received_at=now - timedelta(days=3))

    shown = references(api(agent).get(LIST))

    assert shown == [newest.reference, older.reference, oldest.reference]


def test_list_sorts_by_reference_both_ways(api, agent):
    made = sorted(receive_case(by=agent).reference for _ in range(3))
    client = api(agent)

    assert references(client.get(f"{LIST}?ordering=reference")) == made
    assert references(client.get(f"{LIST}?ordering=-reference")) == made[::-1]


def test_list_sorts_by_customer_name(api, agent):
    by_name = {
        name: receive_case(by=agent, customer=CustomerFactory(name=name)).reference
        for name in ["Chen", "Abe", "Baker"]
    }

    shown = references(api(agent).get(f"{LIST}?ordering=customer"))

    assert shown == [by_name["Abe"], by_name["Baker"], by_name["Chen"]]


def test_list_sorts_by_received_oldest_first(api, agent):
    now = timezone.now()
    second = receive_case(by=agent, received_at=now - timedelta(hours=1))
    first = receive_case(by=agent, received_at=now - timedelta(days=1))

    shown = references(api(agent).get(f"{LIST}?ordering=received"))

    assert shown == [first.reference, second.reference]


@pytest.fixture
def thirty_cases(agent):
    now = timezone.now()
    return [
        receive_case(by=agent, received_at=now - timedelta(minutes=i)).reference for i in range(30)
    ]


def test_list_pages_hold_25_cases_by_default(api, agent, thirty_cases):
    body = api(agent).get(LIST).json()

    assert [row["reference"] for row in body["results"]] == thirty_cases[:25]
    assert body["count"] == 30
    assert body["next"] == f"http://testserver{LIST}?page=2"


def test_list_second_page_holds_the_rest(api, agent, thirty_cases):
    assert references(api(agent).get(f"{LIST}?page=2")) == thirty_cases[25:]


def test_list_page_size_is_the_callers_to_choose(api, agent, thirty_cases):
    assert references(api(agent).get(f"{LIST}?page_size=7")) == thirty_cases[:7]


def test_list_page_size_is_bounded_at_100(api, agent, customer_with_many_cases):
    body = api(agent).get(f"{LIST}?page_size=1000").json()

    assert body["count"] == 101
    assert len(body["results"]) == 100


@pytest.fixture
def customer_with_many_cases(agent):
    customer = CustomerFactory()
    for _ in range(101):
        receive_case(by=agent, customer=customer)
    return customer


def test_list_page_beyond_the_last_is_not_found(api, agent, thirty_cases):
    error(api(agent).get(f"{LIST}?page=3"), 404, "not_found")


# ---------------------------------------------------------------- query counts


def build_cases(n, *, by, owners, departments):
    """``n`` cases logged by ``by``, each for its own customer, owned in turn by ``owners``,
    handed in turn to ``departments``: every row names other objects."""
    for i in range(n):
        case = receive_case(by=by)
        services.case_assign(
            case=case, by=by, person=owners[i % len(owners)], department=departments[i % 2]
        )


@pytest.mark.parametrize(
    "query",
    [
        "page_size=100",
        "page_size=100&ordering=customer&step=receive&urgency=yellow&channel=phone"
        "&category=product_quality&tier=0&overdue=false&q=C&received_after=2020-01-01",
    ],
    ids=["unfiltered", "filtered"],
)
def test_list_query_count_does_not_grow_with_the_rows(
    api, agent, handler, other_agent, after_sales, logistics, query
):
    owners, departments = [agent, handler, other_agent], [after_sales, logistics]
    client = api(agent)
    url = f"{LIST}?{query}"
    build_cases(2, by=agent, owners=owners, departments=departments)
    client.get(url)
    few = queries(client, url)

    build_cases(28, by=agent, owners=owners, departments=departments)

    assert len(references(client.get(url))) == 30
    assert queries(client, url) == few
