"""The agent's pages over HTTP: who may open what, the step form, hand-over, notes, what the
user's own text looks like on the page, the case lists' filters, and the query counts."""

from __future__ import annotations

import re
from datetime import timedelta
from html import unescape

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from complaints import services
from complaints.forms import StepForm
from complaints.models import Case, CaseEvent, Step

from ..factories import CustomerFactory, receive_case, walk

SCRIPT = "<script>alert('xss')</script>"
ESCAPED_SCRIPT = "&lt;script&gt;alert("


# ---------------------------------------------------------------- helpers


def detail_url(case: Case) -> str:
    return reverse("complaints:case_detail", args=[case.reference])


def step_url(case: Case) -> str:
    return reverse("complaints:case_step", args=[case.reference])


def assign_url(case: Case) -> str:
    return reverse("complaints:case_assign", args=[case.reference])


def note_url(case: Case) -> str:
    return reverse("complaints:case_note", args=[case.reference])


def step_post(case: Case, **overrides) -> dict:
    """What the browser submits from the case page's step form as it was rendered, with the
    fields the user changed."""
    data = {}
    for field in StepForm(case=case):
        value = field.value()
        if value is None or value is False:
            continue  # an empty select, an unchecked box: the browser sends nothing
        data[field.name] = "on" if value is True else value
    data.update(overrides)
    return data


def listed(response) -> list[str]:
    """The references of the rows of a case list, in the order shown."""
    return re.findall(r'<a href="/cases/(C\d{6}-\d{5})/">', response.content.decode())


def text(response) -> str:
    return response.content.decode()


def query_count(client, url: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries)


def event_kinds(case: Case) -> list[str]:
    return list(case.events.order_by("at", "pk").values_list("kind", flat=True))


# ---------------------------------------------------------------- who may open what


@pytest.mark.parametrize(
    "url",
    ["/", "/cases/", "/cases/C202601-00001/", "/intake/new/"],
    ids=["my-cases", "all-cases", "case-page", "new-case"],
)
def test_anonymous_visitor_is_sent_to_log_in(client, db, url):
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"] == f"/login/?next={url}"


@pytest.mark.parametrize("view", ["step", "assign", "notes"])
def test_anonymous_post_is_sent_to_log_in_and_changes_nothing(client, case, view):
    response = client.post(f"/cases/{case.reference}/{view}/", {"body": "hi", "to": "listen"})
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")
    case.refresh_from_db()
    assert case.step == Step.RECEIVE
    assert event_kinds(case) == ["received"]


STAFF = [
    "agent",
    "handler",
    "department_head",
    "foreign_handler",
    "quality_manager",
    "general_manager",
]


@pytest.mark.parametrize("persona", STAFF)
@pytest.mark.parametrize("url", ["/", "/cases/"], ids=["my-cases", "all-cases"])
def test_every_staff_role_opens_the_case_lists(client, request, persona, url):
    client.force_login(request.getfixturevalue(persona))
    assert client.get(url).status_code == 200


@pytest.mark.parametrize("persona", STAFF)
def test_every_staff_role_reads_a_case_page(client, request, case, persona):
    client.force_login(request.getfixturevalue(persona))
    response = client.get(detail_url(case))
    assert response.status_code == 200
    assert case.reference in text(response)


@pytest.mark.parametrize("url", ["/", "/cases/"], ids=["my-cases", "all-cases"])
def test_user_without_a_role_is_refused_the_case_lists(client, outsider, url):
    client.force_login(outsider)
    assert client.get(url).status_code == 403


def test_user_without_a_role_cannot_tell_a_case_exists(client, outsider, case):
    client.force_login(outsider)
    assert client.get(detail_url(case)).status_code == 404


def test_unknown_reference_is_not_found(client, agent):
    client.force_login(agent)
    assert client.get("/cases/C209901-99999/").status_code == 404


@pytest.fixture
def after_sales_case(case, agent, after_sales):
    """The agent's case, handed to the After-sales department."""
    services.case_assign(case=case, by=agent, department=after_sales)
    case.refresh_from_db()
    return case


def test_handler_of_another_department_sees_no_step_form(client, foreign_handler, after_sales_case):
    client.force_login(foreign_handler)
    response = client.get(detail_url(after_sales_case))
    assert response.status_code == 200
    assert step_url(after_sales_case) not in text(response)
    assert "You can read this case but not work on it." in text(response)


def test_handler_of_another_department_may_not_move_the_case(
    client, foreign_handler, after_sales_case
):
    client.force_login(foreign_handler)
    response = client.post(step_url(after_sales_case), step_post(after_sales_case, to="listen"))
    assert response.status_code == 403
    after_sales_case.refresh_from_db()
    assert after_sales_case.step == Step.RECEIVE


def test_handler_of_another_department_may_not_hand_the_case_over(
    client, foreign_handler, after_sales_case, logistics
):
    client.force_login(foreign_handler)
    response = client.post(
        assign_url(after_sales_case),
        {"version": after_sales_case.version, "department": logistics.pk},
    )
    assert response.status_code == 403
    after_sales_case.refresh_from_db()
    assert after_sales_case.department.code == "after-sales"


def test_handler_of_another_department_may_not_add_notes(client, foreign_handler, after_sales_case):
    client.force_login(foreign_handler)
    response = client.post(note_url(after_sales_case), {"body": "Not my case"})
    assert response.status_code == 403
    assert not after_sales_case.events.filter(kind=CaseEvent.Kind.NOTE).exists()


def test_handler_of_the_responsible_department_gets_the_step_form(
    client, handler, after_sales_case
):
    client.force_login(handler)
    response = client.get(detail_url(after_sales_case))
    assert step_url(after_sales_case) in text(response)


@pytest.mark.parametrize("view", ["step", "assign", "notes"])
def test_post_only_urls_refuse_get(client, agent, case, view):
    client.force_login(agent)
    assert client.get(f"/cases/{case.reference}/{view}/").status_code == 405


@pytest.mark.parametrize("url", ["/", "/cases/"], ids=["my-cases", "all-cases"])
def test_case_lists_refuse_post(client, agent, url):
    client.force_login(agent)
    assert client.post(url).status_code == 405


# ---------------------------------------------------------------- the step form


def test_save_records_the_step_data_without_moving_the_case(client, agent, case):
    client.force_login(agent)
    response = client.post(step_url(case), step_post(case, product="W-300"))
    assert response.status_code == 302
    assert response["Location"] == detail_url(case)
    case.refresh_from_db()
    assert case.product == "W-300"
    assert case.step == Step.RECEIVE


def test_save_writes_an_updated_event_with_the_change(client, agent, case):
    client.force_login(agent)
    client.post(step_url(case), step_post(case, product="W-300"))
    event = case.events.get(kind=CaseEvent.Kind.UPDATED)
    assert event.actor == agent
    assert event.changes == {"product": ["Washing machine W-200", "W-300"]}


def test_save_without_changes_writes_no_event(client, agent, case):
    client.force_login(agent)
    response = client.post(step_url(case), step_post(case))
    assert response.status_code == 302
    assert event_kinds(case) == ["received"]


def test_move_with_complete_data_advances_and_redirects_to_the_case(client, agent, case):
    client.force_login(agent)
    response = client.post(step_url(case), step_post(case, to="listen"))
    assert response.status_code == 302
    assert response["Location"] == detail_url(case)
    case.refresh_from_db()
    assert case.step == Step.LISTEN
    assert event_kinds(case) == ["received", "step"]


def test_after_a_move_the_case_page_shows_the_new_step(client, agent, case):
    client.force_login(agent)
    response = client.post(step_url(case), step_post(case, to="listen"), follow=True)
    assert f"{case.reference} is now at Listen." in text(response)
    assert '<li class="current" aria-current="step">Listen</li>' in text(response)
    assert 'data-to-step="listen"' in text(response)


@pytest.fixture
def listening_case(case, agent):
    services.case_transition(case=case, to=Step.LISTEN, by=agent)
    return case


def test_move_with_missing_data_is_refused_with_the_reasons(client, agent, listening_case):
    client.force_login(agent)
    response = client.post(step_url(listening_case), step_post(listening_case, to="analyse"))
    assert response.status_code == 422
    page = text(response)
    assert 'data-testid="refusal"' in page
    assert escape("Write down the customer's account.") in page
    assert escape("Confirm with the customer that you understood them.") in page


def test_refused_move_saves_nothing(client, agent, listening_case):
    version = listening_case.version
    client.force_login(agent)
    client.post(
        step_url(listening_case),
        step_post(listening_case, to="analyse", emotion="Angry, wants it fixed this week"),
    )
    listening_case.refresh_from_db()
    assert listening_case.step == Step.LISTEN
    assert listening_case.emotion == ""
    assert listening_case.version == version
    assert event_kinds(listening_case) == ["received", "step"]


def test_refused_move_keeps_what_the_user_typed_in_the_form(client, agent, listening_case):
    client.force_login(agent)
    response = client.post(
        step_url(listening_case),
        step_post(listening_case, to="analyse", emotion="Angry, wants it fixed this week"),
    )
    assert "Angry, wants it fixed this week" in text(response)


def test_move_that_does_not_exist_from_this_step_is_refused(client, agent, case):
    client.force_login(agent)
    response = client.post(step_url(case), step_post(case, to="closed"))
    assert response.status_code == 422
    assert "A case at Receive cannot move to Closed." in text(response)
    case.refresh_from_db()
    assert case.step == Step.RECEIVE


def test_unknown_step_name_is_refused_with_a_clear_message(client, agent, case):
    client.force_login(agent)
    response = client.post(step_url(case), step_post(case, to="bogus"))
    assert response.status_code == 422
    assert "There is no step called “bogus”." in text(response)


def test_unknown_step_name_saves_nothing(client, agent, case):
    client.force_login(agent)
    client.post(step_url(case), step_post(case, to="bogus", product="W-300"))
    case.refresh_from_db()
    assert case.step == Step.RECEIVE
    assert case.product == "Washing machine W-200"
    assert event_kinds(case) == ["received"]


def test_stale_version_is_refused_with_the_conflict_message(client, agent, other_agent, case):
    form = step_post(case, product="Mine")
    services.case_update(case=case, by=agent, data={"product": "Theirs"})
    client.force_login(agent)
    response = client.post(step_url(case), form)
    assert response.status_code == 409
    assert escape("Someone else changed this case while you were working on it.") in text(response)


def test_stale_version_does_not_overwrite_the_other_write(client, agent, case):
    form = step_post(case, to="listen", product="Mine")
    services.case_update(case=case, by=agent, data={"product": "Theirs"})
    client.force_login(agent)
    client.post(step_url(case), form)
    case.refresh_from_db()
    assert case.product == "Theirs"
    assert case.step == Step.RECEIVE
    assert event_kinds(case) == ["received", "updated"]


def test_conflict_page_shows_the_other_write(client, agent, case):
    form = step_post(case, product="Mine")
    services.case_update(case=case, by=agent, data={"product": "Theirs"})
    client.force_login(agent)
    response = client.post(step_url(case), form)
    assert 'value="Theirs"' in text(response)


def test_over_long_description_is_refused_with_a_field_error(client, agent, case):
    client.force_login(agent)
    response = client.post(step_url(case), step_post(case, description="x" * 5001))
    assert response.status_code == 400
    assert "Ensure this value has at most 5000 characters (it has 5001)." in text(response)


def test_over_long_description_saves_nothing(client, agent, case):
    client.force_login(agent)
    client.post(step_url(case), step_post(case, to="listen", description="x" * 5001))
    case.refresh_from_db()
    assert case.description == "The drum is loud."
    assert case.step == Step.RECEIVE
    assert event_kinds(case) == ["received"]


def test_unknown_choice_is_refused_with_a_field_error(client, agent, case):
    client.force_login(agent)
    response = client.post(step_url(case), step_post(case, urgency="purple"))
    assert response.status_code == 400
    assert "Select a valid choice." in text(response)
    case.refresh_from_db()
    assert case.urgency == "yellow"


def test_missing_version_is_refused_and_saves_nothing(client, agent, case):
    client.force_login(agent)
    form = step_post(case, product="W-300")
    del form["version"]
    response = client.post(step_url(case), form)
    assert response.status_code == 400
    case.refresh_from_db()
    assert case.product == "Washing machine W-200"


def test_closed_case_shows_no_step_form(client, agent, handler, after_sales, case):
    walk(case, to=Step.CLOSED, by=agent, department=after_sales, person=handler)
    client.force_login(agent)
    response = client.get(detail_url(case))
    assert step_url(case) not in text(response)
    assert "The case is closed." in text(response)


# ---------------------------------------------------------------- hand-over


def test_handing_over_to_a_person_makes_them_the_owner(client, agent, handler, case):
    client.force_login(agent)
    response = client.post(assign_url(case), {"version": case.version, "person": handler.pk})
    assert response.status_code == 302
    assert response["Location"] == detail_url(case)
    case.refresh_from_db()
    assert case.owner == handler


def test_handing_over_to_a_department_makes_it_responsible(client, agent, logistics, case):
    client.force_login(agent)
    client.post(assign_url(case), {"version": case.version, "department": logistics.pk})
    case.refresh_from_db()
    assert case.department == logistics


def test_hand_over_is_on_the_timeline(client, agent, handler, case):
    client.force_login(agent)
    client.post(
        assign_url(case),
        {"version": case.version, "person": handler.pk, "note": "Please call back today"},
    )
    event = case.events.get(kind=CaseEvent.Kind.ASSIGNED)
    assert event.actor == agent
    assert event.changes == {"owner": [agent.pk, handler.pk]}
    assert event.note == "Please call back today"


def test_hand_over_to_nobody_is_refused(client, agent, case):
    client.force_login(agent)
    response = client.post(assign_url(case), {"version": case.version})
    assert response.status_code == 400
    assert "Choose a person or a department." in text(response)
    case.refresh_from_db()
    assert case.owner == agent


def test_hand_over_to_someone_who_cannot_work_cases_is_refused(client, agent, outsider, case):
    client.force_login(agent)
    response = client.post(assign_url(case), {"version": case.version, "person": outsider.pk})
    assert response.status_code == 400
    case.refresh_from_db()
    assert case.owner == agent


def test_hand_over_with_a_stale_version_is_a_conflict(client, agent, handler, case):
    version = case.version
    services.case_update(case=case, by=agent, data={"product": "Theirs"})
    client.force_login(agent)
    response = client.post(assign_url(case), {"version": version, "person": handler.pk})
    assert response.status_code == 409
    case.refresh_from_db()
    assert case.owner == agent


# ---------------------------------------------------------------- notes


def test_note_is_added_to_the_timeline_and_redirects(client, agent, case):
    client.force_login(agent)
    response = client.post(note_url(case), {"body": "Customer called again."})
    assert response.status_code == 302
    assert response["Location"] == detail_url(case)
    note = case.events.get(kind=CaseEvent.Kind.NOTE)
    assert note.note == "Customer called again."
    assert note.customer_visible is False


def test_customer_visible_note_is_a_message_to_the_customer(client, agent, case):
    client.force_login(agent)
    client.post(note_url(case), {"body": "We are on it.", "customer_visible": "on"})
    message = case.events.get(kind=CaseEvent.Kind.MESSAGE)
    assert message.customer_visible is True


def test_note_with_htmx_answers_with_the_timeline_partial(client, agent, case):
    client.force_login(agent)
    response = client.post(
        note_url(case), {"body": "Customer called again."}, headers={"HX-Request": "true"}
    )
    assert response.status_code == 200
    page = text(response)
    assert "<html" not in page
    assert 'data-testid="timeline"' in page
    assert "Customer called again." in page


def test_empty_note_is_refused(client, agent, case):
    client.force_login(agent)
    response = client.post(note_url(case), {"body": ""})
    assert response.status_code == 400
    # A note may be files alone, so the service, not the form, says what is missing.
    assert "Write something first." in text(response)
    assert event_kinds(case) == ["received"]


def test_empty_note_with_htmx_answers_the_partial_with_the_error(client, agent, case):
    client.force_login(agent)
    response = client.post(note_url(case), {"body": "   "}, headers={"HX-Request": "true"})
    assert response.status_code == 400
    assert "Write something first." in text(response)
    assert event_kinds(case) == ["received"]


def test_over_long_note_is_refused(client, agent, case):
    client.force_login(agent)
    response = client.post(note_url(case), {"body": "x" * 5001})
    assert response.status_code == 400
    assert "Ensure this value has at most 5000 characters (it has 5001)." in text(response)
    assert event_kinds(case) == ["received"]


# ---------------------------------------------------------------- user text is inert


def test_script_in_the_description_is_shown_as_text(client, agent):
    case = receive_case(by=agent, description=SCRIPT)
    client.force_login(agent)
    page = text(client.get(detail_url(case)))
    assert "<script>alert" not in page
    assert ESCAPED_SCRIPT in page


def test_script_in_the_customer_name_is_shown_as_text_on_the_case_page(client, agent):
    case = receive_case(by=agent, customer=CustomerFactory(name=SCRIPT))
    client.force_login(agent)
    page = text(client.get(detail_url(case)))
    assert "<script>alert" not in page
    assert ESCAPED_SCRIPT in page


def test_script_in_the_customer_name_is_shown_as_text_in_the_list(client, agent):
    receive_case(by=agent, customer=CustomerFactory(name=SCRIPT))
    client.force_login(agent)
    page = text(client.get("/cases/"))
    assert "<script>alert" not in page
    assert ESCAPED_SCRIPT in page


def test_script_in_a_note_is_shown_as_text(client, agent, case):
    client.force_login(agent)
    client.post(note_url(case), {"body": SCRIPT})
    page = text(client.get(detail_url(case)))
    assert "<script>alert" not in page
    assert ESCAPED_SCRIPT in page


def test_script_in_a_note_is_shown_as_text_in_the_htmx_partial(client, agent, case):
    client.force_login(agent)
    page = text(client.post(note_url(case), {"body": SCRIPT}, headers={"HX-Request": "true"}))
    assert "<script>alert" not in page
    assert ESCAPED_SCRIPT in page


def test_script_in_changed_step_data_is_shown_as_text_on_the_timeline(client, agent, case):
    client.force_login(agent)
    client.post(step_url(case), step_post(case, product=SCRIPT))
    page = text(client.get(detail_url(case)))
    assert "<script>alert" not in page
    assert ESCAPED_SCRIPT in page


# ---------------------------------------------------------------- my cases


def test_my_cases_lists_open_cases_i_own_or_am_responsible_for(
    client, agent, other_agent, handler, after_sales
):
    owned = receive_case(by=agent)
    responsible = receive_case(by=other_agent)
    walk(responsible, to=Step.DECIDE, by=other_agent, department=after_sales, person=agent)
    closed = receive_case(by=agent)
    walk(closed, to=Step.CLOSED, by=agent, department=after_sales, person=handler)
    someone_elses = receive_case(by=other_agent)
    client.force_login(agent)
    shown = listed(client.get("/"))
    assert sorted(shown) == sorted([owned.reference, responsible.reference])
    assert closed.reference not in shown
    assert someone_elses.reference not in shown


def test_all_cases_lists_every_case(client, agent, other_agent, handler, after_sales):
    cases = [receive_case(by=agent), receive_case(by=other_agent)]
    walk(cases[0], to=Step.CLOSED, by=agent, department=after_sales, person=handler)
    client.force_login(handler)
    assert sorted(listed(client.get("/cases/"))) == sorted(c.reference for c in cases)


def test_navigation_shows_my_open_and_overdue_counts(client, agent, other_agent):
    receive_case(by=agent)
    receive_case(by=agent, received_at=timezone.now() - timedelta(days=2))
    receive_case(by=other_agent, received_at=timezone.now() - timedelta(days=2))
    client.force_login(agent)
    page = text(client.get("/cases/"))
    assert re.search(r'data-testid="nav-my-cases">My cases <span class="count">2</span>', page)
    assert re.search(r'data-testid="nav-overdue"[^>]*><span class="count">1</span> overdue', page)


def test_navigation_leaves_out_overdue_and_waiting_when_there_are_none(client, agent):
    receive_case(by=agent)
    client.force_login(agent)
    page = text(client.get("/"))
    assert 'data-testid="nav-my-cases"' in page
    assert 'data-testid="nav-overdue"' not in page
    assert 'data-testid="nav-waiting"' not in page


def test_overdue_case_is_marked_in_the_list(client, agent):
    late = receive_case(by=agent, received_at=timezone.now() - timedelta(days=2))
    client.force_login(agent)
    page = text(client.get("/cases/"))
    row = re.search(rf'<tr class="overdue" data-reference="{late.reference}">.*?</tr>', page, re.S)
    assert row and "overdue by" in row.group(0)


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
        "quenby": receive_case(
            by=agent,
            customer=CustomerFactory(
                name="Xylo Quenby", phone="+8613911112222", email="xquenby@example.org"
            ),
        ),
        "logistics": receive_case(by=agent),
        "listening": receive_case(by=agent),
    }
    services.case_assign(case=cases["logistics"], by=agent, department=logistics)
    services.case_transition(case=cases["listening"], to=Step.LISTEN, by=agent)
    walk(cases["old"], to=Step.CLOSED, by=agent, department=after_sales, person=handler)
    return cases


def rows(client, query: str) -> set[str]:
    response = client.get(f"/cases/?{query}")
    assert response.status_code == 200
    return set(listed(response))


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("urgency=red", "red"),
        ("channel=email", "email"),
        ("category=price_billing", "billing"),
        ("step=listen", "listening"),
        ("overdue=true", "overdue"),
    ],
)
def test_list_filter_by_choice_returns_only_the_matching_case(
    client, agent, spread, query, expected
):
    client.force_login(agent)
    assert rows(client, query) == {spread[expected].reference}


def test_list_filter_by_several_steps_returns_cases_at_any_of_them(client, agent, spread):
    client.force_login(agent)
    shown = rows(client, "step=listen&step=receive")
    assert shown == {c.reference for name, c in spread.items() if name != "old"}


def test_list_filter_by_department(client, agent, logistics, spread):
    client.force_login(agent)
    assert rows(client, f"department={logistics.pk}") == {spread["logistics"].reference}


def test_list_filter_by_owner(client, agent, other_agent, spread):
    client.force_login(agent)
    assert rows(client, f"owner={other_agent.pk}") == {spread["other_agent"].reference}


def test_list_filter_not_overdue_leaves_out_overdue_cases(client, agent, spread):
    client.force_login(agent)
    shown = rows(client, "overdue=false")
    assert spread["overdue"].reference not in shown
    assert spread["red"].reference in shown


def test_list_filter_by_received_range(client, agent, spread):
    start = (timezone.now() - timedelta(days=41)).date().isoformat()
    end = (timezone.now() - timedelta(days=39)).date().isoformat()
    client.force_login(agent)
    assert rows(client, f"received_after={start}&received_before={end}") == {
        spread["old"].reference
    }


def test_list_filter_received_since_leaves_out_older_cases(client, agent, spread):
    since = (timezone.now() - timedelta(days=7)).date().isoformat()
    client.force_login(agent)
    shown = rows(client, f"received_after={since}")
    assert spread["old"].reference not in shown
    assert spread["overdue"].reference in shown


@pytest.mark.parametrize(
    ("term", "expected"),
    [
        ("quenby", "quenby"),
        ("13911112222", "quenby"),
        ("XQUENBY@example", "quenby"),
        ("fridge leaks", "fridge"),
    ],
    ids=["customer-name", "phone", "email", "description"],
)
def test_list_search_finds_the_case(client, agent, spread, term, expected):
    client.force_login(agent)
    assert rows(client, f"q={term}") == {spread[expected].reference}


def test_list_search_finds_a_case_by_its_reference(client, agent, spread):
    client.force_login(agent)
    reference = spread["red"].reference
    assert rows(client, f"q={reference}") == {reference}


def test_list_search_with_no_match_says_so(client, agent, spread):
    client.force_login(agent)
    response = client.get("/cases/?q=nothing-like-this")
    assert listed(response) == []
    assert "No cases match." in text(response)


def test_list_filters_combine(client, agent, spread):
    client.force_login(agent)
    assert rows(client, "urgency=red&channel=email") == set()


def test_my_cases_filters_within_my_cases(client, agent, spread):
    client.force_login(agent)
    response = client.get("/?urgency=yellow&category=product_quality&channel=phone")
    shown = set(listed(response))
    assert spread["other_agent"].reference not in shown
    assert spread["fridge"].reference in shown


def test_invalid_filter_value_shows_an_error_and_no_rows(client, agent, spread):
    client.force_login(agent)
    response = client.get("/cases/?urgency=purple")
    assert response.status_code == 200
    assert listed(response) == []
    assert "Select a valid choice." in text(response)


def test_list_answers_only_the_table_to_an_htmx_filter(client, agent, spread):
    client.force_login(agent)
    response = client.get("/cases/?urgency=red", headers={"HX-Target": "case-table"})
    assert "<html" not in text(response)
    assert listed(response) == [spread["red"].reference]


# ---------------------------------------------------------------- sorting and pages


def test_list_sorted_by_received_newest_first(client, agent):
    now = timezone.now()
    older = receive_case(by=agent, received_at=now - timedelta(hours=5))
    newest = receive_case(by=agent, received_at=now)
    oldest = receive_case(by=agent, received_at=now - timedelta(days=3))
    client.force_login(agent)
    shown = listed(client.get("/cases/?ordering=-received"))
    assert shown == [newest.reference, older.reference, oldest.reference]


def test_list_sorts_by_reference(client, agent):
    references = sorted(receive_case(by=agent).reference for _ in range(3))
    client.force_login(agent)
    assert listed(client.get("/cases/?ordering=reference")) == references
    assert listed(client.get("/cases/?ordering=-reference")) == references[::-1]


def test_list_sorts_by_customer_name(client, agent):
    names = ["Chen", "Abe", "Baker"]
    by_name = {
        name: receive_case(by=agent, customer=CustomerFactory(name=name)).reference
        for name in names
    }
    client.force_login(agent)
    shown = listed(client.get("/cases/?ordering=customer"))
    assert shown == [by_name["Abe"], by_name["Baker"], by_name["Chen"]]


def test_list_sorts_by_received_oldest_first(client, agent):
    now = timezone.now()
    second = receive_case(by=agent, received_at=now - timedelta(hours=1))
    first = receive_case(by=agent, received_at=now - timedelta(days=1))
    client.force_login(agent)
    assert listed(client.get("/cases/?ordering=received")) == [first.reference, second.reference]


@pytest.fixture
def thirty_cases(agent):
    now = timezone.now()
    # Newest received last: the list shows the next deadline first.
    return [
        receive_case(by=agent, received_at=now - timedelta(minutes=30 - i)).reference
        for i in range(30)
    ]


def test_list_shows_25_cases_a_page(client, agent, thirty_cases):
    client.force_login(agent)
    response = client.get("/cases/")
    assert listed(response) == thirty_cases[:25]
    assert "Page 1 of 2 · 30 cases" in text(response)


def test_list_second_page_shows_the_rest(client, agent, thirty_cases):
    client.force_login(agent)
    response = client.get("/cases/?page=2")
    assert listed(response) == thirty_cases[25:]
    assert "Page 2 of 2 · 30 cases" in text(response)


def test_list_page_links_keep_the_filters(client, agent, thirty_cases):
    client.force_login(agent)
    response = client.get("/cases/?urgency=yellow&ordering=reference")
    next_link = re.search(r'<a href="([^"]*)">Next</a>', text(response)).group(1)
    assert unescape(next_link) == "?urgency=yellow&ordering=reference&page=2"


def test_list_page_beyond_the_last_shows_the_last(client, agent, thirty_cases):
    client.force_login(agent)
    assert listed(client.get("/cases/?page=99")) == thirty_cases[25:]


# ---------------------------------------------------------------- query counts


def build_cases(n, *, by, owners, departments):
    """``n`` cases logged by ``by``, owned in turn by ``owners`` and handed in turn to
    ``departments``, each for its own customer: every row names other objects."""
    for i in range(n):
        case = receive_case(by=by)
        services.case_assign(
            case=case, by=by, person=owners[i % len(owners)], department=departments[i % 2]
        )


@pytest.mark.parametrize("url", ["/cases/", "/"], ids=["all-cases", "my-cases"])
def test_list_query_count_does_not_grow_with_the_rows(
    client, agent, handler, other_agent, after_sales, logistics, url
):
    owners = [agent] if url == "/" else [agent, handler, other_agent]
    departments = [after_sales, logistics]
    build_cases(3, by=agent, owners=owners, departments=departments)
    client.force_login(agent)
    client.get(url)
    few = query_count(client, url)
    build_cases(37, by=agent, owners=owners, departments=departments)
    response = client.get(url)
    assert len(listed(response)) == 25
    assert query_count(client, url) == few


def test_filtered_list_query_count_does_not_grow_with_the_rows(
    client, agent, handler, after_sales, logistics
):
    url = f"/cases/?owner={agent.pk}&department={after_sales.pk}&overdue=false&q=C"
    build_cases(4, by=agent, owners=[agent, handler], departments=[after_sales, logistics])
    client.force_login(agent)
    client.get(url)
    few = query_count(client, url)
    build_cases(60, by=agent, owners=[agent, handler], departments=[after_sales, logistics])
    assert query_count(client, url) == few


def test_case_page_query_count_does_not_grow_with_the_timeline(
    client, agent, handler, other_agent, after_sales, logistics, case
):
    services.case_assign(case=case, by=agent, person=handler, department=after_sales)
    services.case_add_note(case=case, by=agent, body="First call.")
    client.force_login(agent)
    client.get(detail_url(case))
    few = query_count(client, detail_url(case))
    for i in range(15):
        services.case_assign(
            case=case,
            by=agent,
            person=[other_agent, handler][i % 2],
            department=[logistics, after_sales][i % 2],
        )
        services.case_add_note(case=case, by=agent, body=f"Call {i}.", customer_visible=bool(i % 2))
        services.case_update(case=case, by=agent, data={"product": f"W-{i}"})
    assert case.events.count() > 40
    assert query_count(client, detail_url(case)) == few


# ---------------------------------------------------------------- language


def test_switching_to_chinese_renders_pages_in_chinese(client, agent):
    client.force_login(agent)
    response = client.post("/i18n/setlang/", {"language": "zh-hans", "next": "/cases/"})
    assert response.status_code == 302
    page = text(client.get("/cases/"))
    assert '<html lang="zh-hans">' in page


def test_pages_are_in_english_by_default(client, agent):
    client.force_login(agent)
    assert '<html lang="en">' in text(client.get("/cases/"))


def test_language_switch_returns_to_the_page(client, agent, case):
    client.force_login(agent)
    response = client.post("/i18n/setlang/", {"language": "zh-hans", "next": detail_url(case)})
    assert response["Location"] == detail_url(case)


def test_navigation_counts_cost_one_query(client, agent, case):
    client.force_login(agent)
    with CaptureQueriesContext(connection) as queries:
        client.get("/cases/")
    assert sum('AS "open"' in query["sql"] for query in queries.captured_queries) == 1
