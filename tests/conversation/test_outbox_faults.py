"""The outbox under faults, for real: a burst of 1,000 customer notices queued after commit to a
real Celery worker, while the broker (a Redis of the test's own, on its own port) is restarted
and the worker is SIGKILLed mid-burst (tests/conversation/bursts.py). Every notice must reach the
customer (0 lost), and a kill may send at most the one notice in flight twice."""

from __future__ import annotations

import json

import pytest

from ..databases import postgresql_only
from .bursts import MESSAGES, notice_burst

pytestmark = [
    pytest.mark.celery,
    pytest.mark.django_db(transaction=True),
    postgresql_only("a worker in another process reads the rows this test commits"),
]


def test_a_burst_survives_a_broker_restart_and_a_killed_worker_losing_nothing(
    tmp_path, agent, capsys
):
    counted = notice_burst(tmp_path, agent, faults=True)

    with capsys.disabled():
        shown = {k: len(v) if k == "lost" else v for k, v in counted.items() if k != "statuses"}
        print("\n  outbox under faults: " + json.dumps(shown))
    assert counted["notices"] == MESSAGES
    assert counted["statuses"] == {"sent"}
    assert counted["lost"] == []
    assert (counted["broker restarts"], counted["worker kills"]) == (1, 1)
    assert counted["sent twice"] <= counted["worker kills"]
