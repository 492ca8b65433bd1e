"""The event log enforced by the database: on PostgreSQL, a trigger refuses UPDATE and DELETE of
case events (complaints.append_only)."""

from django.db import migrations

from complaints.append_only import for_migration


class Migration(migrations.Migration):
    dependencies = [("complaints", "0017_follow_up_review")]

    operations = [for_migration("complaints", "CaseEvent", with_function=True)]
