"""A verification's window is counted from when the action was done to the verification: keep
its end too. Verifications made before counted up to their own moment, so that is their end."""

from django.conf import settings
from django.db import migrations, models


def window_end_fill(apps, schema_editor):
    Verification = apps.get_model("improvement", "Verification")
    Verification.objects.filter(window_days__isnull=False).update(window_end=models.F("at"))


class Migration(migrations.Migration):

    dependencies = [
        ('improvement', '0002_done_by'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name='verification',
            name='verification_window_counted',
        ),
        migrations.AddField(
            model_name='verification',
            name='window_end',
            field=models.DateTimeField(blank=True, null=True, verbose_name='counted until'),
        ),
        migrations.RunPython(window_end_fill, migrations.RunPython.noop),
        migrations.AlterField(
            model_name='verification',
            name='override_reason',
            field=models.TextField(blank=True, max_length=2000, verbose_name='verified anyway, because'),
        ),
        migrations.AlterField(
            model_name='verification',
            name='window_start',
            field=models.DateTimeField(blank=True, null=True, verbose_name='counted from'),
        ),
        migrations.AddConstraint(
            model_name='verification',
            constraint=models.CheckConstraint(condition=models.Q(('window_days__isnull', True), models.Q(('window_days__gte', 1), ('cases_found__isnull', False), ('window_start__isnull', False), ('window_end__isnull', False)), _connector='OR'), name='verification_window_counted'),
        ),
    ]
