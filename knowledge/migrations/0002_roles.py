"""The roles' knowledge-base permissions (complaints.roles: every role reads, quality managers
and administrators write): roles_sync again, as complaints' 0002 does. roles_sync gives each
role exactly its listed permissions, which drops the admin permissions escalation's 0002 grants
the editing roles outside that list, so they are granted again."""

from django.db import migrations


def sync_roles(apps, schema_editor):
    from django.contrib.auth.management import create_permissions

    from complaints.roles import roles_sync
    from escalation.defaults import editors_grant

    # Permissions are normally created after all migrations; make sure they exist now.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, verbosity=0)
        app_config.models_module = None

    group_model = apps.get_model("auth", "Group")
    permission_model = apps.get_model("auth", "Permission")
    roles_sync(group_model=group_model, permission_model=permission_model)
    editors_grant(group_model=group_model, permission_model=permission_model)


class Migration(migrations.Migration):
    dependencies = [
        ("knowledge", "0001_initial"),
        ("complaints", "0002_roles"),
        ("escalation", "0002_defaults"),
    ]

    operations = [migrations.RunPython(sync_roles, migrations.RunPython.noop)]
