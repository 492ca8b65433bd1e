"""Action events enforced by the database: on PostgreSQL, a trigger refuses their UPDATE and
DELETE (complaints.append_only)."""

from django.db import migrations

from complaints.append_only import for_migration


class Migration(migrations.Migration):
    dependencies = [
        ("improvement", "0003_verification_window_end"),
        ("complaints", "0018_append_only_trigger"),
    ]

    operations = [for_migration("improvement", "ActionEvent")]
