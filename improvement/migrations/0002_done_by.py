"""Who made an action's Done move, kept on the action: whoever did does not verify it
(improvement.access.action_can_verify). Existing done and verified actions get it from their
history (the latest Done move's actor)."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


def done_by_fill(apps, schema_editor):
    Action = apps.get_model("improvement", "Action")
    ActionEvent = apps.get_model("improvement", "ActionEvent")
    last_done = ActionEvent.objects.filter(
        action=models.OuterRef("pk"), kind="status", to_status="done"
    ).order_by("-at", "-pk")
    Action.objects.filter(done_at__isnull=False).update(
        done_by=models.Subquery(last_done.values("actor")[:1])
    )


class Migration(migrations.Migration):
    dependencies = [
        ("improvement", "0001_actions"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="action",
            name="done_by",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
                verbose_name="done by",
            ),
        ),
        migrations.RunPython(done_by_fill, migrations.RunPython.noop),
    ]
