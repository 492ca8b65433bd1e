"""/api/v1/track/<token>/: the customer's tracking page as JSON, for a web shop's "my
complaints" page. Exactly what the page shows (``intake.tracking.tracking_view``), never an
internal note; one 404 for every link that does not work; the customer pages' request limit."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import translation
from rest_framework.test import APIClient

from complaints import customer_actions, services
from complaints.models import Step
from intake import tracking

from ..factories import CustomerFactory, walk
from .conftest import V1, error, png

T0 = datetime(2026, 11, 5, 10, 0, 5, tzinfo=UTC)  # five seconds into a minute
UNKNOWN_TOKEN = "A" * 43  # well-formed, opens nothing
INTERNAL = "Supplier batch 7 is rotten; do not tell the customer."


def track(token: str, client: APIClient | None = None, **extra):
    return (client or APIClient()).get(f"{V1}/track/{token}/", **extra)


def receive(agent, **overrides) -> services.Received:
    data = {
        "channel": "phone",
        "category": "product_quality",
        "urgency": "yellow",
        "description": "The drum is loud.",
        "desired_outcome": "A repair.",
        **overrides,
    }
    return services.case_receive(by=agent, customer=CustomerFactory(), **data)


def moment(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


def as_the_page_shows_it(case) -> dict:
    """``tracking_view``, the tracking page's own data, in the JSON's shape (times as datetimes)."""
    view = tracking.tracking_view(case=case)
    return {
        "reference": case.reference,
        "step": case.step,
        "step_label": str(view["step_label"]),
        "step_meaning": str(view["step_meaning"]),
        "steps": [{"code": s.code, "label": s.label, "state": s.state} for s in view["steps"]],
        "promised": view["promised"],
        "decision": view["decision"],
        "plan": view["plan"],
        "timeline": [
            {
                "at": e.at,
                "who": e.who,
                "what": e.what,
                "message": e.message,
                "files": [{"name": f.name, "size": f.size} for f in e.files],
            }
            for e in view["timeline"]
        ],
        "delayed": view["delayed"],
        "can_write": view["can_write"],
        "can_answer": view["can_answer"],
        "rated_waiting": view["rated_waiting"],
    }


def as_the_json_says_it(response) -> dict:
    assert response.status_code == 200, response.content[:300]
    body = response.json()
    body["promised"] = moment(body["promised"])
    for entry in body["timeline"]:
        entry["at"] = moment(entry["at"])
    return body


@pytest.fixture
def received(agent):
    return receive(agent)


@pytest.fixture
def at_confirm(agent, handler, after_sales, received):
    """A case at Confirm with a remedy decided, an internal note, a message to the customer
    with a photo, and a message from the customer."""
    case = received.case
    walk(case, to=Step.CONFIRM, by=agent, department=after_sales, person=handler)
    services.case_add_note(case=case, by=agent, body=INTERNAL)
    services.case_add_note(
        case=case,
        by=handler,
        body="The engineer comes Monday.",
        customer_visible=True,
        files=[png("visit.png")],
    )
    customer_actions.case_customer_message(case=case, body="Monday suits me.")
    return received


# ---------------------------------------------------------------- what it shows


def test_tracking_json_is_what_the_tracking_page_shows(at_confirm):
    response = track(at_confirm.tracking_token)

    assert as_the_json_says_it(response) == as_the_page_shows_it(at_confirm.case)


def test_tracking_json_shows_the_decision_plan_and_messages(at_confirm):
    body = track(at_confirm.tracking_token).json()

    assert body["step"] == "confirm"
    assert body["decision"] == ["Repair", "Apology"]
    assert body["plan"] == "Repair within two days."
    messages = [(e["message"], [f["name"] for f in e["files"]]) for e in body["timeline"]]
    assert ("The engineer comes Monday.", ["visit.png"]) in messages
    assert ("Monday suits me.", []) in messages


def test_tracking_json_never_shows_an_internal_note(at_confirm):
    response = track(at_confirm.tracking_token)

    assert response.status_code == 200
    assert b"Supplier batch 7" not in response.content


def test_tracking_json_names_staff_by_first_name_and_role_only(agent, at_confirm):
    response = track(at_confirm.tracking_token)

    who = {e["who"] for e in response.json()["timeline"]}
    assert f"{agent.first_name} (Agent)" in who
    assert agent.last_name.encode() not in response.content
    assert b'"agent"' not in response.content


def test_tracking_json_of_a_new_case_is_what_the_page_shows(received):
    response = track(received.tracking_token)

    assert as_the_json_says_it(response) == as_the_page_shows_it(received.case)


def test_tracking_json_is_in_the_customers_language(at_confirm):
    response = track(at_confirm.tracking_token, HTTP_ACCEPT_LANGUAGE="zh-hans")

    with translation.override("zh-hans"):
        expected = as_the_page_shows_it(at_confirm.case)
    assert as_the_json_says_it(response) == expected
    assert expected["step_label"] != "Your agreement"


def test_tracking_json_needs_no_account(received):
    assert track(received.tracking_token).status_code == 200


def test_tracking_json_is_not_cached_indexed_or_referred(received):
    response = track(received.tracking_token)

    assert response["Cache-Control"] == "no-store"
    assert response["Referrer-Policy"] == "no-referrer"
    assert response["X-Robots-Tag"] == "noindex"


def test_tracking_json_query_count_does_not_grow_with_the_timeline(
    agent, quality_manager, received
):
    case = received.case

    def count() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert track(received.tracking_token).status_code == 200
        return len(captured)

    services.case_add_note(case=case, by=agent, body="First.", customer_visible=True)
    few = count()
    for i in range(10):
        services.case_add_note(
            case=case,
            by=[agent, quality_manager][i % 2],
            body=f"News {i}.",
            customer_visible=True,
            files=[png(f"{i}.png")] if i % 2 else [],
        )
        customer_actions.case_customer_message(case=case, body=f"Thanks {i}.")

    assert count() == few


# ---------------------------------------------------------------- links that do not work


@pytest.fixture
def not_found(db):
    """What every link that opens nothing gets."""
    response = track(UNKNOWN_TOKEN)
    error(response, 404, "not_found")
    return response.content


def test_a_malformed_token_gets_the_same_404_as_an_unknown_one(not_found):
    for malformed in ("short", "A" * 44, "A" * 42 + "!", "%00" * 43):
        response = track(malformed)
        assert (response.status_code, response.content) == (404, not_found), malformed


def test_a_renewed_link_gets_the_same_404_as_an_unknown_one(agent, received, not_found):
    customer_actions.case_tracking_renew(case=received.case, by=agent)

    response = track(received.tracking_token)

    assert (response.status_code, response.content) == (404, not_found)


def test_an_expired_link_gets_the_same_404_as_an_unknown_one(
    agent, handler, after_sales, settings, not_found
):
    closing = datetime.now(UTC) - timedelta(days=settings.TRACKING_LINK_DAYS_AFTER_CLOSE + 1)
    with time_machine.travel(closing, tick=False):
        received = receive(agent)
        walk(received.case, to=Step.CLOSED, by=agent, department=after_sales, person=handler)

    response = track(received.tracking_token)

    assert (response.status_code, response.content) == (404, not_found)


def test_a_closed_case_is_shown_until_its_link_expires(agent, handler, after_sales, received):
    walk(received.case, to=Step.CLOSED, by=agent, department=after_sales, person=handler)

    body = track(received.tracking_token).json()

    assert (body["step"], body["can_write"]) == ("closed", False)


# ---------------------------------------------------------------- the request limit


@pytest.fixture
def limit_of_three(settings, time_machine):
    settings.TRACKING_API_RATE_LIMIT = 3
    time_machine.move_to(T0, tick=False)


def test_the_fourth_request_in_a_minute_from_one_address_is_refused(received, limit_of_three):
    client = APIClient(REMOTE_ADDR="203.0.113.7")
    for _ in range(3):
        assert track(received.tracking_token, client).status_code == 200

    response = track(received.tracking_token, client)

    error(response, 429, "throttled")
    assert response["Retry-After"] == "60"


def test_guessed_tokens_count_towards_the_limit(received, limit_of_three):
    client = APIClient(REMOTE_ADDR="203.0.113.7")
    for guess in ("short", UNKNOWN_TOKEN, "B" * 43):
        track(guess, client)

    error(track(received.tracking_token, client), 429, "throttled")


def test_the_json_has_its_own_limit_apart_from_the_tracking_page(
    received, limit_of_three, settings
):
    """A web shop's server asks for all its customers from one address: the page's limit, made
    for one person's browser, would refuse it; and the page keeps its own."""
    settings.CUSTOMER_RATE_LIMIT = 1
    client = APIClient(REMOTE_ADDR="203.0.113.7")
    client.get(f"/t/{UNKNOWN_TOKEN}")
    client.get(f"/t/{UNKNOWN_TOKEN}")

    assert track(received.tracking_token, client).status_code == 200
    assert client.get(f"/t/{UNKNOWN_TOKEN}").status_code == 429


def test_another_address_is_not_limited(received, limit_of_three):
    for _ in range(4):
        track(received.tracking_token, APIClient(REMOTE_ADDR="203.0.113.7"))

    assert track(received.tracking_token, APIClient(REMOTE_ADDR="198.51.100.2")).status_code == 200


def test_the_limit_lifts_after_the_minute(received, limit_of_three, time_machine):
    client = APIClient(REMOTE_ADDR="203.0.113.7")
    for _ in range(4):
        track(received.tracking_token, client)

    time_machine.move_to(T0 + timedelta(minutes=1), tick=False)

    assert track(received.tracking_token, client).status_code == 200
