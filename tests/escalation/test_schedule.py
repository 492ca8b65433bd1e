"""Beat's schedule is editable in the admin: ScheduledJob rows lay over CELERY_BEAT_SCHEDULE."""

from datetime import timedelta

import pytest
from django.contrib.admin.sites import site

from config.celery import app
from escalation.models import ScheduledJob
from escalation.schedule import DatabaseScheduler, beat_schedule

pytestmark = pytest.mark.django_db


def test_the_sweep_runs_every_minute_by_default(settings):
    assert settings.SWEEP_INTERVAL == 60
    assert beat_schedule()["sweep-deadlines"]["task"] == "escalation.sweep"
    assert beat_schedule()["sweep-deadlines"]["schedule"] == 60.0


def test_the_sweep_row_is_seeded_so_the_admin_shows_it():
    job = ScheduledJob.objects.get(name="sweep-deadlines")
    assert (job.task, job.every, job.enabled) == ("escalation.sweep", None, True)
    assert ScheduledJob in site._registry


def test_a_row_changes_the_interval_and_its_expiry():
    ScheduledJob.objects.filter(name="sweep-deadlines").update(every=timedelta(minutes=5))

    entry = beat_schedule()["sweep-deadlines"]

    assert entry["schedule"] == 300.0
    assert entry["options"]["expires"] == 300.0


def test_a_disabled_row_takes_the_job_off_the_schedule():
    ScheduledJob.objects.filter(name="sweep-deadlines").update(enabled=False)

    assert "sweep-deadlines" not in beat_schedule()


@pytest.mark.django_db(transaction=True)  # beat closes stale connections as it refreshes
def test_beat_picks_up_an_edited_interval_without_a_restart(tmp_path):
    scheduler = DatabaseScheduler(app=app, schedule_filename=str(tmp_path / "beat"), lazy=False)
    try:
        assert scheduler.schedule["sweep-deadlines"].schedule.run_every == timedelta(seconds=60)

        ScheduledJob.objects.filter(name="sweep-deadlines").update(every=timedelta(seconds=15))
        scheduler._refresh()  # what tick() does every refresh_every seconds

        assert scheduler.schedule["sweep-deadlines"].schedule.run_every == timedelta(seconds=15)
    finally:
        scheduler.close()
