"""Celery beat's schedule, editable in the admin: the settings' ``CELERY_BEAT_SCHEDULE`` with
the ``ScheduledJob`` rows laid over it (a row can change a job's interval or switch it off).
Beat runs with ``CELERY_BEAT_SCHEDULER = "escalation.schedule:DatabaseScheduler"``."""

from __future__ import annotations

import copy
import logging
import time
from typing import Any

from celery.beat import PersistentScheduler
from celery.signals import task_postrun, task_prerun
from django.conf import settings
from django.db import DatabaseError, close_old_connections
from django.utils import timezone

log = logging.getLogger(__name__)


def periodic_tasks() -> set[str]:
    """The task names beat runs (the settings' schedule; rows only change their intervals)."""
    return {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}


def job_interval(task: str) -> float | None:
    """Seconds between two runs of ``task`` as beat runs it now (None: it does not)."""
    for entry in beat_schedule().values():
        if entry["task"] == task:
            return float(entry["schedule"])
    return None


_started: dict[str, float] = {}  # task id → time.monotonic() at its start, in this worker


@task_prerun.connect(dispatch_uid="heed-job-started")
def _job_started(sender=None, task_id=None, task=None, **kwargs) -> None:
    if task is None or task.name not in periodic_tasks():
        return
    from .models import JobRun

    _started[task_id] = time.monotonic()
    try:
        JobRun.objects.update_or_create(task=task.name, defaults={"started_at": timezone.now()})
    except DatabaseError as exc:  # the job itself will say what is wrong
        log.warning("Could not record the start of %s: %s", task.name, exc)


@task_postrun.connect(dispatch_uid="heed-job-finished")
def _job_finished(sender=None, task_id=None, task=None, state=None, retval=None, **kwargs):
    if task is None or task.name not in periodic_tasks():
        return
    from .models import JobRun

    started = _started.pop(task_id, None)
    now = timezone.now()
    succeeded = state == "SUCCESS"
    values: dict[str, Any] = {
        "finished_at": now,
        "seconds": None if started is None else time.monotonic() - started,
        "succeeded": succeeded,
        "error": "" if succeeded else str(retval)[:500],
    }
    if succeeded:
        values["succeeded_at"] = now
    try:
        JobRun.objects.update_or_create(task=task.name, defaults=values)
    except DatabaseError as exc:
        log.warning("Could not record the end of %s: %s", task.name, exc)


def beat_schedule() -> dict[str, dict[str, Any]]:
    """The jobs beat should run now, in ``beat_schedule`` form."""
    from .models import ScheduledJob

    schedule = copy.deepcopy(settings.CELERY_BEAT_SCHEDULE)
    for job in ScheduledJob.objects.all():
        if not job.enabled:
            schedule.pop(job.name, None)
            continue
        entry = schedule.setdefault(job.name, {"task": job.task, "schedule": 60.0})
        entry["task"] = job.task
        if job.every:
            seconds = job.every.total_seconds()
            entry["schedule"] = seconds
            entry["options"] = {**entry.get("options", {}), "expires": seconds}
    return schedule


class DatabaseScheduler(PersistentScheduler):
    """Beat's file-backed scheduler (it remembers last runs across restarts) that re-reads the
    schedule from the database every ``refresh_every`` seconds. If the database cannot be read
    it keeps the schedule it has."""

    refresh_every = 30.0

    def setup_schedule(self) -> None:
        super().setup_schedule()
        self._refreshed_at = 0.0
        self._refresh()

    def _refresh(self) -> None:
        self._refreshed_at = time.monotonic()
        close_old_connections()
        try:
            wanted = beat_schedule()
        except DatabaseError as exc:
            log.warning("Keeping the current beat schedule; the database said: %s", exc)
            return
        before = {name: (e.task, e.schedule) for name, e in self.schedule.items()}
        self.merge_inplace(wanted)
        self.install_default_entries(self.schedule)
        after = {name: (e.task, e.schedule) for name, e in self.schedule.items()}
        if before != after:
            log.info("Beat schedule now: %s", {n: str(s) for n, (_t, s) in after.items()})
            self._heap = None  # rebuilt on the next tick with the new intervals

    def tick(self, *args, **kwargs) -> float:
        if time.monotonic() - self._refreshed_at >= self.refresh_every:
            self._refresh()
        return min(super().tick(*args, **kwargs), self.refresh_every)
