"""The reporting app's defaults as data: the schedule rows of its periodic jobs (editable in the
admin like the sweep's, ``escalation.ScheduledJob``): the early warning and the daily rollup's
catch-up and nightly rebuild. Written by migrations 0002 and 0004 (which pass their historical
model) and again by the tests after a flush."""

from __future__ import annotations

JOBS = [
    {"name": "reporting-early-warning", "task": "reporting.early_warning"},
    {"name": "reporting-rollup", "task": "reporting.rollup_catch_up"},
    {"name": "reporting-rollup-rebuild", "task": "reporting.rollup_rebuild"},
]


def jobs_seed(*, job_model) -> None:
    """Create the schedule rows that are missing; never changes what exists."""
    for job in JOBS:
        job_model.objects.get_or_create(name=job["name"], defaults=job)
