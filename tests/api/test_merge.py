"""POST /api/v1/cases/{reference}/merge/: who may merge, each refusal in the one error format,
version and If-Match, Idempotency-Key; and the survivor read through the API afterwards (its
timeline and files with the merged case's, the merged case's tracking JSON)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from complaints import customer_actions, services
from complaints.models import Case, CaseEvent, Step

from ..factories import CustomerFactory, receive, receive_case, walk
from .conftest import V1, case_url, error, png, references

REASON = "The same drum, called twice."


@pytest.fixture
def li_na(db):
    return CustomerFactory(name="Li Na", email="li.na@example.com")


@pytest.fixture
def earlier(agent, li_na):
    return receive_case(by=agent, customer=li_na, received_at=timezone.now() - timedelta(days=2))


@pytest.fixture
def later(agent, li_na):
    return receive_case(by=agent, customer=li_na)


def merge(client, case: Case, into: Case | str, **data):
    reference = into if isinstance(into, str) else into.reference
    return client.post(
        case_url(case, "merge"),
        {"into": reference, "note": REASON, "version": case.version, **data},
        format="json",
    )


def nothing_merged() -> bool:
    return not Case.objects.filter(merged_into__isnull=False).exists()


def test_merging_answers_with_the_case_that_carries_on(api, agent, earlier, later):
    response = merge(api(agent), later, earlier)

    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["reference"] == earlier.reference
    assert body["merged_cases"] == [later.reference]
    assert body["merged_into"] is None
    assert response["ETag"] == f'"{body["version"]}"'
    later.refresh_from_db()
    assert later.merged_into == earlier


def test_the_merged_case_reads_as_merged_into_the_survivor(api, agent, earlier, later):
    merge(api(agent), later, earlier)

    body = api(agent).get(case_url(later)).json()

    assert body["merged_into"] == earlier.reference
    assert body["repeat_of"] is None  # a merged case is no repeat


def test_the_survivors_timeline_and_messages_hold_both_cases(api, agent, earlier, later):
    services.case_add_note(case=later, by=agent, body="Photo", files=[png("drum.png")])
    customer_actions.case_customer_message(case=later, body="It bangs.")
    merge(api(agent), later, earlier)
    client = api(agent)

    events = client.get(case_url(earlier, "events")).json()["results"]
    messages = client.get(case_url(earlier, "messages")).json()["results"]

    assert {e["case"] for e in events} == {earlier.reference, later.reference}
    assert [e["at"] for e in events] == sorted(e["at"] for e in events)
    assert {(m["case"], m["note"]) for m in messages} == {
        (later.reference, "Photo"),
        (later.reference, "It bangs."),
    }
    [photo] = [m for m in messages if m["note"] == "Photo"]
    download = client.get(photo["attachments"][0]["url"])
    assert download.status_code == 200
    assert earlier.reference in photo["attachments"][0]["url"]


def test_merged_cases_are_listed_with_where_they_went(api, agent, earlier, later):
    merge(api(agent), later, earlier)

    response = api(agent).get(f"{V1}/cases/", {"q": later.reference})

    assert references(response) == [later.reference]
    assert response.json()["results"][0]["merged_into"] == earlier.reference


def test_the_merged_cases_tracking_json_is_the_survivors_progress(
    api, agent, handler, after_sales, li_na, earlier
):
    received = receive(by=agent, customer=li_na)
    merge(api(agent), received.case, earlier)
    walk(earlier, to=Step.ANALYSE, by=agent, department=after_sales, person=handler)

    body = api().get(f"{V1}/track/{received.tracking_token}/").json()

    assert (body["reference"], body["step"], body["can_answer"]) == (
        earlier.reference,
        Step.ANALYSE,
        True,
    )


def test_another_customers_tracking_json_shows_their_own_reference_and_no_answers(
    api, agent, earlier
):
    other = receive(by=agent, customer=CustomerFactory(name="Wang Fang"))
    merge(api(agent), other.case, earlier)

    body = api().get(f"{V1}/track/{other.tracking_token}/").json()

    assert body["reference"] == other.case.reference
    assert body["can_answer"] is False
    assert (body["decision"], body["plan"]) == ([], "")


# ---------------------------------------------------------------- refusals


def test_a_later_case_as_into_is_refused_with_the_reason(api, agent, earlier, later):
    refused = error(merge(api(agent), earlier, later), 409, "refused")

    assert "Merge the later case into the earlier one" in refused["message"]
    assert nothing_merged()


def test_a_closed_case_is_refused(api, agent, handler, after_sales, earlier, later):
    walk(earlier, to=Step.CLOSED, by=agent, department=after_sales, person=handler)

    refused = error(merge(api(agent), later, earlier), 409, "refused")

    assert (
        refused["message"] == f"{earlier.reference} is closed: a handled complaint is not merged."
    )


def test_an_unknown_case_to_merge_into_is_invalid(api, agent, later):
    refused = error(merge(api(agent), later, "C209901-00001"), 400, "invalid")

    assert refused["fields"] == {"into": ["No case has this reference."]}


def test_the_reason_is_required(api, agent, earlier, later):
    response = api(agent).post(case_url(later, "merge"), {"into": earlier.reference}, format="json")

    refused = error(response, 400, "invalid")
    assert list(refused["fields"]) == ["note"]
    assert nothing_merged()


def test_an_unknown_field_is_invalid(api, agent, earlier, later):
    error(merge(api(agent), later, earlier, survivor=earlier.reference), 400, "invalid")
    assert nothing_merged()


def test_a_merged_case_cannot_be_merged_again_and_says_where_it_went(
    api, agent, li_na, earlier, later
):
    merge(api(agent), later, earlier)
    first = receive_case(by=agent, customer=li_na, received_at=timezone.now() - timedelta(days=5))

    refused = error(merge(api(agent), later, first), 403, "permission_denied")

    assert refused["message"] == (
        f"{later.reference} was merged into {earlier.reference}: "
        f"work on {earlier.reference} instead."
    )


def test_a_stale_version_is_a_conflict(api, agent, earlier, later):
    services.case_transition(case=later, to=Step.LISTEN, by=agent)

    error(merge(api(agent), later, earlier, version=1), 409, "conflict")
    assert nothing_merged()


def test_a_stale_if_match_is_412_precondition_failed(api, agent, earlier, later):
    services.case_transition(case=later, to=Step.LISTEN, by=agent)

    response = api(agent).post(
        case_url(later, "merge"),
        {"into": earlier.reference, "note": REASON},
        format="json",
        HTTP_IF_MATCH='"1"',
    )

    error(response, 412, "precondition_failed")
    assert nothing_merged()


def test_a_stale_version_of_the_other_case_is_a_conflict(api, agent, earlier, later):
    services.case_transition(case=earlier, to=Step.LISTEN, by=agent)

    error(merge(api(agent), later, earlier, into_version=1), 409, "conflict")
    assert nothing_merged()


def test_the_same_merge_sent_twice_with_its_key_is_done_once(api, agent, earlier, later):
    client = api(agent)

    def send():
        return client.post(
            case_url(later, "merge"),
            {"into": earlier.reference, "note": REASON, "version": later.version},
            format="json",
            HTTP_IDEMPOTENCY_KEY="merge-1",
        )

    first, again = send(), send()

    assert first.status_code == again.status_code == 200
    assert again["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert CaseEvent.objects.filter(kind=CaseEvent.Kind.MERGED).count() == 2  # one per case


@pytest.mark.parametrize(
    "persona,status,code",
    [
        ("other_agent", 403, "permission_denied"),
        ("foreign_handler", 403, "permission_denied"),
        ("outsider", 403, "permission_denied"),  # no role: refused before any case is read
    ],
)
def test_who_may_not_work_both_cases_may_not_merge(
    api, request, earlier, later, persona, status, code
):
    error(merge(api(request.getfixturevalue(persona)), later, earlier), status, code)
    assert nothing_merged()


def test_an_agent_who_may_not_work_the_other_case_may_not_merge_into_it(
    api, agent, other_agent, li_na
):
    theirs = receive_case(
        by=other_agent, customer=li_na, received_at=timezone.now() - timedelta(days=1)
    )
    mine = receive_case(by=agent, customer=li_na)

    refused = error(merge(api(agent), mine, theirs), 403, "permission_denied")

    assert refused["message"] == "You may merge only cases you may work on, both of them."
    assert nothing_merged()


def test_a_quality_manager_may_merge_any_two_cases(api, quality_manager, earlier, later):
    assert merge(api(quality_manager), later, earlier).status_code == 200


def test_anonymous_may_not_merge(api, earlier, later):
    error(merge(api(), later, earlier), 401, "not_authenticated")
    assert nothing_merged()
