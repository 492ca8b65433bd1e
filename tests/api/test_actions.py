"""/api/v1/actions/: corrective and preventive actions through the API, with the pages' rules
(the same services and access), the one error format, ETag/version against lost updates, and
lists in a fixed number of queries."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from complaints.models import Step
from improvement import services
from improvement.models import Action

from ..factories import receive_case, walk
from .conftest import V1, case_url, error, queries, read

pytestmark = pytest.mark.django_db

ACTIONS = f"{V1}/actions/"


def action_url(action: Action | int, what: str = "") -> str:
    pk = action if isinstance(action, int) else action.pk
    return f"{ACTIONS}{pk}/" + (f"{what}/" if what else "")


@pytest.fixture
def analysed(agent, handler, after_sales):
    def make(to: str = Step.DECIDE):
        return walk(receive_case(by=agent), to=to, by=agent, department=after_sales, person=handler)

    return make


@pytest.fixture
def recorded(handler, analysed):
    def make(*cases, **overrides) -> Action:
        data = {
            "kind": "corrective",
            "root_cause": "materials",
            "cause": "A faulty bearing batch.",
            "title": "Change the bearing supplier",
            "owner": handler,
            "due_on": timezone.localdate() + timedelta(days=7),
            **overrides,
        }
        return services.action_record(by=handler, cases=list(cases) or [analysed()], **data)

    return make


def new_action(cases: list[str], **overrides) -> dict:
    return {
        "kind": "corrective",
        "root_cause": "materials",
        "cause": "A faulty bearing batch.",
        "title": "Change the bearing supplier",
        "due_on": (timezone.localdate() + timedelta(days=7)).isoformat(),
        "cases": cases,
        **overrides,
    }


# ---------------------------------------------------------------- reading


def test_staff_without_a_token_or_role_get_nothing(api, outsider, recorded):
    recorded()

    assert error(api().get(ACTIONS), 401, "not_authenticated")
    assert error(api(outsider).get(ACTIONS), 403, "permission_denied")


def test_the_list_has_the_open_actions_with_their_cases(
    api, agent, recorded, analysed, handler, department_head
):
    first, second = analysed(), analysed()
    action = recorded(first, second)
    done = recorded()
    services.action_transition(action=done, to="done", by=handler, note="Done.")
    cancelled = recorded()
    services.action_transition(
        action=cancelled, to="cancelled", by=department_head, note="A duplicate."
    )

    response = api(agent).get(ACTIONS)

    assert response.status_code == 200
    rows = response.json()["results"]
    assert [row["reference"] for row in rows] == [action.reference, done.reference]
    assert rows[0]["cases"] == [first.reference, second.reference]
    assert (rows[0]["status"], rows[0]["overdue"], rows[0]["owner"]["username"]) == (
        "open",
        False,
        "handler",
    )


def test_the_list_filters_like_the_page(api, agent, recorded, analysed, logistics):
    case = analysed()
    mine = recorded(case, kind="preventive")
    recorded(owner=None, department=logistics)

    def refs(**query) -> list[str]:
        response = api(agent).get(ACTIONS, query)
        assert response.status_code == 200, response.content
        return [row["reference"] for row in response.json()["results"]]

    assert refs(kind="preventive") == [mine.reference]
    assert refs(case=case.reference) == [mine.reference]
    assert len(refs(department=logistics.pk)) == 1
    assert refs(status="verified") == []


def test_the_list_query_count_does_not_grow_with_actions(api, agent, recorded, analysed):
    client = api(agent)
    for _ in range(2):
        recorded(analysed(), analysed())
    client.get(ACTIONS)
    few = queries(client, ACTIONS)

    for _ in range(20):
        recorded(analysed(), analysed(), analysed())

    assert queries(client, ACTIONS) == few


def test_an_action_with_its_etag_moves_and_verification(api, agent, recorded):
    action = recorded()

    response = api(agent).get(action_url(action))

    assert response.status_code == 200
    assert response["ETag"] == '"1"'
    body = response.json()
    assert (body["id"], body["reference"], body["verification"]) == (
        action.pk,
        action.reference,
        None,
    )
    assert body["moves"] == []  # the agent may make none of them


@pytest.mark.parametrize(
    ("persona", "status", "expected"),
    [
        ("handler", "open", [("in_progress", False), ("done", True)]),
        ("department_head", "open", [("in_progress", False), ("done", True), ("cancelled", True)]),
        ("agent", "open", []),
        ("foreign_handler", "open", []),
        ("handler", "done", [("in_progress", True)]),
        # No "verified": that is the verify endpoint, with its evidence.
        ("quality_manager", "done", [("in_progress", True), ("cancelled", True)]),
        ("agent", "done", []),
    ],
)
def test_the_moves_are_those_the_caller_may_make_as_on_the_page(
    api, client, request, handler, recorded, persona, status, expected
):
    action = recorded()
    if status == "done":
        services.action_transition(action=action, to="done", by=handler, note="Done.")
    user = request.getfixturevalue(persona)
    client.force_login(user)

    body = api(user).get(action_url(action)).json()
    page = client.get(f"/actions/{action.pk}/").content.decode()

    assert [(m["to"], m["needs_note"]) for m in body["moves"]] == expected
    buttons = re.findall(r'data-testid="move-([a-z_]+)"', page)
    assert buttons == [to for to, _note in expected]


def test_an_unknown_action_is_not_found(api, agent):
    error(api(agent).get(action_url(999_999)), 404, "not_found")


# ---------------------------------------------------------------- recording


def test_recording_an_action_from_cases(api, handler, analysed, after_sales):
    first, second = analysed(), analysed(to=Step.CLOSED)

    response = api(handler).post(
        ACTIONS, new_action([first.reference, second.reference], owner=handler.pk), format="json"
    )

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["cases"] == [first.reference, second.reference]
    assert (body["owner"]["id"], body["department"]["id"]) == (handler.pk, after_sales.pk)
    assert response["ETag"] == '"1"'
    assert Action.objects.get().recorded_by == handler


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"cases": []}, "cases"),
        ({"cases": ["C209901-00001"]}, "cases"),
        ({"due_on": "2020-01-01"}, "due_on"),
        ({"kind": "curative"}, "kind"),
        ({"surprise": 1}, "surprise"),
    ],
)
def test_a_bad_action_is_refused_with_its_field_and_nothing_written(
    api, handler, analysed, overrides, field
):
    case = analysed()

    response = api(handler).post(
        ACTIONS, new_action([case.reference], owner=handler.pk) | overrides, format="json"
    )

    assert field in error(response, 400, "invalid")["fields"]
    assert not Action.objects.exists()


def test_a_case_before_analysis_is_refused(api, handler, analysed):
    early = analysed(to=Step.ANALYSE)

    response = api(handler).post(
        ACTIONS, new_action([early.reference], owner=handler.pk), format="json"
    )

    assert error(response, 400, "invalid")["fields"]["cases"] == [
        f"{early.reference} has not finished Analyse: its root cause is not known yet."
    ]


# ---------------------------------------------------------------- changing


def test_moving_an_action_on(api, handler, recorded):
    action = recorded()

    response = api(handler).post(
        action_url(action, "status"),
        {"to": "done", "note": "Supplier changed."},
        format="json",
        **read(action),
    )

    assert response.status_code == 200, response.content
    assert (response.json()["status"], response["ETag"]) == ("done", '"2"')


def test_a_refused_move_is_409_with_the_reason(api, handler, recorded):
    action = recorded()

    response = api(handler).post(
        action_url(action, "status"), {"to": "done"}, format="json", **read(action)
    )

    assert error(response, 409, "refused")["fields"] == {"note": ["Say what was done."]}


def test_a_move_by_someone_else_is_403(api, foreign_handler, recorded):
    action = recorded()

    response = api(foreign_handler).post(
        action_url(action, "status"), {"to": "in_progress"}, format="json", **read(action)
    )

    error(response, 403, "permission_denied")
    action.refresh_from_db()
    assert action.status == "open"


def test_a_change_over_someone_elses_is_refused(api, handler, department_head, recorded):
    """A stale If-Match is 412 (HTTP's precondition), a stale version in the body 409."""
    action = recorded()
    services.action_transition(action=action, to="in_progress", by=department_head)

    patched = api(handler).patch(
        action_url(action), {"title": "Mine"}, format="json", HTTP_IF_MATCH='"1"'
    )
    moved = api(handler).post(
        action_url(action, "status"), {"to": "done", "note": "x", "version": 1}, format="json"
    )

    error(patched, 412, "precondition_failed")
    error(moved, 409, "conflict")
    action.refresh_from_db()
    assert (action.title, action.status) == ("Change the bearing supplier", "in_progress")


def test_changing_the_details(api, handler, recorded):
    action = recorded()
    later = (action.due_on + timedelta(days=7)).isoformat()

    refused = api(handler).patch(
        action_url(action), {"due_on": later}, format="json", **read(action)
    )
    changed = api(handler).patch(
        action_url(action),
        {"due_on": later, "note": "The audit moved.", "version": 1},
        format="json",
    )

    assert error(refused, 400, "invalid")["fields"] == {"note": ["Say why the due date moves."]}
    assert changed.status_code == 200, changed.content
    assert changed.json()["due_on"] == later


def test_linking_and_unlinking_cases(api, handler, recorded, analysed):
    action, second = recorded(), analysed()
    first = action.cases.get()
    client = api(handler)

    linked = client.post(
        action_url(action, "cases"), {"case": second.reference}, format="json", **read(action)
    )
    unlinked = client.delete(action_url(action, f"cases/{first.reference}"), **read(action))
    last = client.delete(action_url(action, f"cases/{second.reference}"), **read(action))
    unconditional = client.delete(action_url(action, f"cases/{second.reference}"))

    assert linked.json()["cases"] == [first.reference, second.reference]
    assert unlinked.json()["cases"] == [second.reference]
    assert error(last, 409, "refused")["message"] == (
        "An action keeps at least one case it comes from."
    )
    error(unconditional, 428, "precondition_required")
    error(
        client.delete(action_url(action, "cases/C209901-00001"), **read(action)), 404, "not_found"
    )


def test_verifying_with_evidence(api, handler, quality_manager, recorded, time_machine):
    action = recorded()
    services.action_transition(action=action, to="done", by=handler, note="Done.")
    action.refresh_from_db()
    time_machine.move_to(timezone.now() + timedelta(days=10), tick=False)

    early = api(quality_manager).post(
        action_url(action, "verify"),
        {"note": "Fine.", "window_days": 30},
        format="json",
        **read(action),
    )
    verified = api(quality_manager).post(
        action_url(action, "verify"),
        {"note": "Fine.", "window_days": 5},
        format="json",
        **read(action),
    )

    assert error(early, 409, "refused")["message"].startswith("Wait until ")
    assert verified.status_code == 200, verified.content
    body = verified.json()
    assert body["status"] == "verified"
    evidence = body["verification"]
    assert (evidence["window_days"], evidence["cases_found"]) == (5, 0)
    assert (evidence["window_start"], evidence["window_end"]) == (
        action.done_at.isoformat().replace("+00:00", "Z"),
        timezone.now().isoformat().replace("+00:00", "Z"),
    )


def test_a_new_case_since_done_refutes_the_verification(
    api, handler, quality_manager, recorded, analysed, time_machine
):
    action = recorded()
    services.action_transition(action=action, to="done", by=handler, note="Done.")
    time_machine.move_to(timezone.now() + timedelta(days=2), tick=False)
    recurred = analysed()  # the same root cause, after the action was done
    time_machine.move_to(timezone.now() + timedelta(days=8), tick=False)

    refuted = api(quality_manager).post(
        action_url(action, "verify"),
        {"note": "Fine.", "window_days": 5},
        format="json",
        **read(action),
    )

    message = error(refuted, 409, "refused")["message"]
    assert message.startswith("1 new case of this root-cause category arrived since")
    assert recurred.reference in message


def test_verifying_needs_a_quality_or_general_manager(api, handler, department_head, recorded):
    action = recorded()
    services.action_transition(action=action, to="done", by=handler, note="Done.")

    error(
        api(department_head).post(
            action_url(action, "verify"), {"note": "Fine."}, format="json", **read(action)
        ),
        403,
        "permission_denied",
    )


def test_whoever_marked_it_done_may_not_verify_it(
    api, handler, quality_manager, general_manager, recorded
):
    action = recorded()
    services.action_transition(action=action, to="done", by=quality_manager, note="Swapped.")

    refused = api(quality_manager).post(
        action_url(action, "verify"), {"note": "Mine is fine."}, format="json", **read(action)
    )
    verified = api(general_manager).post(
        action_url(action, "verify"), {"note": "Seen."}, format="json", **read(action)
    )

    error(refused, 403, "permission_denied")
    assert verified.status_code == 200, verified.content
    assert verified.json()["done_by"]["id"] == quality_manager.pk


def test_the_history(api, agent, handler, recorded):
    action = recorded()
    services.action_transition(action=action, to="in_progress", by=handler)

    response = api(agent).get(action_url(action, "events"))

    assert [(e["kind"], e["to_status"]) for e in response.json()["results"]] == [
        ("recorded", "open"),
        ("status", "in_progress"),
    ]


def test_the_actions_of_a_case(api, agent, recorded, analysed):
    case = analysed()
    first, second = recorded(case), recorded(case, analysed())
    recorded()

    response = api(agent).get(case_url(case, "actions"))

    assert response.status_code == 200
    assert sorted(row["id"] for row in response.json()["results"]) == [first.pk, second.pk]


def test_the_actions_of_a_case_come_in_the_case_pages_order_with_their_cases(
    api, client, agent, quality_manager, recorded, analysed
):
    case, other = analysed(), analysed()
    soon = timezone.localdate() + timedelta(days=2)
    cancelled = recorded(case, due_on=soon)
    services.action_transition(action=cancelled, to="cancelled", by=quality_manager, note="Moot.")
    later = recorded(case, other, due_on=soon + timedelta(days=9))
    sooner = recorded(case, due_on=soon + timedelta(days=1))
    client.force_login(agent)

    rows = api(agent).get(case_url(case, "actions")).json()["results"]
    panel = client.get(f"/cases/{case.reference}/").content.decode()

    # Open ones first, by due date; the closed one last although due first.
    expected = [sooner, later, cancelled]
    assert [row["id"] for row in rows] == [a.pk for a in expected]
    assert re.findall(r'data-testid="case-action" data-reference="([^"]+)"', panel) == [
        a.reference for a in expected
    ]
    assert rows[1]["cases"] == [case.reference, other.reference]


def test_the_actions_of_a_case_read_in_a_fixed_number_of_queries(api, agent, recorded, analysed):
    case = analysed()
    recorded(case)
    client = api(agent)
    client.get(case_url(case, "actions"))
    few = queries(client, case_url(case, "actions"))

    for _ in range(8):
        recorded(case, analysed(), analysed())

    assert len(client.get(case_url(case, "actions")).json()["results"]) == 9
    assert queries(client, case_url(case, "actions")) == few
