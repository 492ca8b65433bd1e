"""Celery tasks: services called, safe to run twice (acks_late may redeliver)."""

from __future__ import annotations

from celery import shared_task

from .early_warning import spikes_detect_and_notify
from .rollup import REBUILD_DAYS, rollup_catch_up, rollup_rebuild


@shared_task(name="reporting.early_warning")
def early_warning() -> int:
    """Run by beat every hour (``reporting-early-warning``): record this week's new spikes and
    email the quality managers those not notified yet. Returns how many spikes were new."""
    return len(spikes_detect_and_notify())


@shared_task(name="reporting.rollup_catch_up", soft_time_limit=3600, time_limit=3660)
def rollup_catch_up_task() -> dict[str, int | bool]:
    """Run by beat every minute (``reporting-rollup``): recompute the days of the cases that
    changed since the last run (the first run builds the whole rollup, which may take minutes
    on a large database: hence the long time limit)."""
    run = rollup_catch_up()
    return {"days": run.days, "full": run.full}


@shared_task(name="reporting.rollup_rebuild", soft_time_limit=3600, time_limit=3660)
def rollup_rebuild_task() -> dict[str, int | bool]:
    """Run by beat every night (``reporting-rollup-rebuild``): recompute the last
    ``REBUILD_DAYS`` days, the safety net for a change the catch-up could not see."""
    run = rollup_rebuild(days_back=REBUILD_DAYS)
    return {"days": run.days, "full": run.full}
