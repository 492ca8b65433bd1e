"""The reporting app's defaults as data: the early warning's schedule row (editable in the admin
like the sweep's, ``escalation.ScheduledJob``). Written by migration 0002 (which passes its
historical model) and again by the tests after a flush."""

from __future__ import annotations

JOBS = [{"name": "reporting-early-warning", "task": "reporting.early_warning"}]


def jobs_seed(*, job_model) -> None:
    """Create the schedule rows that are missing; never changes what exists."""
    for job in JOBS:
        job_model.objects.get_or_create(name=job["name"], defaults=job)
