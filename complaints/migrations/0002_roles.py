"""Create the staff roles as groups, with the permissions complaints.roles gives each."""

from django.db import migrations


def create_roles(apps, schema_editor):
    from complaints.roles import permissions_create, roles_sync

    permissions_create(apps)  # Django makes them after all migrations: make them now

    roles_sync(
        group_model=apps.get_model("auth", "Group"),
        permission_model=apps.get_model("auth", "Permission"),
    )


def remove_roles(apps, schema_editor):
    from complaints.roles import ROLE_PERMISSIONS

    apps.get_model("auth", "Group").objects.filter(name__in=list(ROLE_PERMISSIONS)).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("complaints", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_roles, remove_roles)]
