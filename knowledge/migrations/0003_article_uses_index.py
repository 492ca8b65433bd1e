"""PostgreSQL only: the index behind an article's use count (``knowledge.selectors.article_uses``,
on every article page), which finds the notes and messages written from the article's reply
template by the value their event keeps in ``changes`` ({"source": [None,
"knowledge:<article>:<version>"]}). Without it that filter reads the whole event table.

An expression index on exactly the expression Django's ``changes__source__1__startswith``
compiles to (``changes #>> '{source,1}'``), with ``text_pattern_ops`` so that ``LIKE
'knowledge:<article>:%'`` can use it whatever the database's collation, and partial: only the
events that name a source (a small share of the timeline) are in it; the LIKE implies that
condition, so the planner uses it. Built CONCURRENTLY (hence not atomic) so that an existing
event table of millions of rows keeps taking new events meanwhile. SQLite gets no index (its
article pages read the same filter over a small table)."""

from django.db import migrations

INDEX = "caseevent_source_value"


def index_create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {INDEX} ON complaints_caseevent "
            "((changes #>> '{source,1}') text_pattern_ops) "
            "WHERE (changes #>> '{source,1}') IS NOT NULL"
        )


def index_drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {INDEX}")


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("knowledge", "0002_roles"),
        ("complaints", "0011_reporting_indexes"),
    ]

    operations = [migrations.RunPython(index_create, index_drop)]
