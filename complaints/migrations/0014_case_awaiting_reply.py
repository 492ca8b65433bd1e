"""Waiting on us (``Case.awaiting_reply_since``), and its value for the cases open at the upgrade:
the first message of the customer's after our last message to them, in one UPDATE."""

from datetime import UTC, datetime

from django.db import migrations, models
from django.db.models import OuterRef, Subquery
from django.db.models.functions import Coalesce


def fill(apps, schema_editor):
    Case = apps.get_model("complaints", "Case")
    CaseEvent = apps.get_model("complaints", "CaseEvent")
    ours = CaseEvent.objects.filter(
        case_id=OuterRef(OuterRef("pk")), kind="message", customer_visible=True
    ).order_by("-at")
    unanswered = CaseEvent.objects.filter(
        case_id=OuterRef("pk"),
        kind="customer_message",
        at__gt=Coalesce(Subquery(ours.values("at")[:1]), datetime(1970, 1, 1, tzinfo=UTC)),
    ).order_by("at")
    Case.objects.exclude(step="closed").filter(merged_into__isnull=True).update(
        awaiting_reply_since=Subquery(unanswered.values("at")[:1])
    )


class Migration(migrations.Migration):
    dependencies = [
        ("complaints", "0013_customer_language_from_cases"),
    ]

    operations = [
        migrations.AddField(
            model_name="case",
            name="awaiting_reply_since",
            field=models.DateTimeField(
                blank=True, editable=False, null=True, verbose_name="waiting on us since"
            ),
        ),
        migrations.AddIndex(
            model_name="case",
            index=models.Index(
                condition=models.Q(("awaiting_reply_since__isnull", False)),
                fields=["awaiting_reply_since"],
                name="case_awaiting_reply",
            ),
        ),
        migrations.RunPython(fill, migrations.RunPython.noop),
    ]
