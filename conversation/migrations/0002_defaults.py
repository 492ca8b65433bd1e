"""The conversation's defaults: a row of each notice's shipped text for every kind, channel and
language (quality managers edit them in the admin), the outbox job's schedule row, and the
roles' permissions on them (complaints.roles). Idempotent: rows that exist are left as they are,
and roles_grant takes nothing away."""

from django.db import migrations


def seed(apps, schema_editor):
    from django.contrib.auth.management import create_permissions

    from complaints.roles import roles_grant
    from conversation.defaults import jobs_seed, templates_seed

    templates_seed(template_model=apps.get_model("conversation", "NoticeTemplate"))
    jobs_seed(job_model=apps.get_model("escalation", "ScheduledJob"))
    # Permissions are normally created after all migrations; make sure they exist now.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, verbosity=0)
        app_config.models_module = None
    roles_grant(
        group_model=apps.get_model("auth", "Group"),
        permission_model=apps.get_model("auth", "Permission"),
        app_label="conversation",
    )


class Migration(migrations.Migration):
    dependencies = [
        ("conversation", "0001_initial"),
        ("complaints", "0002_roles"),
        ("escalation", "0002_defaults"),
    ]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
