"""Reporting's rollup (reporting.rollup.changed_days) finds the cases changed lately by
updated_at."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('complaints', '0010_repeats_and_merging'),
    ]

    operations = [
        migrations.AddIndex(
            model_name='case',
            index=models.Index(fields=['updated_at'], name='case_updated'),
        ),
    ]
