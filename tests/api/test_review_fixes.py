"""Rules found by review: a retry that races past the stored-key check still replays, a
replayed new case's link works, too-large and too-old input gets the API's error, refusals of
an Idempotency-Key speak the caller's language."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from api import idempotency
from complaints.models import Case
from intake import tracking

from .conftest import V1, error

NEW_COMPLAINT = {
    "customer": {"name": "Li Na", "phone": "13800138000"},
    "channel": "phone",
    "category": "product_quality",
    "description": "The drum bangs on spin.",
    "desired_outcome": "A repair.",
}


def log(client, key="same-key", **changes):
    return client.post(
        f"{V1}/cases/", {**NEW_COMPLAINT, **changes}, format="json", HTTP_IDEMPOTENCY_KEY=key
    )


def test_a_retry_that_misses_the_first_answer_in_the_check_still_replays_it(
    api, agent, monkeypatch
):
    """Two retries: the second looks for the key before the first commits (its check finds
    nothing), and writes after. It must replay the first answer, never delete the key's fresh
    row and log the complaint again."""
    client = api(agent)
    first = log(client)
    monkeypatch.setattr(idempotency, "_stored", _misses_once(idempotency._stored))

    again = log(client)

    assert again.status_code == 201 and again["Idempotent-Replayed"] == "true"
    assert again.json()["reference"] == first.json()["reference"]
    assert Case.objects.count() == 1
    token = again.json()["tracking_url"].rsplit("/", 1)[1]
    assert tracking.case_for_token(token).reference == first.json()["reference"]


def _misses_once(stored):
    calls = []

    def check(user, key):
        calls.append(key)
        return None if len(calls) == 1 else stored(user, key)

    return check


def test_a_body_too_large_is_refused_in_the_api_format(api, agent, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    response = log(api(agent), description="x" * 5000)

    assert response.status_code in (400, 413)
    assert set(response.json()["error"]) == {"code", "message", "fields"}
    assert not Case.objects.exists()


def test_a_complaint_logged_through_the_api_arrived_at_most_30_days_ago(api, agent):
    old = (timezone.now() - timedelta(days=31)).isoformat()

    refused = error(log(api(agent), received_at=old), 400, "invalid")

    assert refused["fields"] == {
        "received_at": ["A complaint is logged within 30 days of its arrival."]
    }
    assert not Case.objects.exists()


@pytest.mark.parametrize(
    ("key", "code"), [("\u00e9t\u00e9", "invalid_idempotency_key"), ("other", None)]
)
def test_idempotency_refusals_speak_the_callers_language(api, agent, key, code):
    client = api(agent)
    log(client, key="other")
    response = client.post(
        f"{V1}/cases/",
        {**NEW_COMPLAINT, "description": "Another."},
        format="json",
        HTTP_IDEMPOTENCY_KEY=key,
        HTTP_ACCEPT_LANGUAGE="zh-hans",
    )
    body = response.json()["error"]
    assert body["code"] == (code or "idempotency_key_reused")
    assert "Idempotency-Key" in body["message"] and body["message"].isascii() is False
