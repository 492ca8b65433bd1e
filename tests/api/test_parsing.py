"""A JSON body nested absurdly deep is a 400 in the API's error format, never a 500 (issue 16):
Python's decoder gave up with a RecursionError that DRF did not catch, even before sign-in."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from api.parsers import MAX_DEPTH

pytestmark = pytest.mark.django_db


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 2_000, 100_000])
def test_a_body_nested_too_deep_is_refused_before_sign_in(depth):
    response = APIClient().post(
        "/api/v1/auth/token/", nested(depth), content_type="application/json"
    )
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "parse_error"
    assert f"deeper than {MAX_DEPTH} levels" in error["message"]


def test_a_body_nested_too_deep_is_refused_for_a_signed_in_client(api, agent):
    body = '{"description": ' + nested(2_000) + "}"
    response = api(agent).post("/api/v1/cases/", body, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "parse_error"


def test_a_body_within_the_bound_is_read_as_before(api, agent):
    body = '{"channel": "phone", "extra": ' + nested(MAX_DEPTH - 1) + "}"
    response = api(agent).post("/api/v1/cases/", body, content_type="application/json")
    assert response.status_code == 400  # refused for its missing fields, not for its shape
    assert response.json()["error"]["code"] == "invalid"
