"""Writing the benchmarks' rows fast: PostgreSQL's ``COPY``, built from the models' own fields
and defaults (the code under test reads rows; it does not care how they were made)."""

from __future__ import annotations

from collections.abc import Iterable

from django.db import connection


def copy_rows(model, rows: Iterable[dict], **fixed) -> int:
    """``COPY`` rows into the model's table: every concrete field but the primary key, from
    ``fixed`` or the row, else the field's default. Returns how many were written."""
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    template = model(**fixed)
    # pre_save: what a save would write (auto_now and auto_now_add fields included).
    base = {f.attname: f.get_db_prep_save(f.pre_save(template, True), connection) for f in fields}
    names = [f.attname for f in fields]
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    table = connection.ops.quote_name(model._meta.db_table)
    count = 0
    with (
        connection.cursor() as cursor,
        cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy,
    ):
        for row in rows:
            copy.write_row([row.get(name, base[name]) for name in names])
            count += 1
    return count
