"""The app's database role (``manage.py database_app_role``, run by the tables' owner after
migrate): it logs in, is no superuser and owns nothing, so it can neither disable the
append-only trigger nor drop a table; it reads and adds to the append-only tables but may not
change or remove their rows, reads django_migrations, and reads and writes everything else —
enough for the app's own work (intake, the lifecycle, the sweep, reminders, the outbox, the
rollup). Running the command again puts the grants back as they must be.

Each test makes a role of its own (the suite runs in parallel) and leaves none behind."""

from __future__ import annotations

import uuid
from datetime import timedelta
from io import StringIO

import psycopg
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.utils import timezone
from psycopg import errors, sql

from complaints.append_only import append_only_tables
from complaints.models import Case, CaseEvent, Step
from conversation.outbox import notices_deliver
from conversation.reminders import reminders_send
from escalation.sweep import sweep
from reporting.rollup import rollup_rebuild

from .databases import postgresql_only
from .factories import CustomerFactory, receive_case, walk

pytestmark = postgresql_only("roles and grants are PostgreSQL's")

PASSWORD = "s3cret"


def url(role: str, password: str = PASSWORD, database: str | None = None) -> str:
    db = connection.settings_dict
    return f"postgres://{role}:{password}@127.0.0.1:{db['PORT'] or 5432}/{database or db['NAME']}"


def app_role_command(monkeypatch, role: str, password: str = PASSWORD) -> str:
    monkeypatch.setenv("APP_DATABASE_URL", url(role, password))
    out = StringIO()
    call_command("database_app_role", stdout=out)
    return out.getvalue()


@pytest.fixture
def role():
    """A role name of this test's own; the role is dropped afterwards if it was committed."""
    name = f"heed_test_app_{uuid.uuid4().hex[:12]}"
    yield name
    with connection.cursor() as cursor:
        cursor.execute("RESET ROLE")  # if a test failed as the role
        cursor.execute("SELECT EXISTS (SELECT FROM pg_roles WHERE rolname = %s)", [name])
        if cursor.fetchone()[0]:
            # Its privileges here (tables, sequences, the database) go first; it owns nothing.
            cursor.execute(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(name)))
            cursor.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(name)))


def connect(role: str) -> psycopg.Connection:
    db = connection.settings_dict
    return psycopg.connect(
        host="127.0.0.1",
        port=db["PORT"] or 5432,
        dbname=db["NAME"],
        user=role,
        password=PASSWORD,
    )


def refused(conn: psycopg.Connection, statement: str, *params) -> str:
    with pytest.raises(errors.InsufficientPrivilege) as caught:
        conn.execute(statement, params or None)
    conn.rollback()
    return str(caught.value)


def insert_copy_of(model) -> str:
    """INSERT of a copy of a row (its id from its sequence): an event added as the app would."""
    columns = ", ".join(f'"{f.column}"' for f in model._meta.concrete_fields if not f.primary_key)
    return (
        f"INSERT INTO {model._meta.db_table} ({columns}) "  # the names are the model's
        f"SELECT {columns} FROM {model._meta.db_table} WHERE id = %s"
    )


@pytest.mark.django_db(transaction=True)
def test_the_app_role_adds_to_the_event_log_but_cannot_change_it_nor_the_tables(
    role, monkeypatch, agent
):
    case = receive_case(by=agent)
    event = case.events.get()
    app_role_command(monkeypatch, role)

    with connect(role) as conn:
        superuser, owned = conn.execute(
            "SELECT rolsuper, (SELECT count(*) FROM pg_class WHERE relowner = r.oid) "
            "FROM pg_roles r WHERE rolname = current_user"
        ).fetchone()
        assert (superuser, owned) == (False, 0)

        # Reads and adds events (rolled back: this test leaves no row of its own).
        conn.execute(insert_copy_of(CaseEvent), [event.pk])
        count = conn.execute(
            "SELECT count(*) FROM complaints_caseevent WHERE case_id = %s", [case.pk]
        ).fetchone()[0]
        assert count == 2
        conn.rollback()

        for table in append_only_tables():
            for statement in (f"UPDATE {table} SET id = id", f"DELETE FROM {table}"):
                assert "permission denied" in refused(conn, statement)
            assert "permission denied" in refused(conn, f"TRUNCATE {table}")
            assert "must be owner" in refused(conn, f"ALTER TABLE {table} DISABLE TRIGGER ALL")
            assert "must be owner" in refused(conn, f"DROP TABLE {table}")
        assert "must be owner" in refused(conn, "DROP TABLE complaints_case CASCADE")

        # The rest of the app's tables it reads and writes.
        updated = conn.execute(
            "UPDATE complaints_case SET description = description || '.' WHERE id = %s",
            [case.pk],
        ).rowcount
        assert updated == 1
        conn.rollback()

        assert conn.execute("SELECT count(*) FROM django_migrations").fetchone()[0] > 0
        refused(conn, "DELETE FROM django_migrations")

    case.refresh_from_db()
    assert case.description == "The drum is loud."
    assert case.events.count() == 1


@pytest.mark.django_db(transaction=True)
def test_running_it_again_takes_back_what_the_role_must_not_have(role, monkeypatch):
    first = app_role_command(monkeypatch, role)
    with connection.cursor() as cursor:
        cursor.execute(
            sql.SQL("GRANT UPDATE, DELETE, TRUNCATE ON complaints_caseevent TO {}").format(
                sql.Identifier(role)
            )
        )
        cursor.execute(sql.SQL("ALTER ROLE {} CREATEDB").format(sql.Identifier(role)))

    again = app_role_command(monkeypatch, role, password="an0ther")

    assert first.startswith(f"Created the role {role}: read and write on ")
    assert again.startswith(f"Updated the role {role}: ")
    assert f"read and add only on {len(append_only_tables())} append-only ones" in again
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT has_table_privilege(%s, 'complaints_caseevent', 'UPDATE'),"
            " has_table_privilege(%s, 'complaints_caseevent', 'TRUNCATE'),"
            " has_table_privilege(%s, 'complaints_case', 'UPDATE'),"
            " rolcreatedb, rolpassword LIKE 'SCRAM-SHA-256$%%'"
            " FROM pg_authid WHERE rolname = %s",
            [role, role, role, role],
        )
        assert cursor.fetchone() == (False, False, True, False, True)


@pytest.mark.django_db
def test_the_app_s_own_work_runs_as_the_app_role(role, monkeypatch, agent, after_sales, handler):
    """Intake, the lifecycle to Follow up, the sweep, reminders, the outbox and the rollup as
    the app role (SET ROLE in the test's transaction, which takes the role away again)."""
    app_role_command(monkeypatch, role)
    with connection.cursor() as cursor:
        cursor.execute(sql.SQL("SET ROLE {}").format(sql.Identifier(role)))
        cursor.execute("SELECT current_user")
        assert cursor.fetchone()[0] == role

    customer = CustomerFactory(email="li.na@example.com")
    waiting = receive_case(by=agent, customer=customer)
    followed = walk(
        receive_case(by=agent, customer=customer),
        to=Step.FOLLOW_UP,
        by=agent,
        department=after_sales,
        person=handler,
    )
    later = timezone.now() + timedelta(days=30)
    swept = sweep(now=later)
    reminded = reminders_send(now=later)
    delivered = notices_deliver()
    rollup_rebuild(force=True)

    assert swept.count("escalate") > 0 and waiting.escalations.exists()
    assert reminded == 1
    assert delivered > 0
    assert Case.objects.get(pk=followed.pk).step == Step.FOLLOW_UP
    with connection.cursor() as cursor:
        cursor.execute("RESET ROLE")


@pytest.mark.django_db
def test_without_app_database_url_it_says_what_to_set(monkeypatch):
    monkeypatch.delenv("APP_DATABASE_URL", raising=False)

    with pytest.raises(CommandError, match="Set APP_DATABASE_URL"):
        call_command("database_app_role")


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("app_url", "message"),
    [
        (lambda role: url(connection.settings_dict["USER"]), "the owner DATABASE_URL connects as"),
        (lambda role: url(role, database="heed_elsewhere"), "the grants are made in the latter"),
        (lambda role: "sqlite:///heed.sqlite3", "must name a PostgreSQL database"),
        (lambda role: url(role, password=""), "must name the app's role and its password"),
    ],
    ids=["the-owner", "another-database", "sqlite", "no-password"],
)
def test_an_app_database_url_that_is_not_a_role_of_its_own_is_refused(
    role, monkeypatch, app_url, message
):
    monkeypatch.setenv("APP_DATABASE_URL", app_url(role))

    with pytest.raises(CommandError, match=message):
        call_command("database_app_role")


@pytest.mark.django_db
def test_a_role_that_can_become_the_owner_is_refused(role, monkeypatch):
    """A member of the owner's role could SET ROLE to it and disable the trigger."""
    with connection.cursor() as cursor:
        name = sql.Identifier(role)
        cursor.execute(sql.SQL("CREATE ROLE {} LOGIN").format(name))  # undone with the test
        cursor.execute("SELECT current_user")
        owner = sql.Identifier(cursor.fetchone()[0])
        cursor.execute(sql.SQL("GRANT {} TO {}").format(owner, name))

    with pytest.raises(CommandError, match="is a superuser or owns Heed's tables"):
        app_role_command(monkeypatch, role)
