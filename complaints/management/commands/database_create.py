"""``manage.py database_create``: make the database DATABASE_URL names if it does not exist yet
(PostgreSQL), so that `make run` on a new DATABASE_URL sets up instead of failing with a
traceback. SQLite makes its file itself; an existing database is left alone."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from django.db.utils import OperationalError


class Command(BaseCommand):
    help = "Create the database DATABASE_URL names, if it does not exist yet (PostgreSQL)."

    def handle(self, *args, **options) -> None:
        if connection.vendor != "postgresql":
            return
        try:
            connection.ensure_connection()
            return  # it exists
        except OperationalError as error:
            if "does not exist" not in str(error):
                raise CommandError(f"Cannot reach the database: {error}") from error
        name = connection.settings_dict["NAME"]
        # The server's maintenance database, as the same user.
        with connection._nodb_cursor() as cursor:
            cursor.execute(f"CREATE DATABASE {connection.ops.quote_name(name)}")
        self.stdout.write(f"Created the database {name}.")
