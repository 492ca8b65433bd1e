"""The sweep through a real Celery worker with its embedded beat, against Redis and this test's
PostgreSQL database: the one place where the behaviour under test is Celery's (the schedule, the
broker, a task run in another process), so not eager mode.

Needs PostgreSQL (the worker must see the rows this test commits) and REDIS_URL; skipped
without them, except in CI (``CI`` set), where a missing service must fail the run."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

import pytest
from django.conf import settings
from django.db import connection

from complaints.models import Tier
from escalation.models import Escalation, Notification

pytestmark = [pytest.mark.celery, pytest.mark.django_db(transaction=True)]

# A Redis database of the tests' own, flushed first: no other worker takes our tasks.
REDIS_DB = 11
# How long the worker may take to start and sweep (it is an outside process: we poll it).
TIMEOUT = 60
POLL = 0.5


def require(ready: bool, message: str) -> None:
    if not ready:
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)


def redis_url() -> str:
    parts = urlsplit(settings.REDIS_URL)
    return urlunsplit(parts._replace(path=f"/{REDIS_DB}"))


def database_url() -> str:
    """This test's database (pytest-django's test_… one), as DATABASE_URL."""
    db = connection.settings_dict
    password = f":{quote(db['PASSWORD'], safe='')}" if db["PASSWORD"] else ""
    host = f"{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}"
    return f"postgres://{quote(db['USER'], safe='')}{password}@{host}/{db['NAME']}"


def wait_until(what: str, done: Callable[[], bool], worker: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + TIMEOUT
    while not done():
        if worker.poll() is not None:
            pytest.fail(f"the worker exited ({worker.returncode}):\n{log.read_text()[-3000:]}")
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: not within {TIMEOUT}s. Worker log:\n{log.read_text()[-3000:]}")
        time.sleep(POLL)  # waiting on another process, not on our own code


@contextmanager
def celery_worker(var_dir: Path, log: Path) -> Iterator[subprocess.Popen]:
    """``celery -A config worker -B`` (beat embedded), sweeping every second; stopped with TERM
    (a warm shutdown) when the block ends."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": database_url(),
        "CONN_MAX_AGE": "0",  # no connection left open when the test database is flushed
        "REDIS_URL": redis_url(),
        "SWEEP_INTERVAL": "1",
        "HEED_VAR_DIR": str(var_dir),
        "EMAIL_URL": "memorymail://",
        "PYTHONUNBUFFERED": "1",
    }
    command = [
        str(Path(sys.executable).with_name("celery")),
        "-A",
        "config",
        "worker",
        "-B",
        "--pool=solo",
        "--loglevel=INFO",
        f"--hostname=heed-test-{os.getpid()}@%h",
        "--without-gossip",
        "--without-mingle",
    ]
    with log.open("w") as output:
        worker = subprocess.Popen(
            command, cwd=settings.BASE_DIR, env=env, stdout=output, stderr=subprocess.STDOUT
        )
        try:
            yield worker
        finally:
            if worker.poll() is None:
                worker.send_signal(signal.SIGTERM)
                try:
                    worker.wait(30)
                except subprocess.TimeoutExpired:
                    worker.kill()
                    worker.wait()
                    pytest.fail(f"the worker did not stop within 30s:\n{log.read_text()[-3000:]}")


def sweeps_done(log: Path) -> int:
    return len(re.findall(r"Task escalation\.sweep\[[^\]]+\] succeeded", log.read_text()))


@pytest.fixture
def empty_redis_db() -> Iterator[None]:
    """The worker's Redis database, empty before and after (no queued task left over)."""
    require(connection.vendor == "postgresql", "needs PostgreSQL (set DATABASE_URL=postgres://…)")
    require(bool(settings.REDIS_URL), "needs Redis (set REDIS_URL=redis://…)")
    import redis

    client = redis.Redis.from_url(redis_url())
    client.flushdb()
    yield
    client.flushdb()
    client.close()


def test_the_worker_and_its_beat_escalate_an_overdue_case_once(
    empty_redis_db, tmp_path, decide_case, department_head
):
    case = decide_case(days_ago=2)
    var_dir, log = tmp_path / "var", tmp_path / "worker.log"

    with celery_worker(var_dir, log) as worker:

        def escalated() -> bool:
            case.refresh_from_db()
            return case.tier == Tier.DEPARTMENT_HEAD and case.escalations.exists()

        wait_until("the case escalated", escalated, worker, log)
        # Two more sweeps: they must find nothing more to do.
        after = sweeps_done(log)
        wait_until("two more sweeps", lambda: sweeps_done(log) >= after + 2, worker, log)
        wait_until(
            "the emails sent",
            lambda: not Notification.objects.filter(sent_at__isnull=True).exists(),
            worker,
            log,
        )

    assert worker.returncode == 0, log.read_text()[-3000:]
    assert "Warm shutdown" in log.read_text()
    [escalation] = Escalation.objects.filter(case=case)
    assert (escalation.reason, escalation.from_tier, escalation.to_tier) == (
        Escalation.Reason.OVERDUE,
        Tier.HANDLER,
        Tier.DEPARTMENT_HEAD,
    )
    assert Notification.objects.filter(escalation=escalation).count() == 2
    # The emails were also queued after commit, through Redis, to a task that found them sent.
    assert "Task escalation.deliver_notifications[" in log.read_text()
    # Beat keeps its schedule file in HEED_VAR_DIR, not in the checkout.
    assert any(path.name.startswith("celerybeat-schedule") for path in var_dir.iterdir())
