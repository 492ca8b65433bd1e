"""Redis away, for real (a Redis of the test's own on its own port, stopped and started again):
the API and the customer's pages go on answering, their limits go on counting in the process
(config/cache.py), and the shared counting comes back with Redis. The acknowledgements wait in
the outbox (tests/conversation/test_outbox_faults.py sends them once the broker returns)."""

from __future__ import annotations

import time

import pytest
import redis

from complaints.models import Case
from config import cache as resilient
from conversation.models import Notice, NoticeKind

from .api.test_cases import NEW_COMPLAINT
from .factories import receive
from .intake.test_public_form import complaint
from .workers import own_redis

pytestmark = pytest.mark.django_db

V1 = "/api/v1"


@pytest.fixture
def cache_redis(tmp_path, settings, monkeypatch):
    """The cache on a Redis of this test's own (stopped and started by the test). A failed Redis
    is tried again after a minute here, so that a slow machine cannot see it "back" before the
    test looks; the tests of its return shorten that."""
    with own_redis(tmp_path) as server:
        settings.CACHES = {
            "default": {
                "BACKEND": "config.cache.ResilientRedisCache",
                "LOCATION": server.url,
                "KEY_PREFIX": "outage",
                "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
            }
        }
        monkeypatch.setattr(resilient, "RETRY_SECONDS", 60.0)
        monkeypatch.setattr(resilient, "_down_until", 0.0)
        yield server
        resilient._down_until = 0.0


def redis_keys(server) -> list[bytes]:
    return redis.Redis.from_url(server.url).keys("outage:*")


def test_with_redis_stopped_intake_tracking_and_the_api_answer_without_a_5xx(
    client, api, agent, cache_redis
):
    received = receive(by=agent)
    staff_api = api(agent)
    cache_redis.stop()

    answers = {
        "API intake": staff_api.post(f"{V1}/cases/", NEW_COMPLAINT, format="json"),
        "API case": staff_api.get(f"{V1}/cases/{received.case.reference}/"),
        "API list": staff_api.get(f"{V1}/cases/"),
        "tracking JSON": api().get(f"{V1}/track/{received.tracking_token}/"),
        "tracking link": client.get(f"/t/{received.tracking_token}"),
        "tracking page": client.get("/t/"),
        "public form": client.post("/complain/", complaint()),
    }

    statuses = {what: response.status_code for what, response in answers.items()}
    assert statuses == {
        "API intake": 201,
        "API case": 200,
        "API list": 200,
        "tracking JSON": 200,
        "tracking link": 303,
        "tracking page": 200,
        "public form": 303,
    }
    assert resilient.cache_state()["fallback"] is True
    # Both new cases are acknowledged through the outbox, whatever the cache and the broker do.
    assert Case.objects.count() == 3
    assert Notice.objects.filter(kind=NoticeKind.ACKNOWLEDGEMENT).count() == 3


def test_with_redis_stopped_the_customer_limit_still_counts_in_the_process(
    client, agent, cache_redis, settings
):
    settings.CUSTOMER_RATE_LIMIT = 3
    cache_redis.stop()

    statuses = [client.get("/t/nonexistent-token-000000000000000000000000000").status_code]
    statuses += [client.get("/t/nonexistent-token-000000000000000000000000000").status_code]
    statuses += [client.get("/t/nonexistent-token-000000000000000000000000000").status_code]
    over = client.get("/t/nonexistent-token-000000000000000000000000000")

    assert 500 not in statuses
    assert over.status_code == 429


def test_redis_back_counts_are_shared_again(client, agent, cache_redis, monkeypatch):
    monkeypatch.setattr(resilient, "RETRY_SECONDS", 0.2)
    failures = resilient.cache_state()["failures"]
    cache_redis.stop()
    assert client.post("/complain/", complaint()).status_code == 303
    assert resilient.cache_state()["failures"] > failures

    cache_redis.start()
    time.sleep(0.3)  # the process's retry interval (0.2 s here)
    client.post("/complain/", complaint())

    assert resilient.cache_state()["fallback"] is False
    assert any(b"ratelimit" in key for key in redis_keys(cache_redis))


def test_redis_stopped_mid_burst_loses_no_intake(api, agent, cache_redis, monkeypatch):
    monkeypatch.setattr(resilient, "RETRY_SECONDS", 0.2)
    staff_api = api(agent)
    statuses = []
    for n in range(30):
        if n == 10:
            cache_redis.stop()
        if n == 20:
            cache_redis.start()
            time.sleep(0.3)
        response = staff_api.post(
            f"{V1}/cases/", {**NEW_COMPLAINT, "order_number": f"SO-{n}"}, format="json"
        )
        statuses.append(response.status_code)

    assert statuses == [201] * 30
    assert Case.objects.count() == 30
    assert Notice.objects.filter(kind=NoticeKind.ACKNOWLEDGEMENT).count() == 30
