"""/healthz and /readyz (config/health.py): liveness answers whatever else is down; readiness
names each part and says 503 with the failing ones when one fails — the database (pointed at a
port nothing listens on, for real), the cache (a Redis of the test's own, stopped), the broker
(nothing listening), the sweep (not finished within three intervals), the outbox (too many
waiting, or waiting too long). Always JSON."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from conversation.models import Notice
from escalation.models import JobRun
from escalation.tasks import sweep_deadlines

from .databases import postgresql_only
from .factories import receive
from .outages import broker_unreachable, closed_port
from .workers import own_redis

pytestmark = pytest.mark.django_db


def ready(client) -> tuple[int, dict]:
    response = client.get("/readyz")
    assert response["Content-Type"] == "application/json"
    assert "no-cache" in response["Cache-Control"]
    return response.status_code, response.json()


@pytest.fixture
def swept(db):
    """A sweep finished just now, recorded by Celery's task signals (run in this process)."""
    result = sweep_deadlines.apply()
    assert result.successful(), result.traceback
    return JobRun.objects.get(task="escalation.sweep")


def test_the_sweep_s_run_is_recorded_by_the_task_signals(swept):
    assert swept.succeeded and swept.error == ""
    assert swept.started_at <= swept.finished_at == swept.succeeded_at
    assert swept.seconds is not None and swept.seconds >= 0


def test_all_well_is_200_with_every_part_named(client, swept):
    status, body = ready(client)

    assert status == 200, body
    assert body["status"] == "ok" and body["failing"] == []
    assert set(body["checks"]) == {"database", "migrations", "cache", "broker", "sweep", "outbox"}
    assert all(check["ok"] for check in body["checks"].values())


def test_a_sweep_not_finished_within_three_intervals_is_not_ready(client, swept, settings):
    JobRun.objects.filter(pk=swept.pk).update(
        succeeded_at=timezone.now() - timedelta(seconds=3 * settings.SWEEP_INTERVAL + 30)
    )

    status, body = ready(client)

    assert (status, body["failing"]) == (503, ["sweep"])
    assert body["checks"]["sweep"]["limit_seconds"] == 3 * settings.SWEEP_INTERVAL


def test_no_sweep_ever_is_not_ready(client, db):
    status, body = ready(client)

    assert (status, body["failing"]) == (503, ["sweep"])
    assert body["checks"]["sweep"]["last_finished"] is None


def test_a_failed_sweep_does_not_count_as_finished(client, swept, monkeypatch):
    JobRun.objects.filter(pk=swept.pk).update(succeeded_at=timezone.now() - timedelta(hours=1))
    monkeypatch.setattr("escalation.tasks.sweep", lambda **kwargs: 1 / 0)
    sweep_deadlines.apply()

    run = JobRun.objects.get(pk=swept.pk)
    status, body = ready(client)

    assert not run.succeeded and "division by zero" in run.error
    assert (status, body["failing"]) == (503, ["sweep"])


def test_an_outbox_that_waits_too_long_or_too_much_is_not_ready(client, swept, agent, settings):
    receive(by=agent)  # its acknowledgement waits in the outbox (no worker here)
    settings.READY_OUTBOX_MAX_AGE = 60
    assert ready(client)[0] == 200

    # Waiting out a retry's backoff is not a backlog; due two minutes ago and not sent is.
    Notice.objects.update(next_attempt_at=timezone.now() + timedelta(minutes=30))
    backing_off = ready(client)[0]
    Notice.objects.update(next_attempt_at=timezone.now() - timedelta(minutes=2))
    old_status, old = ready(client)
    settings.READY_OUTBOX_MAX_AGE = 900
    settings.READY_OUTBOX_MAX_WAITING = 0
    many_status, many = ready(client)

    assert backing_off == 200
    assert (old_status, old["failing"]) == (503, ["outbox"])
    assert old["checks"]["outbox"]["oldest_due_seconds"] >= 120
    assert (many_status, many["failing"]) == (503, ["outbox"])
    assert many["checks"]["outbox"]["waiting"] == 1


def test_a_broker_nothing_listens_on_is_not_ready(client, swept):
    with broker_unreachable():
        status, body = ready(client)

    assert (status, body["failing"]) == (503, ["broker"])
    assert "Error" in body["checks"]["broker"]["error"]


def test_a_stopped_cache_is_not_ready_and_liveness_still_answers(client, swept, settings, tmp_path):
    with own_redis(tmp_path) as server:
        settings.CACHES = {
            "default": {
                "BACKEND": "config.cache.ResilientRedisCache",
                "LOCATION": server.url,
                "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
            }
        }
        assert ready(client)[0] == 200
        server.stop()

        status, body = ready(client)
        alive = client.get("/healthz")

    assert (status, body["failing"]) == (503, ["cache"])
    assert "ConnectionError" in body["checks"]["cache"]["error"]
    assert (alive.status_code, alive.json()) == (200, {"status": "ok"})


@postgresql_only("a database server to be unreachable (SQLite is a file)")
@pytest.mark.django_db(transaction=True)
def test_an_unreachable_database_is_503_json_and_liveness_still_answers(client):
    saved = connection.settings_dict["PORT"]
    connection.close()
    connection.settings_dict["PORT"] = closed_port()
    try:
        status, body = ready(client)
        alive = client.get("/healthz")
    finally:
        connection.close()
        connection.settings_dict["PORT"] = saved

    assert status == 503
    assert body["failing"] == ["database", "migrations", "sweep", "outbox"]
    assert "OperationalError" in body["checks"]["database"]["error"]
    assert body["checks"]["cache"]["ok"] and body["checks"]["broker"]["ok"]
    assert (alive.status_code, alive.json()) == (200, {"status": "ok"})


def test_a_migration_not_applied_is_not_ready(client, swept, monkeypatch):
    """As after deploying new code before `migrate` ran: the newest migration's record gone
    (in this test's transaction only)."""
    from django.db.migrations.recorder import MigrationRecorder

    from config import health

    monkeypatch.setattr(health, "_migrated", False)
    newest = MigrationRecorder.Migration.objects.filter(app="complaints").order_by("-id").first()
    newest.delete()

    status, body = ready(client)

    assert (status, body["failing"]) == (503, ["migrations"])
    assert body["checks"]["migrations"]["unapplied"] >= 1


def test_a_caller_from_outside_sees_which_checks_fail_but_not_why(client, db, settings):
    """An error's text names hosts and databases: only the machine and the private network
    (load balancer, compose, monitors) are told it."""
    settings.DEBUG = False

    inside = client.get("/readyz", REMOTE_ADDR="10.0.0.7").json()
    outside = client.get("/readyz", REMOTE_ADDR="8.8.8.8").json()

    assert inside["failing"] == outside["failing"] == ["sweep"]  # no sweep ran here
    assert "limit_seconds" in inside["checks"]["sweep"]
    assert outside["checks"] == {name: {"ok": name != "sweep"} for name in inside["checks"]}
