"""The roles' knowledge-base permissions (complaints.roles: every role reads, quality managers
and administrators write), added to the role groups: roles_grant takes nothing away, so what
an administrator granted the roles on an existing database stays (roles_sync's exact set is
for the fresh database only, complaints' 0002)."""

from django.db import migrations


def grant_roles(apps, schema_editor):
    from complaints.roles import roles_grant_migrated

    roles_grant_migrated(apps, "knowledge")


class Migration(migrations.Migration):
    dependencies = [
        ("knowledge", "0001_initial"),
        ("complaints", "0002_roles"),
        ("escalation", "0002_defaults"),
    ]

    operations = [migrations.RunPython(grant_roles, migrations.RunPython.noop)]
