"""Prometheus metrics at ``/metrics``, with Prometheus' own client library (prometheus_client).

Two kinds:

- **Measured in the web processes**: how long each view takes to answer
  (``heed_http_request_duration_seconds``, by view name and method) and the answers by status
  class (``heed_http_responses_total``), through ``LatencyMiddleware``. Under gunicorn each
  worker process measures its own; with ``PROMETHEUS_MULTIPROC_DIR`` set (compose does, see
  ``config/gunicorn.py``) they write to files there and a scrape adds them up, whichever worker
  answers it.
- **Read from the database and the broker at each scrape** (``HeedCollector``): cases by step,
  open and overdue deadlines, escalations by reason, each periodic job's last run (the sweep's
  duration among them), the two outboxes (customer notices, staff emails: waiting and how long
  the most overdue one has been due), webhook deliveries pending and given up, and the Celery
  queue's length. These are facts the database keeps, so every process reports the same and
  none is lost with a restart. A part that cannot be read is reported as
  ``heed_scrape_source_up{source=…} 0`` (its figures left out), never as a failed scrape.

django-prometheus, the usual Django exporter, declares Django < 6.1 and cannot be installed
beside Heed's Django; its request metrics are the two above.

Who may read it: callers on this machine or a private network (Prometheus beside Heed), as for
``/readyz``'s details, and anyone presenting ``METRICS_TOKEN`` as a bearer token (a Prometheus
elsewhere: ``authorization: {credentials: …}`` in its scrape config). Others get 403."""

from __future__ import annotations

import hmac
import os
import time
from collections.abc import Callable, Iterator

from django.conf import settings
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

# Page and API answers take tens of milliseconds; the slow end is what an alert needs to see.
LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
_METHODS = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}

REQUEST_SECONDS = Histogram(
    "heed_http_request_duration_seconds",
    "Time from the request reaching Django to its answer, by view name and method.",
    ["view", "method"],
    buckets=LATENCY_BUCKETS,
)
RESPONSES = Counter(
    "heed_http_responses",
    "Answers by view name, method and status class (2xx, 3xx, 4xx, 5xx).",
    ["view", "method", "status"],
)


def _view_name(request: HttpRequest) -> str:
    """The URL pattern's name, never the path (one series per view, not per case)."""
    match = getattr(request, "resolver_match", None)
    if match is None:
        return "<unresolved>"  # 404s for unknown paths, redirects before routing
    return match.view_name or match._func_path


class LatencyMiddleware:
    """Times every request to its answer; first in MIDDLEWARE after the request id, so that the
    time covers the other middleware too."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        response = self.get_response(request)
        view = _view_name(request)
        method = request.method if request.method in _METHODS else "other"
        REQUEST_SECONDS.labels(view, method).observe(time.perf_counter() - started)
        RESPONSES.labels(view, method, f"{response.status_code // 100}xx").inc()
        return response


# ------------------------------------------------------------------ read at each scrape


def _cases() -> Iterator[Metric]:
    from complaints.models import Case, Step

    counts = dict.fromkeys(Step.values, 0)
    for row in Case.objects.order_by().values("step").annotate(n=Count("pk")):
        counts[row["step"]] = row["n"]
    gauge = GaugeMetricFamily("heed_cases", "Cases by step (closed included).", labels=["step"])
    for step, n in counts.items():
        gauge.add_metric([step], n)
    yield gauge


def _deadlines() -> Iterator[Metric]:
    from escalation.models import Deadline

    now = timezone.now()
    # Through the partial index deadline_unmet_due.
    row = Deadline.objects.filter(met_at__isnull=True, superseded_at__isnull=True).aggregate(
        open=Count("pk"), overdue=Count("pk", filter=Q(due_at__lt=now))
    )
    yield GaugeMetricFamily(
        "heed_deadlines_open", "Deadlines not yet met (current rounds).", value=row["open"]
    )
    yield GaugeMetricFamily(
        "heed_deadlines_overdue", "Deadlines not met and past due.", value=row["overdue"]
    )


def _escalations() -> Iterator[Metric]:
    from escalation.models import Escalation

    counter = CounterMetricFamily(
        "heed_escalations", "Cases handed to a higher tier, by reason.", labels=["reason"]
    )
    counts = dict.fromkeys(Escalation.Reason.values, 0)
    for row in Escalation.objects.order_by().values("reason").annotate(n=Count("pk")):
        counts[row["reason"]] = row["n"]
    for reason, n in counts.items():
        counter.add_metric([reason], n)
    yield counter


def _jobs() -> Iterator[Metric]:
    from escalation.models import JobRun

    seconds = GaugeMetricFamily(
        "heed_job_last_duration_seconds",
        "How long each periodic job's last run took (escalation.sweep: the deadline sweep).",
        labels=["task"],
    )
    succeeded = GaugeMetricFamily(
        "heed_job_last_succeeded", "1 if the job's last run ended without error.", labels=["task"]
    )
    success_at = GaugeMetricFamily(
        "heed_job_last_success_timestamp_seconds",
        "When the job last finished without error (Unix time).",
        labels=["task"],
    )
    for run in JobRun.objects.all():
        if run.seconds is not None:
            seconds.add_metric([run.task], run.seconds)
        succeeded.add_metric([run.task], 1 if run.succeeded else 0)
        if run.succeeded_at is not None:
            success_at.add_metric([run.task], run.succeeded_at.timestamp())
    yield from (seconds, succeeded, success_at)


def _outboxes() -> Iterator[Metric]:
    from conversation.selectors import outbox_backlog, outboxes_unsent

    now = timezone.now()
    waiting = GaugeMetricFamily(
        "heed_outbox_waiting",
        "Messages written and not yet sent (customer: notices; staff: emails).",
        labels=["outbox"],
    )
    oldest = GaugeMetricFamily(
        "heed_outbox_oldest_due_seconds",
        "How long the most overdue unsent message has been due (0: none is due).",
        labels=["outbox"],
    )
    for outbox, rows in outboxes_unsent().items():
        count, overdue = outbox_backlog(rows, now=now)
        waiting.add_metric([outbox], count)
        oldest.add_metric([outbox], overdue or 0)
    yield from (waiting, oldest)


def _webhooks() -> Iterator[Metric]:
    from webhooks.models import Delivery

    pending = Delivery.objects.filter(status=Delivery.Status.PENDING).count()
    failed = Delivery.objects.filter(status=Delivery.Status.FAILED).count()
    yield GaugeMetricFamily(
        "heed_webhook_deliveries_pending", "Webhook deliveries still being tried.", value=pending
    )
    yield CounterMetricFamily(
        "heed_webhook_deliveries_failed",
        "Webhook deliveries given up after their last attempt.",
        value=failed,
    )


def _broker() -> Iterator[Metric]:
    """The length of each queue the workers consume, asked of the broker."""
    from config.celery import app

    gauge = GaugeMetricFamily(
        "heed_celery_queue_length", "Tasks waiting in the broker's queue.", labels=["queue"]
    )
    with app.connection_for_read() as conn:
        conn.ensure_connection(max_retries=1, timeout=1)
        channel = conn.default_channel
        for queue in app.amqp.queues:
            try:
                _name, count, _consumers = channel.queue_declare(queue=queue, passive=True)
            except conn.channel_errors:  # not declared yet: no worker has started on it
                count = 0
            gauge.add_metric([queue], count)
    yield gauge


def _cache() -> Iterator[Metric]:
    from config.cache import cache_state

    state = cache_state()
    yield GaugeMetricFamily(
        "heed_cache_fallback",
        "1 while the process answering this scrape counts in its own memory (Redis away).",
        value=1 if state["fallback"] else 0,
    )


SOURCES: dict[str, Callable[[], Iterator[Metric]]] = {
    "cases": _cases,
    "deadlines": _deadlines,
    "escalations": _escalations,
    "jobs": _jobs,
    "outboxes": _outboxes,
    "webhooks": _webhooks,
    "broker": _broker,
    "cache": _cache,
}


class HeedCollector(Collector):
    """Heed's state, read when Prometheus asks. A source that fails (the database or the broker
    unreachable) is reported down and the others are still answered."""

    def collect(self) -> Iterator[Metric]:
        from django.db import connection

        up = GaugeMetricFamily(
            "heed_scrape_source_up",
            "1 if this scrape could read the source, 0 if it failed (its figures are missing).",
            labels=["source"],
        )
        for name, source in SOURCES.items():
            try:
                metrics = list(source())
            except Exception:  # an unreachable part is a figure, not a failed scrape
                up.add_metric([name], 0)
                if name != "broker":
                    connection.close()  # a broken connection is not reused by the next source
                continue
            up.add_metric([name], 1)
            yield from metrics
        yield up


_heed = CollectorRegistry(auto_describe=False)
_heed.register(HeedCollector())


def _process_registry() -> CollectorRegistry:
    """The request metrics: this process's own, or every worker's from their files."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        MultiProcessCollector(registry)
        return registry
    return REGISTRY


def _allowed(request: HttpRequest) -> bool:
    from config.health import insider

    token = settings.METRICS_TOKEN
    if token:
        scheme, _space, given = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
        if scheme.lower() == "bearer" and hmac.compare_digest(given.strip(), token):
            return True
    return insider(request)


@never_cache
def metrics(request: HttpRequest) -> HttpResponse:
    if not _allowed(request):
        return HttpResponse(
            "Metrics are served to the private network, or with METRICS_TOKEN as a bearer token.\n",
            status=403,
            content_type="text/plain; charset=utf-8",
        )
    body = generate_latest(_process_registry()) + generate_latest(_heed)
    return HttpResponse(body, content_type=CONTENT_TYPE_LATEST)
