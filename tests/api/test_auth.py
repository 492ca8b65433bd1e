"""Signing in to the API: a token for a username and password (only its digest kept), sent as
``Bearer``, revoked by its user; what a bad, revoked or orphaned token gets; a user without a
role; the browser's session (with its CSRF check) as the other way in; the sign-in limit."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import time_machine
from rest_framework.test import APIClient

from api.models import ApiToken, token_digest
from api.tokens import api_token_issue, api_token_revoke
from api.views.public import SIGN_IN_LIMIT
from complaints.models import Step

from .conftest import V1, case_url, error, read

TOKEN = f"{V1}/auth/token/"
CASES = f"{V1}/cases/"
PASSWORD = "pw-for-tests"  # tests/factories.py
T0 = datetime(2026, 11, 5, 10, 0, 5, tzinfo=UTC)  # five seconds into a minute


def sign_in(client: APIClient, username: str, password: str = PASSWORD, **extra):
    return client.post(TOKEN, {"username": username, "password": password, **extra}, format="json")


def bearer(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


# ---------------------------------------------------------------- signing in


def test_staff_sign_in_for_a_token_that_opens_the_api(agent, case):
    response = sign_in(APIClient(), "agent", name="CRM")

    assert response.status_code == 201
    assert response.json()["name"] == "CRM"
    assert bearer(response.json()["token"]).get(CASES).status_code == 200


def test_only_the_tokens_digest_is_kept(agent):
    token = sign_in(APIClient(), "agent", name="CRM").json()["token"]

    row = ApiToken.objects.get(user=agent)
    assert row.digest == token_digest(token) != token
    assert (row.name, row.prefix) == ("CRM", token[:12])


def test_the_token_is_not_cached_on_the_way(agent):
    assert sign_in(APIClient(), "agent")["Cache-Control"] == "no-store"


@pytest.mark.parametrize(
    ("username", "password"), [("agent", "wrong"), ("nobody", PASSWORD)], ids=["password", "user"]
)
def test_a_wrong_username_or_password_gets_no_token(agent, username, password):
    response = sign_in(APIClient(), username, password)

    assert error(response, 401, "authentication_failed")["message"] == (
        "The username or password is not right."
    )
    assert not ApiToken.objects.exists()


def test_a_deactivated_user_gets_no_token(agent):
    agent.is_active = False
    agent.save()

    error(sign_in(APIClient(), "agent"), 401, "authentication_failed")
    assert not ApiToken.objects.exists()


def test_a_user_without_a_role_gets_no_token(outsider):
    response = sign_in(APIClient(), "outsider")

    assert (
        error(response, 403, "permission_denied")["message"] == "This account has no role in Heed."
    )
    assert not ApiToken.objects.exists()


def test_signing_in_without_a_password_is_refused_naming_the_field(agent):
    response = APIClient().post(TOKEN, {"username": "agent"}, format="json")

    assert list(error(response, 400, "invalid")["fields"]) == ["password"]


# ---------------------------------------------------------------- the sign-in limit


@pytest.fixture
def one_minute():
    with time_machine.travel(T0, tick=False):
        yield


def test_signing_in_too_often_from_one_address_is_refused_for_a_minute(agent, one_minute):
    client = APIClient(REMOTE_ADDR="203.0.113.7")
    for _ in range(SIGN_IN_LIMIT):
        sign_in(client, "agent", "guess")

    response = sign_in(client, "agent")

    error(response, 429, "throttled")
    assert response["Retry-After"] == "60"
    assert not ApiToken.objects.exists()


def test_another_address_may_still_sign_in(agent, one_minute):
    for _ in range(SIGN_IN_LIMIT + 1):
        sign_in(APIClient(REMOTE_ADDR="203.0.113.7"), "agent", "guess")

    assert sign_in(APIClient(REMOTE_ADDR="198.51.100.2"), "agent").status_code == 201


def test_the_sign_in_limit_lifts_after_the_minute(agent, one_minute, time_machine):
    client = APIClient(REMOTE_ADDR="203.0.113.7")
    for _ in range(SIGN_IN_LIMIT + 1):
        sign_in(client, "agent", "guess")

    time_machine.move_to(datetime(2026, 11, 5, 10, 1, 5, tzinfo=UTC), tick=False)

    assert sign_in(client, "agent").status_code == 201


# ---------------------------------------------------------------- using and revoking a token


def test_a_token_may_also_be_sent_after_the_word_token(agent, case):
    _row, token = api_token_issue(user=agent)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")

    assert client.get(CASES).status_code == 200


def test_using_a_token_records_when(agent, case):
    row, token = api_token_issue(user=agent)

    bearer(token).get(CASES)

    row.refresh_from_db()
    assert row.last_used_at is not None


def test_a_token_acts_with_its_users_rights(handler, case):
    _row, token = api_token_issue(user=handler)

    response = bearer(token).post(
        case_url(case, "transition"), {"to": "listen"}, format="json", **read(case)
    )

    error(response, 403, "permission_denied")


def test_revoking_the_token_stops_it(agent, case):
    row, token = api_token_issue(user=agent)
    client = bearer(token)

    response = client.delete(TOKEN)

    assert response.status_code == 204
    row.refresh_from_db()
    assert row.revoked_at is not None
    error(client.get(CASES), 401, "authentication_failed")


def test_revoking_one_token_leaves_the_users_others_working(agent, case):
    _row, first = api_token_issue(user=agent)
    _row, second = api_token_issue(user=agent)

    bearer(first).delete(TOKEN)

    assert bearer(second).get(CASES).status_code == 200


def test_revoking_without_a_token_is_refused(db):
    error(APIClient().delete(TOKEN), 401, "not_authenticated")


@pytest.mark.parametrize(
    "header",
    [
        "Bearer heed_not-a-token-we-made",
        "Bearer",
        "Bearer two words",
        "Bearer caf\u00e9",
    ],
    ids=["unknown", "no-token", "two-words", "not-ascii"],
)
def test_a_bad_token_is_refused(agent, case, header):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=header)

    response = client.get(CASES)

    error(response, 401, "authentication_failed")
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'


def test_a_token_revoked_in_the_admin_is_refused(agent, case):
    row, token = api_token_issue(user=agent)
    api_token_revoke(token=row)

    error(bearer(token).get(CASES), 401, "authentication_failed")


def test_a_deactivated_users_token_is_refused(agent, case):
    _row, token = api_token_issue(user=agent)
    agent.is_active = False
    agent.save()

    error(bearer(token).get(CASES), 401, "authentication_failed")


def test_a_token_of_a_user_without_a_role_opens_nothing(outsider, case):
    _row, token = api_token_issue(user=outsider)

    error(bearer(token).get(CASES), 403, "permission_denied")
    error(bearer(token).get(case_url(case)), 403, "permission_denied")


def test_a_token_stops_opening_the_api_when_its_users_role_is_taken_away(agent, case):
    _row, token = api_token_issue(user=agent)
    agent.groups.clear()

    error(bearer(token).get(CASES), 403, "permission_denied")


# ---------------------------------------------------------------- the browser's session


@pytest.fixture
def session(agent) -> APIClient:
    """A browser signed in to the pages, as the API's session authentication sees it."""
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(agent)
    return client


def test_a_signed_in_browser_reads_the_api(session, case):
    assert session.get(CASES).status_code == 200


def test_a_browsers_write_without_the_csrf_token_is_refused(session, case):
    response = session.post(
        case_url(case, "transition"), {"to": "listen"}, format="json", **read(case)
    )

    assert "CSRF" in error(response, 403, "permission_denied")["message"]
    case.refresh_from_db()
    assert case.step == Step.RECEIVE


def test_a_browsers_write_with_the_csrf_token_goes_through(session, case):
    secret = "k" * 32
    session.cookies["csrftoken"] = secret

    response = session.post(
        case_url(case, "transition"),
        {"to": "listen"},
        format="json",
        HTTP_X_CSRFTOKEN=secret,
        **read(case),
    )

    assert response.status_code == 200
    case.refresh_from_db()
    assert case.step == Step.LISTEN


def test_a_session_cannot_revoke_tokens(session):
    error(session.delete(TOKEN), 401, "not_authenticated")
