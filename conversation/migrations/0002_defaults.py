"""The conversation's defaults: a row of each notice's shipped text for every kind, channel and
language (quality managers edit them in the admin), the outbox job's schedule row, and the
roles' permissions on them (complaints.roles). Idempotent: rows that exist are left as they are,
and roles_grant takes nothing away."""

from django.db import migrations


def seed(apps, schema_editor):
    from complaints.roles import roles_grant_migrated
    from conversation.defaults import jobs_seed, templates_seed

    templates_seed(template_model=apps.get_model("conversation", "NoticeTemplate"))
    jobs_seed(job_model=apps.get_model("escalation", "ScheduledJob"))
    roles_grant_migrated(apps, "conversation")


class Migration(migrations.Migration):
    dependencies = [
        ("conversation", "0001_initial"),
        ("complaints", "0002_roles"),
        ("escalation", "0002_defaults"),
    ]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
