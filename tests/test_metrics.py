"""/metrics (config/metrics.py): who may read it, figures that are the database's own, the
request latency by view, a part that cannot be read reported down without failing the scrape,
and a scrape whose cost does not grow with the cases. Several web processes adding up their
figures (PROMETHEUS_MULTIPROC_DIR, config/gunicorn.py) is checked by CI on real gunicorn
workers (.ci/run)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
import time_machine
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from complaints.models import Step
from conversation.models import Notice
from escalation.models import Deadline, Escalation
from escalation.tasks import sweep_deadlines

from .factories import receive, receive_case, walk
from .outages import broker_unreachable
from .workers import database_url, free_port

pytestmark = pytest.mark.django_db


def scrape(client, **headers) -> dict[tuple[str, tuple], float]:
    """The samples of one scrape from the machine itself: {(name, sorted labels): value}."""
    response = client.get("/metrics", REMOTE_ADDR="127.0.0.1", **headers)
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/plain; version=")
    assert "no-cache" in response["Cache-Control"]
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.content.decode())
        for sample in family.samples
    }


def test_the_private_network_and_the_token_holder_read_it_and_no_one_else(client, settings):
    settings.DEBUG = False
    settings.TRUSTED_PROXY_HOPS = 0
    settings.METRICS_TOKEN = "a-long-random-token"

    def status(address: str, **headers) -> int:
        return client.get("/metrics", REMOTE_ADDR=address, **headers).status_code

    assert status("127.0.0.1") == 200
    assert status("10.0.0.7") == 200  # Prometheus beside Heed, on the private network
    assert status("8.8.8.8") == 403
    assert status("8.8.8.8", HTTP_AUTHORIZATION="Bearer a-long-random-token") == 200
    assert status("8.8.8.8", HTTP_AUTHORIZATION="Bearer a-long-random-toke") == 403
    assert status("8.8.8.8", HTTP_AUTHORIZATION="Basic a-long-random-token") == 403
    settings.METRICS_TOKEN = ""
    assert status("8.8.8.8", HTTP_AUTHORIZATION="Bearer ") == 403  # no token set: none matches


def test_the_figures_are_the_database_s(client, agent, after_sales, handler):
    first = receive_case(by=agent)
    receive(by=agent)
    walk(first, to=Step.LISTEN, by=agent, department=after_sales, person=handler)

    samples = scrape(client)

    def value(name: str, **labels) -> float:
        return samples[(name, tuple(sorted(labels.items())))]

    assert value("heed_cases", step="receive") == 1
    assert value("heed_cases", step="listen") == 1
    assert value("heed_cases", step="closed") == 0
    unmet = Deadline.objects.filter(met_at__isnull=True, superseded_at__isnull=True)
    assert value("heed_deadlines_open") == unmet.count() > 0
    assert value("heed_deadlines_overdue") == 0
    assert (
        value("heed_outbox_waiting", outbox="customer")
        == Notice.objects.filter(status=Notice.Status.PENDING).count()
        > 0
    )  # the acknowledgements (no worker here)
    assert value("heed_escalations_total", reason="overdue") == 0
    assert value("heed_webhook_deliveries_failed_total") == 0
    assert value("heed_cache_fallback") == 0
    assert {
        source
        for (name, labels), up in samples.items()
        if name == "heed_scrape_source_up"
        for _key, source in labels
        if up == 1
    } == {"cases", "deadlines", "escalations", "jobs", "outboxes", "webhooks", "broker", "cache"}

    # Three days on, unattended: overdue, escalated by the sweep, which records its run.
    with time_machine.travel(timezone.now() + timedelta(days=3, hours=1)):
        assert sweep_deadlines.apply().successful()
        later = scrape(client)

    def later_value(name: str, **labels) -> float:
        return later[(name, tuple(sorted(labels.items())))]

    assert later_value("heed_deadlines_overdue") > 0
    assert (
        later_value("heed_escalations_total", reason="overdue")
        == Escalation.objects.filter(reason=Escalation.Reason.OVERDUE).count()
        > 0
    )
    assert later_value("heed_job_last_succeeded", task="escalation.sweep") == 1
    assert later_value("heed_job_last_duration_seconds", task="escalation.sweep") >= 0
    assert later_value("heed_outbox_oldest_due_seconds", outbox="customer") > 3 * 86400


def test_each_view_s_answers_are_timed_and_counted(client, agent):
    def healthz_count(samples) -> float:
        key = ("heed_http_request_duration_seconds_count", (("method", "GET"), ("view", "healthz")))
        return samples.get(key, 0)

    before = scrape(client)
    client.get("/healthz")
    client.get("/healthz")
    client.get(f"/cases/{'NOPE'}/")  # a page that needs a login: a redirect, counted as 3xx
    after = scrape(client)

    assert healthz_count(after) - healthz_count(before) == 2
    answered = after[
        ("heed_http_responses_total", (("method", "GET"), ("status", "2xx"), ("view", "healthz")))
    ]
    assert answered >= 2
    assert any(
        name == "heed_http_responses_total" and ("status", "3xx") in labels
        for name, labels in after
    )
    # One series per view, never per path: no case reference appears in a label.
    assert not any("NOPE" in str(labels) for _name, labels in after)


def test_a_part_that_cannot_be_read_is_reported_down_and_the_scrape_still_answers(client, agent):
    receive(by=agent)

    with broker_unreachable():
        samples = scrape(client)

    assert samples[("heed_scrape_source_up", (("source", "broker"),))] == 0
    assert not any(name == "heed_celery_queue_length" for name, _labels in samples)
    assert samples[("heed_scrape_source_up", (("source", "cases"),))] == 1
    assert samples[("heed_cases", (("step", "receive"),))] == 1


def test_a_scrape_costs_the_same_few_queries_whatever_the_cases(client, agent):
    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            scrape(client)
        return len(captured)

    receive(by=agent)
    one = queries()
    for _ in range(4):
        receive(by=agent)
    five = queries()

    assert one == five <= 8


def test_gunicorn_s_workers_add_up_their_figures(tmp_path):
    """compose's web: gunicorn with config.gunicorn and PROMETHEUS_MULTIPROC_DIR, two workers.
    Requests spread over both are counted once each, whichever worker answers the scrape; the
    folder is emptied at start, so a previous run's figures are not added in."""
    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir()
    (metrics_dir / "counter_999999.db").write_bytes(b"stale: from a previous run")
    port = free_port()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DEBUG": "true",
        "DATABASE_URL": database_url(),
        "REDIS_URL": "",
        "HEED_VAR_DIR": str(tmp_path / "var"),
        "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
        "PORT": str(port),
        "WEB_CONCURRENCY": "2",
    }
    log = tmp_path / "gunicorn.log"
    with log.open("w") as output:
        server = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", "python:config.gunicorn", "config.wsgi"],
            cwd=settings.BASE_DIR,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"

    def get(path: str) -> str:
        with urllib.request.urlopen(base + path, timeout=10) as response:  # noqa: S310 (local)
            return response.read().decode()

    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                get("/healthz")
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"gunicorn did not start:\n{log.read_text()[-3000:]}")
                time.sleep(0.3)
        # At once, so both workers answer some; again while only one has (the other may still
        # be starting, or the machine busy), up to ten times.
        sent = 0
        with ThreadPoolExecutor(max_workers=8) as pool:
            while sent < 400 and (sent == 0 or len(list(metrics_dir.glob("histogram_*.db"))) < 2):
                list(pool.map(get, ["/healthz"] * 40))
                sent += 40
        scrapes = [get("/metrics") for _ in range(4)]
    finally:
        server.terminate()
        server.wait(30)

    def healthz_count(text: str) -> float:
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                if sample.name == "heed_http_request_duration_seconds_count" and sample.labels == {
                    "view": "healthz",
                    "method": "GET",
                }:
                    return sample.value
        return 0

    # The ones sent and the first that found gunicorn up (failed tries never reached Django).
    assert [healthz_count(text) for text in scrapes] == [sent + 1.0] * 4
    assert len(list(metrics_dir.glob("histogram_*.db"))) == 2  # both workers answered some
    assert not (metrics_dir / "counter_999999.db").exists()
