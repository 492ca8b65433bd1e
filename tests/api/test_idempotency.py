"""``Idempotency-Key`` on the POSTs that must not happen twice (a new case, a transition): a
retry with the same key and body gets the first response back and nothing is done again; the
same key with another request is refused; a refused request keeps nothing; keys are per user
and kept ``IDEMPOTENCY_KEY_HOURS``; two retries at once still do the work once."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth.models import Group
from rest_framework.test import APIClient

from api.idempotency import idempotency_keys_purge
from api.models import IdempotencyKey
from api.tokens import api_token_issue
from complaints import services
from complaints.models import Case, CaseEvent, Step, User
from complaints.roles import Role
from intake import tracking

from ..databases import postgresql_only
from ..factories import staff
from ..threads import run_together
from .conftest import V1, case_url, error

CASES = f"{V1}/cases/"
KEY = "7d1c7b1e-6a35-4bd1-9f0e-1f8c9d4e2a10"
T0 = datetime(2026, 11, 5, 10, 0, tzinfo=UTC)
NEW_COMPLAINT = {
    "customer": {"name": "Li Na", "phone": "13800138000"},
    "channel": "phone",
    "category": "product_quality",
    "description": "The drum bangs on spin.",
    "desired_outcome": "A repair.",
}


def log(client, key: str = KEY, **changes):
    return client.post(CASES, {**NEW_COMPLAINT, **changes}, format="json", HTTP_IDEMPOTENCY_KEY=key)


def move(client, case, to: str = "listen", key: str = KEY, version: int | None = None, **data):
    """A transition as the client sends it: with the version it read (by default the case's
    current one; a retry sends the same as the first try)."""
    if version is None:
        version = Case.objects.values_list("version", flat=True).get(pk=case.pk)
    return client.post(
        case_url(case, "transition"),
        {"to": to, "version": version, **data},
        format="json",
        HTTP_IDEMPOTENCY_KEY=key,
    )


# ---------------------------------------------------------------- a retry


def test_a_retried_new_complaint_gets_the_first_response_back(api, agent):
    client = api(agent)
    first = log(client)

    again = log(client)

    def without_link(body):
        return {k: v for k, v in body.items() if k != "tracking_url"}

    assert again.status_code == 201
    assert without_link(again.json()) == without_link(first.json())
    assert again["Idempotent-Replayed"] == "true"
    assert not first.has_header("Idempotent-Replayed")


def test_a_retried_new_complaint_gets_a_working_tracking_link_never_kept_in_plain(api, agent):
    """The first response's link is not stored with the key (only digests of links are kept
    anywhere): the retry gets a new link to the same case, and the first one still works."""
    client = api(agent)
    first = log(client).json()["tracking_url"]

    again = log(client).json()["tracking_url"]

    assert again != first
    row = IdempotencyKey.objects.get()
    assert first not in json.dumps(row.response) and "tracking_url" not in row.response
    reference = Case.objects.get().reference
    for link in (first, again):
        token = link.rsplit("/", 1)[1]
        assert tracking.case_for_token(token).reference == reference


def test_a_retried_new_complaint_says_where_the_case_is_as_the_first_response_did(api, agent):
    client = api(agent)
    first = log(client)

    again = log(client)

    assert again["Location"] == first["Location"] == first.json()["url"]
    assert again["ETag"] == first["ETag"] == '"1"'


def test_a_retried_new_complaint_logs_one_case(api, agent):
    client = api(agent)
    log(client)

    log(client)

    assert Case.objects.count() == 1


def test_a_retried_transition_gets_the_first_response_back(api, agent, case):
    client = api(agent)
    first = move(client, case, version=1)

    again = move(client, case, version=1)

    assert (again.status_code, again.json()) == (200, first.json())
    assert again["Idempotent-Replayed"] == "true"


def test_a_retried_transition_answers_with_the_etag_of_the_first_response(api, agent, case):
    client = api(agent)
    move(client, case, version=1)
    case.refresh_from_db()
    services.case_update(case=case, by=agent, data={"customer_account": "Changed since."})

    again = move(client, case, version=1)

    assert again["ETag"] == '"2"'
    assert again.json()["version"] == 2


def test_a_retried_transition_moves_the_case_once(api, agent, case):
    client = api(agent)
    move(client, case, version=1)

    move(client, case, version=1)

    case.refresh_from_db()
    assert (case.step, case.version) == (Step.LISTEN, 2)
    assert case.events.filter(kind=CaseEvent.Kind.STEP).count() == 1


def test_without_a_key_the_same_request_twice_logs_two_cases(api, agent):
    client = api(agent)

    client.post(CASES, NEW_COMPLAINT, format="json")
    client.post(CASES, NEW_COMPLAINT, format="json")

    assert Case.objects.count() == 2


def test_the_response_is_kept_with_the_key(api, agent):
    reference = log(api(agent)).json()["reference"]

    row = IdempotencyKey.objects.get()
    assert (row.user, row.key, row.status_code) == (agent, KEY, 201)
    assert row.response["reference"] == reference


# ---------------------------------------------------------------- the same key, another request


def test_the_same_key_with_another_body_is_refused(api, agent):
    client = api(agent)
    log(client)

    response = log(client, description="Another complaint.")

    error(response, 422, "idempotency_key_reused")
    assert Case.objects.count() == 1


def test_the_same_key_for_another_address_is_refused(api, agent, case):
    client = api(agent)
    log(client)

    error(move(client, case), 422, "idempotency_key_reused")
    case.refresh_from_db()
    assert case.step == Step.RECEIVE


# ---------------------------------------------------------------- a refused request keeps nothing


def test_a_refused_transition_keeps_nothing(api, agent, case):
    services.case_transition(case=case, to=Step.LISTEN, by=agent)

    error(move(api(agent), case, to="analyse"), 409, "refused")

    assert not IdempotencyKey.objects.exists()


def test_after_a_refused_transition_the_key_may_be_used_again(api, agent, case):
    services.case_transition(case=case, to=Step.LISTEN, by=agent)
    client = api(agent)
    move(client, case, to="analyse")

    response = move(
        client, case, to="analyse", customer_account="Loud drum.", understanding_confirmed=True
    )

    assert response.status_code == 200
    assert not response.has_header("Idempotent-Replayed")
    case.refresh_from_db()
    assert case.step == Step.ANALYSE


def test_an_invalid_new_complaint_keeps_nothing_and_the_key_may_be_used_again(api, agent):
    client = api(agent)
    error(log(client, channel="pigeon"), 400, "invalid")

    response = log(client)

    assert response.status_code == 201
    assert Case.objects.count() == 1


def test_a_conflict_keeps_nothing(api, agent, case):
    error(move(api(agent), case, version=5), 409, "conflict")

    assert not IdempotencyKey.objects.exists()


def test_a_request_refused_its_permission_keeps_nothing(api, foreign_handler, case):
    error(move(api(foreign_handler), case), 403, "permission_denied")

    assert not IdempotencyKey.objects.exists()


# ---------------------------------------------------------------- keys are per user


def test_a_user_no_longer_allowed_to_log_complaints_gets_no_replay(api, agent):
    """Issue 16: a user demoted from agent replayed their create and got a 201 with a new
    working tracking link."""
    client = api(agent)
    assert log(client).status_code == 201
    agent.groups.set([Group.objects.get(name=Role.HANDLER)])

    replay = log(api(User.objects.get(pk=agent.pk)))

    error(replay, 403, "permission_denied")
    assert "tracking_url" not in replay.content.decode()
    assert Case.objects.count() == 1


def test_a_user_no_longer_allowed_to_change_the_case_gets_no_replay(
    api, agent, handler, case, logistics
):
    services.case_assign(case=case, by=agent, person=handler)
    version = Case.objects.values_list("version", flat=True).get(pk=case.pk)
    assert move(api(handler), case, version=version).status_code == 200
    case.refresh_from_db()
    services.case_assign(case=case, by=agent, person=agent, department=logistics)

    replay = move(api(handler), case, version=version)

    error(replay, 403, "permission_denied")


def test_two_users_may_send_the_same_key(api, agent, other_agent):
    mine = log(api(agent))

    theirs = log(api(other_agent))

    assert theirs.status_code == 201
    assert theirs.json()["reference"] != mine.json()["reference"]
    assert not theirs.has_header("Idempotent-Replayed")
    assert Case.objects.count() == 2


def test_another_users_key_replays_nothing_of_theirs(api, agent, other_agent):
    log(api(agent))

    response = log(api(other_agent), description="Something else entirely.")

    assert response.status_code == 201


# ---------------------------------------------------------------- how long a key is kept


def test_a_key_still_replays_just_before_it_expires(api, agent, settings, time_machine):
    time_machine.move_to(T0, tick=False)
    client = api(agent)
    log(client)
    time_machine.move_to(T0 + timedelta(hours=settings.IDEMPOTENCY_KEY_HOURS, minutes=-1))

    response = log(client)

    assert response["Idempotent-Replayed"] == "true"
    assert Case.objects.count() == 1


def test_an_expired_key_may_be_used_for_a_new_request(api, agent, settings, time_machine):
    time_machine.move_to(T0, tick=False)
    client = api(agent)
    log(client)
    time_machine.move_to(T0 + timedelta(hours=settings.IDEMPOTENCY_KEY_HOURS, minutes=1))

    response = log(client, description="A new complaint, weeks later.")

    assert response.status_code == 201
    assert Case.objects.count() == 2
    assert IdempotencyKey.objects.get().response["reference"] == response.json()["reference"]


def test_purging_deletes_only_the_expired_keys(api, agent, settings, time_machine):
    client = api(agent)
    time_machine.move_to(T0, tick=False)
    log(client, key="old")
    time_machine.move_to(T0 + timedelta(hours=2), tick=False)
    log(client, key="recent", description="Another.")
    time_machine.move_to(T0 + timedelta(hours=settings.IDEMPOTENCY_KEY_HOURS, minutes=1))

    deleted = idempotency_keys_purge()

    assert deleted == 1
    assert list(IdempotencyKey.objects.values_list("key", flat=True)) == ["recent"]


# ---------------------------------------------------------------- what a key may be


@pytest.mark.parametrize(
    "key",
    ["", "k" * 256, "schlüssel", "tab\there", "nul\x00"],
    ids=["empty", "too-long", "not-ascii", "control-character", "nul"],
)
def test_a_key_that_is_not_1_to_255_printable_ascii_characters_is_refused(api, agent, key):
    error(log(api(agent), key=key), 400, "invalid_idempotency_key")
    assert not Case.objects.exists()


def test_a_key_of_255_characters_is_taken(api, agent):
    assert log(api(agent), key="k" * 255).status_code == 201


# ---------------------------------------------------------------- two retries at once


def concurrently(test):
    """Several connections at once: PostgreSQL only (SQLite serialises whole-database writes,
    so it cannot show two requests waiting on one unique index), data committed for real."""
    marks = [
        pytest.mark.pg,
        pytest.mark.concurrency,
        postgresql_only("two connections waiting on one unique index"),
        pytest.mark.django_db(transaction=True),
    ]
    for mark in marks:
        test = mark(test)
    return test


@pytest.fixture
def agent_token(transactional_db):
    _row, token = api_token_issue(user=staff(Role.AGENT, username="agent"))
    return token


def client_with(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


@concurrently
def test_two_retries_sent_at_once_log_one_case(agent_token):
    def send(i, barrier):
        client = client_with(agent_token)
        barrier.wait()
        response = log(client)
        return (
            response.status_code,
            response.json()["reference"],
            response.has_header("Idempotent-Replayed"),
        )

    results, errors = run_together(2, send)

    assert errors == []
    assert Case.objects.count() == 1
    assert {(status, reference) for status, reference, _replayed in results} == {
        (201, Case.objects.get().reference)
    }
    assert sorted(replayed for _s, _r, replayed in results) == [False, True]


@concurrently
def test_two_retries_of_a_transition_sent_at_once_move_the_case_once(agent_token):
    reference = log(client_with(agent_token), key="the-intake").json()["reference"]
    case = Case.objects.get(reference=reference)

    def send(i, barrier):
        client = client_with(agent_token)
        barrier.wait()
        response = move(client, case, key="the-move", version=1)
        return response.status_code, response.json()["step"]

    results, errors = run_together(2, send)

    assert errors == []
    assert results == [(200, "listen"), (200, "listen")]
    assert case.events.filter(kind=CaseEvent.Kind.STEP).count() == 1
