"""A request's id (config/request_id.py): answered in X-Request-ID (the proxy's own if it
sent a sound one), on every log line of the request, carried in the headers of the tasks it
queues and on the worker's log lines of those tasks — a real worker, on a Redis of the test's
own. Production logs are JSON lines with it (config/logs.py)."""

from __future__ import annotations

import json
import logging
import re

import pytest
from django.urls import reverse

from config.logs import RequestIdFilter
from config.request_id import NONE, _publish, current

from .databases import postgresql_only
from .workers import own_redis, publishing_to, start_worker, stop, wait_until

SWEPT = re.compile(r"Task escalation\.sweep\[[^\]]+\] succeeded")


class Kept(logging.Handler):
    """The records a logger emitted, through the console's request-id filter."""

    def __init__(self):
        super().__init__()
        self.addFilter(RequestIdFilter())
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def kept():
    handler = Kept()
    logger = logging.getLogger("django.request")
    logger.addHandler(handler)
    yield handler
    logger.removeHandler(handler)


@pytest.mark.django_db
def test_each_answer_says_its_request_id(client):
    made = client.get("/complain/")
    given = client.get("/complain/", HTTP_X_REQUEST_ID="lb-7f3a.42")
    forged = client.get("/complain/", HTTP_X_REQUEST_ID="<script>" + "x" * 80)

    assert re.fullmatch(r"[0-9a-f]{32}", made["X-Request-ID"])
    assert given["X-Request-ID"] == "lb-7f3a.42"
    assert re.fullmatch(r"[0-9a-f]{32}", forged["X-Request-ID"])
    assert current.get() == NONE  # nothing left behind after the request


@pytest.mark.django_db
def test_the_request_s_log_lines_carry_its_id(client, agent, kept):
    client.force_login(agent)

    refused = client.get(reverse("complaints:follow_up_reviews"), HTTP_X_REQUEST_ID="trace-403")

    assert refused.status_code == 403
    [record] = [r for r in kept.records if r.getMessage().startswith("Forbidden")]
    assert record.request_id == "trace-403"


def test_a_task_queued_in_a_request_carries_its_id():
    headers: dict = {}
    token = current.set("trace-queue")
    try:
        _publish(headers=headers)
    finally:
        current.reset(token)
    outside: dict = {}
    _publish(headers=outside)

    assert headers == {"request_id": "trace-queue"}
    assert outside == {}


def test_production_log_lines_are_json_with_the_request_id():
    from django.conf import settings
    from pythonjsonlogger.json import JsonFormatter

    config = settings.LOGGING["formatters"]["json"]
    formatter = JsonFormatter(config["fmt"], rename_fields=config["rename_fields"])
    record = logging.getLogger("heed").makeRecord(
        "heed", logging.WARNING, __file__, 1, "Case %s escalated", ("C202612-00001",), None
    )
    token = current.set("trace-json")
    try:
        RequestIdFilter().filter(record)
    finally:
        current.reset(token)

    line = json.loads(formatter.format(record))

    assert line["message"] == "Case C202612-00001 escalated"
    assert (line["level"], line["logger"], line["request_id"]) == ("WARNING", "heed", "trace-json")
    assert "time" in line


@postgresql_only("a worker in another process")
@pytest.mark.django_db(transaction=True)
def test_the_worker_logs_the_task_with_the_id_of_the_request_that_queued_it(tmp_path):
    from escalation.tasks import sweep_deadlines

    with own_redis(tmp_path) as redis_server:
        log = tmp_path / "worker.log"
        worker = start_worker(tmp_path / "var", log, redis_url=redis_server.url, beat=False)
        try:
            with publishing_to(redis_server.url):
                token = current.set("trace-to-worker")
                try:
                    sweep_deadlines.delay()
                finally:
                    current.reset(token)
                wait_until(
                    "the worker ran the sweep",
                    lambda: re.search(
                        r"Task escalation\.sweep\[[^\]]+\] succeeded", log.read_text()
                    ),
                    worker,
                    log,
                )
        finally:
            stop(worker, log)

    [line] = [line for line in log.read_text().splitlines() if SWEPT.search(line)]
    assert "[trace-to-worker]" in line
