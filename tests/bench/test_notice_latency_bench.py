"""How soon a customer hears: the notices' latency from the commit that writes them to their
send, under a burst of 1,000 (tests/conversation/bursts.py: a real worker on a Redis of the
test's own, SMS to the file backend). ``make bench`` on PostgreSQL prints p50 and p95."""

from __future__ import annotations

import json

import pytest

from ..conversation.bursts import MESSAGES, notice_burst
from ..databases import postgresql_only

pytestmark = [
    pytest.mark.bench,
    pytest.mark.django_db(transaction=True),
    postgresql_only("a worker in another process reads the rows the bench commits"),
]


def test_notice_latency_under_a_burst_of_a_thousand(tmp_path, agent):
    # The worker as docker compose runs it: prefork, a process per core.
    counted = notice_burst(tmp_path, agent, faults=False, pool="prefork")

    shown = {k: len(v) if k == "lost" else v for k, v in counted.items() if k != "statuses"}
    print(f"\n  {MESSAGES} notices, commit to send: " + json.dumps(shown))
    assert counted["lost"] == [] and counted["sent twice"] == 0
