"""A burst of customer notices through a real Celery worker, for the outbox's fault test (the
broker restarted, the worker SIGKILLed mid-burst: tests/conversation/test_outbox_faults.py) and
its latency benchmark (tests/bench/test_notice_latency_bench.py).

1,000 notices are written in their transactions and queued after commit to a worker on a Redis
of the test's own (its own port, never the shared one). They go by SMS to the file backend
(SMS_URL=file:///…): one file per message the provider would have been asked to send, so what
the customers received is counted from outside the system, not from the database that claims
it."""

from __future__ import annotations

import re
import statistics
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

from django.db import transaction

from complaints import services
from conversation.models import Notice, NoticeKind, NoticeTemplate
from escalation.models import ScheduledJob

from ..factories import CustomerFactory, receive_case
from ..workers import (
    kill_with_children,
    own_redis,
    publishing_to,
    require_postgresql_and_redis,
    start_worker,
    stop,
    wait_until,
)

CASES = 100
MESSAGES = 1000
RESTART_REDIS_AT = 300
KILL_WORKER_AT = 600
# A notice's SMS for this test names the message it carries (its text is otherwise the same
# for every message of a case): "<reference> m0042 <link>".
MARKED = re.compile(r"^(C\d{6}-\d{5}) (m\d{4}) ", re.MULTILINE)


def sent_files(directory: Path) -> Counter:
    """How many SMS the provider was asked to send for each message, from the files."""
    counts: Counter = Counter()
    for path in directory.glob("*.txt"):
        match = MARKED.search(path.read_text(encoding="utf-8"))
        if match:
            counts[match.group(2)] += 1
    return counts


def notice_burst(tmp_path: Path, agent, *, faults: bool, pool: str = "solo") -> dict:
    """Write the burst with the worker running (restarting the broker after RESTART_REDIS_AT
    notices and SIGKILLing the worker after KILL_WORKER_AT, with ``faults``), wait until every
    notice is sent, and count: notices, lost (no SMS sent), sent twice, latency from the
    notice's commit to its send (p50, p95, in seconds)."""
    require_postgresql_and_redis()
    sms_dir, var_dir, log = tmp_path / "sms", tmp_path / "var", tmp_path / "worker.log"
    # The message notice's SMS names the message, so that each send is counted as its own.
    NoticeTemplate.objects.update_or_create(
        kind=NoticeKind.MESSAGE,
        channel="sms",
        language="en",
        defaults={"body": "{reference} {message} {link}", "subject": ""},
    )
    # The outbox job (beat, in the worker) every two seconds: it sends what no task did.
    ScheduledJob.objects.update_or_create(
        name="conversation-outbox",
        defaults={"task": "conversation.outbox", "every": timedelta(seconds=2), "enabled": True},
    )
    cases = [
        receive_case(by=agent, customer=CustomerFactory(email="", language="en"))
        for _ in range(CASES)
    ]
    env = {"SMS_URL": f"file://{sms_dir}"}
    kills = restarts = 0

    with own_redis(tmp_path) as redis_server, publishing_to(redis_server.url):
        worker = start_worker(var_dir, log, redis_url=redis_server.url, beat=True, pool=pool, **env)
        try:
            wait_until("the worker is ready", lambda: " ready." in log.read_text(), worker, log)
            for i in range(MESSAGES):
                if faults and i == RESTART_REDIS_AT:
                    redis_server.stop()  # queued after commit: the publish fails, the row waits
                    time.sleep(1)
                    redis_server.start()
                    restarts += 1
                if faults and i == KILL_WORKER_AT:
                    kill_with_children(worker)  # mid-send: no warm shutdown
                    kills += 1
                    worker = start_worker(
                        var_dir, log, redis_url=redis_server.url, beat=True, pool=pool, **env
                    )
                with transaction.atomic():
                    services.case_add_note(
                        case=cases[i % CASES], by=agent, body=f"m{i:04d}", customer_visible=True
                    )

            def all_sent() -> bool:
                return not Notice.objects.filter(status=Notice.Status.PENDING).exists()

            wait_until("every notice sent", all_sent, worker, log, timeout=300)
        finally:
            stop(worker, log)

    counts = sent_files(sms_dir)
    messages = Notice.objects.filter(kind=NoticeKind.MESSAGE)
    latency = sorted(
        (notice.sent_at - notice.created_at).total_seconds()
        for notice in messages.only("sent_at", "created_at")
    )
    return {
        "notices": messages.count(),
        "statuses": set(messages.values_list("status", flat=True)),
        "broker restarts": restarts,
        "worker kills": kills,
        "lost": [f"m{i:04d}" for i in range(MESSAGES) if counts[f"m{i:04d}"] == 0],
        "sent twice": sum(n - 1 for n in counts.values() if n > 1),
        "latency p50 s": round(statistics.median(latency), 3),
        "latency p95 s": round(latency[int(len(latency) * 0.95)], 3),
    }
