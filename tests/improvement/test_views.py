"""The actions' pages: the list (open ones by default, filters, pages, a fixed number of
queries), recording one from a case page or the list, the action's page and its forms (POST
only; refusals shown, nothing written), the panel on each linked case's page, the escalated
actions on the managers' queue."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from complaints.models import Step
from escalation.sweep import sweep
from improvement import services
from improvement.models import Action, ActionEscalation

from .conftest import T0, walk_to

pytestmark = pytest.mark.django_db

LIST = "/actions/"
NEW = "/actions/new/"
QUEUE = "/escalations/"


def page(action: Action, what: str = "") -> str:
    return f"/actions/{action.pk}/" + (f"{what}/" if what else "")


def case_page(case) -> str:
    return reverse("complaints:case_detail", args=[case.reference])


def listed(response) -> list[str]:
    assert response.status_code == 200, response.content[:500]
    return [a.reference for a in response.context["page_obj"]]


def queries(client, url: str, **params) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url, params)
    assert response.status_code == 200
    return len(captured)


def record_form(case_refs: str, **overrides) -> dict:
    return {
        "kind": "corrective",
        "root_cause": "materials",
        "cause": "Bearings of one batch wear out within weeks.",
        "title": "Replace the bearing supplier",
        "plan": "",
        "owner": "",
        "department": "",
        "due_on": (timezone.localdate() + timedelta(days=14)).isoformat(),
        "cases": case_refs,
        **overrides,
    }


# ---------------------------------------------------------------- who may open what


@pytest.mark.parametrize("url", [LIST, NEW, "/actions/1/"])
def test_anonymous_visitor_is_sent_to_log_in(client, db, url):
    response = client.get(url)

    assert response.status_code == 302
    assert response["Location"] == f"/login/?next={url}"


def test_a_user_without_a_role_sees_no_actions(client, outsider, action):
    client.force_login(outsider)

    assert client.get(LIST).status_code == 403
    assert client.get(page(action)).status_code == 404


@pytest.mark.parametrize("what", ["status", "verify", "edit", "cases"])
def test_changes_are_refused_on_get(client, handler, action, what):
    client.force_login(handler)

    assert client.get(page(action, what)).status_code == 405


def test_the_navigation_links_to_the_actions(client, agent):
    client.force_login(agent)

    assert 'data-testid="nav-actions"' in client.get("/").text


# ---------------------------------------------------------------- the list


def test_the_list_shows_the_open_actions_by_default(
    client, agent, record, analysed_case, handler, department_head, quality_manager
):
    opened, started, done = (record(analysed_case(), title=t) for t in ("A", "B", "C"))
    verified, cancelled = record(analysed_case(), title="D"), record(analysed_case(), title="E")
    services.action_transition(action=started, to="in_progress", by=handler)
    walk_to(done, "done", by=handler)
    walk_to(verified, "done", by=handler)
    services.action_verify(action=verified, by=quality_manager, note="Checked.")
    services.action_transition(action=cancelled, to="cancelled", by=department_head, note="Dup.")
    client.force_login(agent)

    assert sorted(listed(client.get(LIST))) == sorted(a.reference for a in (opened, started, done))
    assert listed(client.get(LIST, {"status": ["verified", "cancelled"]})) == [
        verified.reference,
        cancelled.reference,
    ]


def test_the_list_filters_by_kind_owner_department_root_cause_and_overdue(
    client, clock, agent, record, analysed_case, handler, department_head, logistics, time_machine
):
    mine = record(analysed_case(), kind="preventive", root_cause="process")
    heads = record(analysed_case(), owner=department_head)
    theirs = record(analysed_case(), owner=None, department=logistics)
    late = record(analysed_case(), due_on=T0.date())
    time_machine.move_to(T0 + timedelta(days=1), tick=False)
    client.force_login(agent)

    assert listed(client.get(LIST, {"kind": "preventive"})) == [mine.reference]
    assert listed(client.get(LIST, {"owner": department_head.pk})) == [heads.reference]
    assert listed(client.get(LIST, {"department": logistics.pk})) == [theirs.reference]
    assert listed(client.get(LIST, {"root_cause": "process"})) == [mine.reference]
    assert listed(client.get(LIST, {"overdue": "true"})) == [late.reference]
    assert listed(client.get(LIST, {"q": late.cases.get().reference})) == [late.reference]
    assert listed(client.get(LIST, {"kind": "nonsense"})) == []


def test_the_list_query_count_does_not_grow_with_actions_and_cases(
    client, agent, record, analysed_case, handler
):
    for _ in range(2):
        record(analysed_case(), analysed_case())
    client.force_login(agent)
    client.get(LIST)
    few = queries(client, LIST)
    few_filtered = queries(client, LIST, status=["open", "done"], overdue="false")

    for _ in range(28):
        record(analysed_case(), analysed_case(), analysed_case())
    assert len(listed(client.get(LIST))) == 25  # a page

    assert queries(client, LIST) == few
    assert queries(client, LIST, status=["open", "done"], overdue="false") == few_filtered


def test_the_list_answers_htmx_with_the_table_only(client, agent, action):
    client.force_login(agent)

    response = client.get(LIST, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="action-table")

    assert response.templates[0].name == "improvement/partials/action_table.html"
    assert action.reference in response.text


# ---------------------------------------------------------------- recording


def test_the_case_page_offers_to_record_an_action_once_analysed(client, agent, analysed_case):
    early, ready = analysed_case(to=Step.ANALYSE), analysed_case()
    client.force_login(agent)

    assert 'data-testid="record-action"' not in client.get(case_page(early)).text
    assert f"/actions/new/?case={ready.reference}" in client.get(case_page(ready)).text


def test_the_form_from_a_case_starts_with_its_analysis(client, handler, analysed_case):
    case = analysed_case()
    client.force_login(handler)

    response = client.get(NEW, {"case": case.reference})

    initial = response.context["form"].initial
    assert (initial["cases"], initial["root_cause"], initial["department"], initial["owner"]) == (
        case.reference,
        "materials",
        case.department_id,
        handler.pk,
    )


def test_recording_an_action_from_two_cases(client, handler, analysed_case, after_sales):
    first, second = analysed_case(), analysed_case()
    client.force_login(handler)

    response = client.post(
        NEW, record_form(f"{first.reference}, {second.reference}", owner=handler.pk)
    )

    action = Action.objects.get()
    assert response.status_code == 302
    assert response["Location"] == page(action)
    assert set(action.cases.all()) == {first, second}
    assert (action.owner, action.department, action.recorded_by) == (handler, after_sales, handler)


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"cases": "C209901-00001"}, "cases", "No case C209901-00001."),
        ({"owner": "", "department": ""}, "owner", "Name the owner: a person and/or a department."),
        ({"title": ""}, "title", "This field is required."),
    ],
)
def test_a_refused_record_says_why_and_writes_nothing(
    client, handler, analysed_case, overrides, field, message
):
    case = analysed_case()
    client.force_login(handler)

    response = client.post(NEW, record_form(case.reference, owner=handler.pk) | overrides)

    assert response.status_code == 400
    assert message in response.context["form"].errors[field]
    assert not Action.objects.exists()


def test_a_case_someone_may_not_work_is_refused(client, foreign_handler, analysed_case):
    case = analysed_case()
    client.force_login(foreign_handler)

    response = client.post(NEW, record_form(case.reference, owner=foreign_handler.pk))

    assert response.status_code == 400
    assert response.context["form"].errors["cases"] == [f"You may not work {case.reference}."]
    assert not Action.objects.exists()


# ---------------------------------------------------------------- the action's page


def test_the_action_page_shows_its_cases_history_and_the_owners_moves(client, handler, action):
    client.force_login(handler)

    response = client.get(page(action))

    assert response.status_code == 200
    assert [link.case for link in response.context["links"]] == list(action.cases.all())
    assert [e.kind for e in response.context["history"]] == ["recorded"]
    assert [m.target for m in response.context["moves"]] == ["in_progress", "done"]
    assert response.context["can_edit"] is True


def test_others_read_the_action_without_its_forms(client, foreign_handler, action):
    client.force_login(foreign_handler)

    response = client.get(page(action))

    assert response.status_code == 200
    assert response.context["moves"] == []
    assert 'data-testid="status-panel"' not in response.text
    assert 'data-testid="link"' not in response.text


def test_the_owner_moves_it_on_from_its_page(client, handler, action):
    client.force_login(handler)

    response = client.post(
        page(action, "status"),
        {"to": "done", "note": "New supplier since May.", "version": action.version},
    )

    assert response.status_code == 302
    action.refresh_from_db()
    assert (action.status, action.done_note) == ("done", "New supplier since May.")


@pytest.mark.parametrize(
    ("persona", "data", "status", "message"),
    [
        ("handler", {"to": "done", "note": ""}, 422, "Say what was done."),
        ("foreign_handler", {"to": "in_progress"}, 403, "Only the action's owner"),
        ("handler", {"to": "cancelled", "note": "No."}, 403, "Only the head of the owner"),
    ],
)
def test_a_refused_move_is_shown_and_changes_nothing(
    request, client, action, persona, data, status, message
):
    client.force_login(request.getfixturevalue(persona))

    response = client.post(page(action, "status"), {"version": action.version, **data})

    assert response.status_code == status
    assert response.context["refusal"].messages[0].startswith(message)
    action.refresh_from_db()
    assert (action.status, action.version) == ("open", 1)


def test_a_move_over_someone_elses_change_is_refused(client, handler, department_head, action):
    client.force_login(handler)
    seen = action.version
    services.action_transition(action=action, to="in_progress", by=department_head)

    response = client.post(page(action, "status"), {"to": "done", "note": "x", "version": seen})

    assert response.status_code == 409
    action.refresh_from_db()
    assert action.status == "in_progress"


def test_a_quality_manager_verifies_with_evidence_from_the_page(
    client, clock, handler, quality_manager, action
):
    walk_to(action, "done", by=handler)
    clock(days=10)  # its own case arrived ten days ago
    client.force_login(quality_manager)
    assert client.get(page(action)).context["can_verify"] is True

    response = client.post(
        page(action, "verify"),
        {"note": "No bearing complaint since.", "window_days": "5", "version": action.version},
    )

    assert response.status_code == 302
    action.refresh_from_db()
    assert action.status == "verified"
    shown = client.get(page(action))
    assert (
        shown.context["verification"].window_days,
        shown.context["verification"].cases_found,
    ) == (
        5,
        0,
    )
    assert 'data-testid="evidence-count"' in shown.text


def test_verifying_before_the_days_since_done_have_passed_is_refused_on_the_page(
    client, clock, handler, quality_manager, action
):
    walk_to(action, "done", by=handler)  # at T0, Monday 2 March 2026, 09:00
    clock(days=3)
    client.force_login(quality_manager)
    assert "counted from when it was done, 03/02/2026 9 a.m." in client.get(page(action)).text

    response = client.post(
        page(action, "verify"), {"note": "Fine.", "window_days": "5", "version": action.version}
    )

    assert response.status_code == 422
    [message] = response.context["refusal"].messages
    assert message.startswith("Wait until March 7, 2026, 9 a.m.:")
    assert message in response.text
    action.refresh_from_db()
    assert action.status == "done"

    clock(days=5)
    client.post(
        page(action, "verify"), {"note": "Fine.", "window_days": "5", "version": action.version}
    )
    shown = client.get(page(action)).text
    assert (
        "New cases of this root cause from 03/02/2026 9 a.m., when it was done, to "
        "03/07/2026 9 a.m.: 0 · 5 days asked for"
    ) in shown


def test_a_verification_a_new_case_refutes_is_shown_and_writes_nothing(
    client, clock, handler, quality_manager, action, analysed_case
):
    walk_to(action, "done", by=handler)
    clock(days=10)
    recurred = analysed_case()  # materials again, today
    client.force_login(quality_manager)

    response = client.post(
        page(action, "verify"), {"note": "Fine.", "window_days": "5", "version": action.version}
    )

    assert response.status_code == 422
    [message] = response.context["refusal"].messages
    assert message.startswith("1 new case of this root-cause category")
    assert recurred.reference in message
    action.refresh_from_db()
    assert action.status == "done"


def test_linking_and_unlinking_a_case_from_the_page(client, handler, action, analysed_case):
    second = analysed_case()
    client.force_login(handler)

    linked = client.post(page(action, "cases"), {"reference": second.reference, "version": 1})
    unlinked = client.post(f"/actions/{action.pk}/cases/{second.reference}/remove/", {"version": 2})

    assert (linked.status_code, unlinked.status_code) == (302, 302)
    assert [e.kind for e in action.events.all()] == ["recorded", "linked", "unlinked"]
    assert action.cases.count() == 1


def test_linking_an_unknown_case_says_so(client, handler, action):
    client.force_login(handler)

    response = client.post(page(action, "cases"), {"reference": "C209901-00009", "version": 1})

    assert response.status_code == 400
    assert response.context["link_form"].errors["reference"] == ["No case C209901-00009."]


def test_changing_the_details_from_the_page(client, handler, action):
    client.force_login(handler)
    form = {
        "kind": "preventive",
        "root_cause": "materials",
        "cause": action.cause,
        "title": "Qualify a second supplier",
        "plan": "",
        "owner": handler.pk,
        "department": action.department_id,
        "due_on": action.due_on.isoformat(),
        "note": "",
        "version": action.version,
    }

    response = client.post(page(action, "edit"), form)

    assert response.status_code == 302
    action.refresh_from_db()
    assert (action.kind, action.title) == ("preventive", "Qualify a second supplier")


def test_the_page_query_count_does_not_grow_with_history_and_cases(
    client, handler, action, analysed_case
):
    client.force_login(handler)
    client.get(page(action))
    few = queries(client, page(action))

    for _ in range(6):
        services.action_link_case(action=action, case=analysed_case(), by=handler)
    services.action_transition(action=action, to="in_progress", by=handler)
    services.action_update(action=action, by=handler, data={"title": "Another title"})

    assert queries(client, page(action)) == few


# ---------------------------------------------------------------- on the case page


def test_the_action_shows_on_each_linked_case(client, agent, handler, record, analysed_case):
    first, second, other = analysed_case(), analysed_case(), analysed_case()
    action = record(first, second)
    client.force_login(agent)

    for case in (first, second):
        panel = client.get(case_page(case)).text
        assert f'data-testid="case-action" data-reference="{action.reference}"' in panel
    assert action.reference not in client.get(case_page(other)).text


def test_the_case_page_query_count_does_not_grow_with_its_actions(
    client, agent, record, analysed_case
):
    case = analysed_case()
    record(case)
    client.force_login(agent)
    client.get(case_page(case))
    few = queries(client, case_page(case))

    for _ in range(5):
        record(case, analysed_case())

    assert queries(client, case_page(case)) == few


# ---------------------------------------------------------------- the managers' queue


@pytest.fixture
def overdue(clock, record, analysed_case, time_machine):
    """Make ``count`` actions from closed After-sales cases that the sweep escalated to the
    department head (tier 1) for being overdue."""

    def make(count: int = 1) -> list[Action]:
        actions = [
            record(analysed_case(to=Step.CLOSED), due_on=timezone.localdate()) for _ in range(count)
        ]
        time_machine.move_to(timezone.now() + timedelta(days=1), tick=False)
        sweep()
        for action in actions:
            action.refresh_from_db()
        return actions

    return make


def queued(response) -> list[str]:
    assert response.status_code == 200
    return [
        line.split('data-reference="')[1].split('"')[0]
        for line in response.text.splitlines()
        if 'data-testid="queue-action-row"' in line
    ]


def test_the_department_head_sees_the_overdue_action_in_the_queue(client, department_head, overdue):
    [action] = overdue()
    client.force_login(department_head)

    response = client.get(QUEUE)

    assert queued(response) == [action.reference]
    assert response.context["queue_counts"]()["total"] == 1


@pytest.mark.parametrize(
    ("persona", "sees"),
    [("foreign_head", False), ("quality_manager", False), ("general_manager", True)],
)
def test_an_escalated_action_is_in_the_queue_of_its_tier_and_department(
    request, client, overdue, department_head, persona, sees
):
    [action] = overdue()
    client.force_login(request.getfixturevalue(persona))

    assert queued(client.get(QUEUE)) == ([action.reference] if sees else [])


def test_acknowledging_from_the_queue_takes_it_off(client, department_head, overdue):
    [action] = overdue()
    escalation = action.escalations.get()
    client.force_login(department_head)

    response = client.post(f"/actions/escalations/{escalation.pk}/acknowledge/", {"next": "queue"})

    assert response.status_code == 302
    assert response["Location"] == QUEUE
    escalation.refresh_from_db()
    assert escalation.acknowledged_by == department_head
    assert queued(client.get(QUEUE)) == []


def test_acknowledging_another_departments_escalation_is_refused(client, foreign_head, overdue):
    [action] = overdue()
    escalation = action.escalations.get()
    client.force_login(foreign_head)

    client.post(f"/actions/escalations/{escalation.pk}/acknowledge/")

    escalation.refresh_from_db()
    assert escalation.acknowledged_at is None


@pytest.mark.parametrize(
    ("persona", "may"),
    [
        ("department_head", True),
        ("foreign_head", False),
        ("handler", False),
        ("agent", False),
        ("quality_manager", True),  # a higher tier may act for a lower one, as for cases
    ],
)
def test_the_actions_page_offers_acknowledging_to_whom_the_service_allows_it(
    request, client, overdue, persona, may
):
    [action] = overdue()  # escalated to the head of After-sales
    user = request.getfixturevalue(persona)
    client.force_login(user)
    escalation = action.escalations.get()

    offered = f"/actions/escalations/{escalation.pk}/acknowledge/" in client.get(page(action)).text
    client.post(f"/actions/escalations/{escalation.pk}/acknowledge/")

    escalation.refresh_from_db()
    assert (offered, escalation.acknowledged_by) == (may, user if may else None)


def test_the_queue_query_count_does_not_grow_with_the_escalated_actions(
    client, department_head, overdue
):
    overdue(2)
    client.force_login(department_head)
    client.get(QUEUE)
    few = queries(client, QUEUE)

    overdue(8)
    assert len(queued(client.get(QUEUE))) == 10
    assert queries(client, QUEUE) == few
    assert ActionEscalation.objects.count() == 10


def test_the_actions_read_in_chinese(client, agent, action):
    client.force_login(agent)

    listing = client.get(LIST, HTTP_ACCEPT_LANGUAGE="zh-hans")
    detail = client.get(page(action), HTTP_ACCEPT_LANGUAGE="zh-hans")

    assert "纠正和预防措施" in listing.text and "纠正预防措施" in listing.text  # heading, nav
    assert "待处理" in detail.text and "纠正措施" in detail.text
