"""The history tables are append-only, and on PostgreSQL the database says so
(complaints.append_only): every way of changing or removing a row that the issue found getting
through the ORM's guard — raw SQL as the app's own user, ``_base_manager.update()``,
``QuerySet(...).delete()``, ``_raw_delete()``, ``Model.save()`` on an existing row — is refused,
while adding rows goes on. Every append-only model's table carries the trigger."""

from __future__ import annotations

import pytest
from django.db import DatabaseError, connection, models, transaction

from complaints.append_only import append_only_tables
from complaints.models import CaseEvent

from ..databases import postgresql_only

pytestmark = [pytest.mark.django_db, postgresql_only("the trigger is PostgreSQL's")]


def refused(action) -> str:
    with pytest.raises(DatabaseError) as caught, transaction.atomic():
        action()
    return str(caught.value)


def test_every_append_only_table_has_the_trigger():
    tables = set(append_only_tables())
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
            "WHERE t.tgname = 'heed_append_only' AND NOT t.tgisinternal"
        )
        triggered = {row[0] for row in cursor.fetchall()}

    assert {"complaints_caseevent", "improvement_actionevent", "knowledge_articleversion"} <= tables
    assert tables <= triggered


def test_raw_sql_cannot_change_or_remove_an_event(case):
    event = case.events.get()
    table = CaseEvent._meta.db_table

    def raw(sql: str):
        def run():
            with connection.cursor() as cursor:
                cursor.execute(sql, [event.pk])

        return run

    updated = refused(raw(f"UPDATE {table} SET note = 'rewritten' WHERE id = %s"))
    deleted = refused(raw(f"DELETE FROM {table} WHERE id = %s"))

    assert "complaints_caseevent rows are append-only: UPDATE refused" in updated
    assert "complaints_caseevent rows are append-only: DELETE refused" in deleted
    event.refresh_from_db()
    assert event.note == ""


@pytest.mark.parametrize(
    "back_door",
    [
        lambda event: CaseEvent._base_manager.filter(pk=event.pk).update(note="rewritten"),
        lambda event: models.QuerySet(CaseEvent).filter(pk=event.pk).delete(),
        lambda event: models.QuerySet(CaseEvent).filter(pk=event.pk)._raw_delete(connection.alias),
        lambda event: models.Model.save(event),
    ],
    ids=["base-manager-update", "queryset-delete", "raw-delete", "model-save"],
)
def test_the_orm_s_back_doors_are_closed(case, agent, back_door):
    # An internal note: nothing else refers to it (no notice), so only the trigger stands.
    event = CaseEvent.objects.create(case=case, actor=agent, kind=CaseEvent.Kind.NOTE, note="N")
    event.note = "rewritten"

    message = refused(lambda: back_door(event))

    assert "rows are append-only" in message
    assert CaseEvent.objects.filter(pk=event.pk, note="N").exists()


def test_events_are_still_added(case, agent):
    CaseEvent.objects.create(case=case, actor=agent, kind=CaseEvent.Kind.NOTE, note="More.")

    assert case.events.count() == 2
