import django.contrib.postgres.search
from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVector
from django.db import migrations, models

from complaints import text

SEARCHED_FIELDS = ("reference", "product", "order_number", "description", "desired_outcome")


def search_vectors_fill(apps, schema_editor):
    """Every case's search vector, as ``complaints.search.search_vector_of`` writes it
    (PostgreSQL only: SQLite keeps none)."""
    if schema_editor.connection.vendor != "postgresql":
        return
    Case = apps.get_model("complaints", "Case")
    table = schema_editor.quote_name(Case._meta.db_table)
    last = 0
    while True:
        batch = list(
            Case.objects.filter(pk__gt=last)
            .order_by("pk")
            .values_list("pk", *SEARCHED_FIELDS)[:2000]
        )
        if not batch:
            return
        rows = [(text.bigram_document("\n".join(v or "" for v in row[1:])), row[0]) for row in batch]
        with schema_editor.connection.cursor() as cursor:
            cursor.executemany(
                f"UPDATE {table} SET search_vector = to_tsvector('simple', %s) WHERE id = %s", rows
            )
        last = batch[-1][0]


# PostgreSQL only: the case lists' search box (complaints.search) matches the case's stored
# vector, and the customer's details by this expression, the same as
# ``complaints.search.CUSTOMER_VECTOR`` (a test reads the plan). SQLite searches with LIKE, so
# it gets none: hence not in the models' Meta.
def _indexes(apps):
    return (
        (
            apps.get_model("complaints", "Case"),
            GinIndex(fields=["search_vector"], name="case_search"),
        ),
        (
            apps.get_model("complaints", "Customer"),
            GinIndex(
                SearchVector("name", "phone", "email", config="simple"), name="customer_search"
            ),
        ),
    )


def search_indexes_create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for model, index in _indexes(apps):
            schema_editor.add_index(model, index)


def search_indexes_drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for model, index in _indexes(apps):
            schema_editor.remove_index(model, index)


class Migration(migrations.Migration):
    dependencies = [
        ("complaints", "0018_append_only_trigger"),
    ]

    operations = [
        migrations.AddField(
            model_name="case",
            name="search_vector",
            field=django.contrib.postgres.search.SearchVectorField(editable=False, null=True),
        ),
        migrations.RunPython(search_vectors_fill, migrations.RunPython.noop, elidable=True),
        migrations.RunPython(search_indexes_create, search_indexes_drop),
        # Sorting a list by customer reads the customers in name order.
        migrations.AddIndex(
            model_name="customer",
            index=models.Index(fields=["name"], name="customer_name"),
        ),
    ]
