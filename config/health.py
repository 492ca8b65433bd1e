"""Health for the machines that run Heed.

- ``/healthz`` — liveness: the process answers. Nothing else is asked, so that a database or
  Redis outage never gets healthy web processes restarted in a loop.
- ``/readyz`` — readiness: every part Heed needs, each named in a JSON answer; 503 when one
  fails, with the failing ones listed under ``failing``. The parts: the database, the
  migrations applied, the cache and the broker (Redis in production), the deadline sweep
  finished within three of its intervals, and the customer notices' outbox (how many wait, and
  how long the most overdue has waited past its due moment).

Both answer JSON, never HTML, whatever fails: a check that raises is a failed check. What went
wrong (an error's text names hosts, ports, database names) is told to callers on the machine or
the private network — the load balancer, compose, a monitor — and to no one else, who see only
which checks fail."""

from __future__ import annotations

import ipaddress
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.cache import caches
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache

# The sweep must have finished within this many of its intervals.
SWEEP_INTERVALS = 3
_migrated = False  # once all are applied, they stay so for the life of the process


def _database() -> dict[str, Any]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return {"ok": True, "vendor": connection.vendor}


def _migrations() -> dict[str, Any]:
    global _migrated
    if not _migrated:
        executor = MigrationExecutor(connection)
        plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
        if plan:
            return {"ok": False, "unapplied": len(plan)}
        _migrated = True
    return {"ok": True}


def _cache() -> dict[str, Any]:
    cache = caches["default"]
    client = getattr(cache, "_cache", None)
    if client is None or not hasattr(client, "get_client"):
        return {"ok": True, "backend": type(cache).__name__}  # in-process: always there
    started = time.monotonic()
    client.get_client(write=True).ping()
    return {"ok": True, "backend": "redis", "ms": round((time.monotonic() - started) * 1000, 1)}


def _broker() -> dict[str, Any]:
    from config.celery import app

    started = time.monotonic()
    with app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, timeout=1)
        transport = conn.transport_cls
    return {
        "ok": True,
        "transport": str(transport),
        "ms": round((time.monotonic() - started) * 1000, 1),
    }


def _sweep() -> dict[str, Any]:
    from escalation.models import JobRun
    from escalation.schedule import job_interval

    interval = job_interval("escalation.sweep")
    if interval is None:
        return {"ok": True, "scheduled": False}
    run = JobRun.objects.filter(task="escalation.sweep").first()
    last = run.succeeded_at if run else None
    limit = timedelta(seconds=interval * SWEEP_INTERVALS)
    age = None if last is None else (timezone.now() - last).total_seconds()
    return {
        "ok": age is not None and age <= limit.total_seconds(),
        "last_finished": last.isoformat() if last else None,
        "seconds_ago": None if age is None else round(age),
        "limit_seconds": round(limit.total_seconds()),
    }


def _outbox() -> dict[str, Any]:
    """How many customer notices wait, and how long the most overdue one has waited past the
    moment it was due: a notice waiting out its retry backoff (a mail server refusing for an
    hour) is not a backlog; one due and not sent is (through the partial index notice_due)."""
    from conversation.models import late_after
    from conversation.selectors import outbox_backlog, outboxes_unsent

    waiting, overdue = outbox_backlog(outboxes_unsent()["customer"], now=timezone.now())
    return {
        "ok": waiting <= settings.READY_OUTBOX_MAX_WAITING
        and (overdue is None or overdue <= late_after().total_seconds()),
        "waiting": waiting,
        "oldest_due_seconds": None if overdue is None else round(overdue),
        "limits": {
            "waiting": settings.READY_OUTBOX_MAX_WAITING,
            "oldest_due_seconds": round(late_after().total_seconds()),
        },
    }


CHECKS: dict[str, Callable[[], dict[str, Any]]] = {
    "database": _database,
    "migrations": _migrations,
    "cache": _cache,
    "broker": _broker,
    "sweep": _sweep,
    "outbox": _outbox,
}
# Skipped when the database is down: they read it.
_NEED_DATABASE = {"migrations", "sweep", "outbox"}


@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness: the process answers."""
    return JsonResponse({"status": "ok"})


def insider(request: HttpRequest) -> bool:
    """A caller on this machine or the private network (or any, with DEBUG on)."""
    from intake.ratelimit import client_address

    if settings.DEBUG:
        return True
    try:
        address = ipaddress.ip_network(client_address(request), strict=False).network_address
    except ValueError:
        return False
    return address.is_loopback or address.is_private


@never_cache
def readyz(request: HttpRequest) -> JsonResponse:
    """Readiness: each part checked and named; 503 with ``failing`` when one fails."""
    results: dict[str, dict[str, Any]] = {}
    for name, check in CHECKS.items():
        if name in _NEED_DATABASE and not results["database"]["ok"]:
            results[name] = {"ok": False, "error": "the database is unreachable"}
            continue
        try:
            results[name] = check()
        except Exception as error:  # what failed, said in the answer
            results[name] = {"ok": False, "error": f"{type(error).__name__}: {error}"[:300]}
            if name == "database":
                connection.close()  # a broken connection is not reused by the next check
    failing = [name for name, result in results.items() if not result["ok"]]
    if not insider(request):
        results = {name: {"ok": result["ok"]} for name, result in results.items()}
    return JsonResponse(
        {"status": "fail" if failing else "ok", "failing": failing, "checks": results},
        status=503 if failing else 200,
    )
