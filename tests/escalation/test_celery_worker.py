"""The sweep through a real Celery worker with its embedded beat, against Redis and this test's
PostgreSQL database: the one place where the behaviour under test is Celery's (the schedule, the
broker, a task run in another process), so not eager mode.

Needs PostgreSQL (the worker must see the rows this test commits) and REDIS_URL; skipped
without them, except in CI (``CI`` set), where a missing service must fail the run."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import timezone

from complaints.models import Tier
from escalation.models import Escalation, JobRun, Notification

from ..workers import broker_keys, celery_worker, require_postgresql_and_redis, wait_until

pytestmark = [pytest.mark.celery, pytest.mark.django_db(transaction=True)]


def sweeps_done(log: Path) -> int:
    return len(re.findall(r"Task escalation\.sweep\[[^\]]+\] succeeded", log.read_text()))


@pytest.fixture
def prefix() -> Iterator[str]:
    """The worker's Redis keys, of this test's own (deleted afterwards)."""
    require_postgresql_and_redis()
    with broker_keys(settings.REDIS_URL) as prefix:
        yield prefix


def test_the_worker_and_its_beat_escalate_an_overdue_case_once(
    prefix, tmp_path, decide_case, department_head
):
    case = decide_case(days_ago=2)
    var_dir, log = tmp_path / "var", tmp_path / "worker.log"

    with celery_worker(
        var_dir, log, redis_url=settings.REDIS_URL, prefix=prefix, beat=True, SWEEP_INTERVAL="1"
    ) as worker:

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
    # The worker recorded the sweep's last run, which /readyz reads.
    run = JobRun.objects.get(task="escalation.sweep")
    assert run.succeeded and run.seconds is not None
    assert timezone.now() - run.succeeded_at < timedelta(minutes=1)
    # Beat keeps its schedule file in HEED_VAR_DIR, not in the checkout.
    assert any(path.name.startswith("celerybeat-schedule") for path in var_dir.iterdir())
