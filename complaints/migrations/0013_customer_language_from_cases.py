"""Customers logged before Heed kept their language: the one their latest case is written in
(``complaints.languages.language_guess``), read in batches so that a large table is never held
in memory. Every customer starts as the deployment's default; only those whose latest case is
in the other language are written."""

from django.conf import settings
from django.db import migrations

BATCH = 2000


def guess(apps, schema_editor):
    from complaints.languages import language_guess

    Case = apps.get_model("complaints", "Case")
    Customer = apps.get_model("complaints", "Customer")
    last_id = 0
    while True:
        ids = list(
            Customer.objects.filter(pk__gt=last_id).order_by("pk").values_list("pk", flat=True)[
                :BATCH
            ]
        )
        if not ids:
            return
        last_id = ids[-1]
        latest = {}
        for customer_id, description, account in (
            Case.objects.filter(customer_id__in=ids)
            .order_by("customer_id", "received_at")
            .values_list("customer_id", "description", "customer_account")
        ):
            latest[customer_id] = (description, account)
        by_language = {}
        for customer_id, texts in latest.items():
            language = language_guess(*texts)
            if language != settings.LANGUAGE_CODE:
                by_language.setdefault(language, []).append(customer_id)
        for language, customer_ids in by_language.items():
            Customer.objects.filter(pk__in=customer_ids).update(language=language)


class Migration(migrations.Migration):
    dependencies = [("complaints", "0012_customer_contact_preferences")]

    operations = [migrations.RunPython(guess, migrations.RunPython.noop)]
