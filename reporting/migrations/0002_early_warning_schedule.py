"""The early warning's schedule row (reporting.defaults), beside the sweep's, so that the admin
shows it and its interval can be changed there. Idempotent: an existing row is left as it is."""

from django.db import migrations


def seed(apps, schema_editor):
    from reporting.defaults import jobs_seed

    jobs_seed(job_model=apps.get_model("escalation", "ScheduledJob"))


class Migration(migrations.Migration):
    dependencies = [
        ("reporting", "0001_initial"),
        ("escalation", "0002_defaults"),
    ]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
