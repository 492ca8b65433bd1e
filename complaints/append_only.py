"""The history tables' rule, enforced by the database: on PostgreSQL a trigger refuses every
UPDATE and DELETE of a row of an append-only table (``AppendOnlyModel``: case events, action
events, article versions), whoever sends it — the ORM's back doors (``_base_manager``,
``QuerySet(...).delete()``, ``Model.save`` on an existing row) and raw SQL alike. On SQLite the
ORM's guard (``AppendOnlyModel``) is all there is.

Each app's migration that makes an append-only table calls ``trigger_create`` for it (the
function ``heed_append_only`` comes with complaints' own); tests/complaints/test_append_only.py
checks that every append-only model's table has it. The tables' owner could disable the trigger,
so in production the app connects as a role that owns nothing and may only read and add to these
tables (``manage.py database_app_role``, run by the owner after ``migrate``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.apps import apps

if TYPE_CHECKING:
    from django.db import models

FUNCTION = "heed_append_only"
TRIGGER = "heed_append_only"

_FUNCTION_SQL = f"""
CREATE OR REPLACE FUNCTION {FUNCTION}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% rows are append-only: % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'restrict_violation';
END
$$;
"""


def append_only_models() -> list[type[models.Model]]:
    """Every concrete ``AppendOnlyModel``: the tables the trigger guards and the app role may
    only read and add to (the migrations name theirs one by one, as of their time)."""
    from complaints.models import AppendOnlyModel  # not at the top: migrations import this module

    return [
        model
        for model in apps.get_models()
        if issubclass(model, AppendOnlyModel) and not model._meta.abstract
    ]


def append_only_tables() -> list[str]:
    return sorted(model._meta.db_table for model in append_only_models())


def _postgresql(schema_editor) -> bool:
    return schema_editor.connection.vendor == "postgresql"


def function_create(schema_editor) -> None:
    if _postgresql(schema_editor):
        schema_editor.execute(_FUNCTION_SQL, params=None)  # its % are the message's, not ours


def trigger_create(schema_editor, table: str) -> None:
    """Refuse UPDATE and DELETE on ``table`` (PostgreSQL; nothing on SQLite)."""
    if not _postgresql(schema_editor):
        return
    quoted = schema_editor.quote_name(table)
    schema_editor.execute(f"DROP TRIGGER IF EXISTS {TRIGGER} ON {quoted}")
    schema_editor.execute(
        f"CREATE TRIGGER {TRIGGER} BEFORE UPDATE OR DELETE ON {quoted} "
        f"FOR EACH ROW EXECUTE FUNCTION {FUNCTION}()"
    )


def trigger_drop(schema_editor, table: str) -> None:
    if _postgresql(schema_editor):
        schema_editor.execute(
            f"DROP TRIGGER IF EXISTS {TRIGGER} ON {schema_editor.quote_name(table)}"
        )


def for_migration(app_label: str, *model_names: str, with_function: bool = False):
    """The RunPython operation that puts the trigger on these models' tables (and takes it off
    when the migration is reversed)."""
    from django.db import migrations

    def tables(apps) -> list[str]:
        return [apps.get_model(app_label, name)._meta.db_table for name in model_names]

    def forwards(apps, schema_editor):
        if with_function:
            function_create(schema_editor)
        for table in tables(apps):
            trigger_create(schema_editor, table)

    def backwards(apps, schema_editor):
        for table in tables(apps):
            trigger_drop(schema_editor, table)

    return migrations.RunPython(forwards, backwards)
