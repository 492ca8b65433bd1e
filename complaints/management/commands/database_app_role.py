"""``manage.py database_app_role``: the role the app connects as in production, made or brought
up to date by the tables' owner right after ``migrate`` (docker-compose.yml's ``migrate``
service runs both). The owner can disable the append-only trigger or drop the tables; this role
cannot: it logs in, is no superuser, owns nothing, and may

- read, add, change and delete the rows of every table in schema ``public``, except
- the append-only tables (``complaints.append_only``: case events, action events, article
  versions), which it may only read and add to, and ``django_migrations``, which it may only
  read (``/readyz`` checks that every migration is applied);
- use every sequence (the tables' ids).

APP_DATABASE_URL names the role and its password (and the same database as DATABASE_URL). Safe
to run again: every table's privileges are revoked and granted afresh in the one transaction,
so a table that became append-only loses UPDATE and DELETE, and a new table gets its grants."""

from __future__ import annotations

import os

import environ
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from psycopg import sql

from complaints.append_only import append_only_tables

SCHEMA = "public"
READ_ONLY = ("django_migrations",)
ATTRIBUTES = "LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS"


class Command(BaseCommand):
    help = (
        "Create or update the role APP_DATABASE_URL names: no superuser, owning nothing, "
        "allowed to read and write Heed's tables but only to read and add to the append-only "
        "ones (PostgreSQL; run as the tables' owner after migrate)."
    )

    def handle(self, *args, **options) -> None:
        if connection.vendor != "postgresql":
            raise CommandError("database_app_role is for PostgreSQL only.")
        role, password = self._app_role()
        with transaction.atomic(), connection.cursor() as django_cursor:
            cursor = django_cursor.cursor  # psycopg's own: it takes sql.Composed
            created = self._role(cursor, role, password)
            granted = self._grant(cursor, role)
        what = "Created" if created else "Updated"
        self.stdout.write(
            f"{what} the role {role}: read and write on {len(granted['write'])} tables, read "
            f"and add only on {len(granted['append_only'])} append-only ones, read only on "
            f"{', '.join(granted['read_only'])}, use of {len(granted['sequences'])} sequences."
        )

    def _app_role(self) -> tuple[str, str]:
        url = os.environ.get("APP_DATABASE_URL", "")
        if not url:
            raise CommandError(
                "Set APP_DATABASE_URL to the app's postgres://role:password@host/database."
            )
        config = environ.Env.db_url_config(url)
        if config.get("ENGINE") != "django.db.backends.postgresql":
            raise CommandError("APP_DATABASE_URL must name a PostgreSQL database (postgres://…).")
        role, password = config.get("USER") or "", config.get("PASSWORD") or ""
        if not role or not password:
            raise CommandError("APP_DATABASE_URL must name the app's role and its password.")
        if config.get("NAME") != connection.settings_dict["NAME"]:
            raise CommandError(
                f"APP_DATABASE_URL names the database {config['NAME']}, DATABASE_URL "
                f"{connection.settings_dict['NAME']}: the grants are made in the latter."
            )
        return role, password

    def _role(self, cursor, role: str, password: str) -> bool:
        """Create the role or bring an existing one back to the attributes; refuse one that is
        the owner, a superuser or a member of a role owning the schema's tables (it could
        disable the trigger): the app needs a role of its own."""
        name = sql.Identifier(role)
        cursor.execute(
            "SELECT current_user, EXISTS (SELECT FROM pg_roles WHERE rolname = %s)", [role]
        )
        owner, exists = cursor.fetchone()
        if role == owner:
            raise CommandError(
                f"APP_DATABASE_URL names {role}, the owner DATABASE_URL connects as: the app "
                "needs a role of its own."
            )
        if exists:
            cursor.execute(
                "SELECT rolsuper OR EXISTS ("
                "  SELECT FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
                "   WHERE n.nspname = %s AND pg_has_role(r.oid, c.relowner, 'MEMBER')"
                ") FROM pg_roles r WHERE r.rolname = %s",
                [SCHEMA, role],
            )
            if cursor.fetchone()[0]:
                raise CommandError(
                    f"The role {role} is a superuser or owns Heed's tables (or is a member of "
                    "their owner): the app needs a role of its own."
                )
        # Hashed here (as the server's password_encryption says: SCRAM by default), so that the
        # plain password is not in a statement the server's log could keep.
        hashed = cursor.connection.pgconn.encrypt_password(
            password.encode(), role.encode(), None
        ).decode()
        verb = sql.SQL("ALTER ROLE" if exists else "CREATE ROLE")
        cursor.execute(
            sql.SQL("{} {} {} PASSWORD {}").format(
                verb, name, sql.SQL(ATTRIBUTES), sql.Literal(hashed)
            )
        )
        return not exists

    def _grant(self, cursor, role: str) -> dict[str, list[str]]:
        """The grants afresh; returns the relations granted, by kind of grant."""
        name, schema = sql.Identifier(role), sql.Identifier(SCHEMA)
        cursor.execute(
            "SELECT c.relname, c.relkind FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = %s AND c.relkind IN ('r', 'p', 'v', 'm', 'S') ORDER BY c.relname",
            [SCHEMA],
        )
        relations = cursor.fetchall()
        tables = [relname for relname, kind in relations if kind in ("r", "p")]
        views = [relname for relname, kind in relations if kind in ("v", "m")]
        sequences = [relname for relname, kind in relations if kind == "S"]
        append_only = append_only_tables()
        missing = sorted(set(append_only) - set(tables))
        if missing:
            raise CommandError(f"No table {', '.join(missing)}: run migrate first.")

        cursor.execute(
            sql.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(
                sql.Identifier(connection.settings_dict["NAME"]), name
            )
        )
        cursor.execute(sql.SQL("GRANT USAGE ON SCHEMA {} TO {}").format(schema, name))
        # Afresh: whatever an earlier run (or a person) granted goes, TRUNCATE included.
        for objects in ("TABLES", "SEQUENCES"):
            cursor.execute(
                sql.SQL("REVOKE ALL ON ALL {} IN SCHEMA {} FROM {}").format(
                    sql.SQL(objects), schema, name
                )
            )
        granted: dict[str, list[str]] = {"write": [], "append_only": [], "read_only": []}
        for table in tables:
            if table in append_only:
                privileges, kind = "SELECT, INSERT", "append_only"
            elif table in READ_ONLY:
                privileges, kind = "SELECT", "read_only"
            else:
                privileges, kind = "SELECT, INSERT, UPDATE, DELETE", "write"
            self._grant_on(cursor, privileges, "TABLE", table, name)
            granted[kind].append(table)
        for view in views:
            self._grant_on(cursor, "SELECT", "TABLE", view, name)
            granted["read_only"].append(view)
        for sequence in sequences:
            self._grant_on(cursor, "USAGE, SELECT", "SEQUENCE", sequence, name)
        return {**granted, "sequences": sequences}

    @staticmethod
    def _grant_on(cursor, privileges: str, kind: str, relation: str, role: sql.Identifier):
        cursor.execute(
            sql.SQL("GRANT {} ON {} {} TO {}").format(
                sql.SQL(privileges),
                sql.SQL(kind),
                sql.Identifier(SCHEMA, relation),
                role,
            )
        )
