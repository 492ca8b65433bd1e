"""The daily rollup's schedule rows (reporting.defaults), beside the sweep's, so that the admin
shows them and their intervals can be changed there. Idempotent: existing rows are left as
they are."""

from django.db import migrations


def seed(apps, schema_editor):
    from reporting.defaults import jobs_seed

    jobs_seed(job_model=apps.get_model("escalation", "ScheduledJob"))


class Migration(migrations.Migration):
    dependencies = [
        ("reporting", "0003_daily_rollup"),
        ("escalation", "0002_defaults"),
    ]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
