"""What a test needs of the database: ``postgresql_only(why)`` skips it on SQLite, saying why
and how to run it (``make test`` uses SQLite unless DATABASE_URL names PostgreSQL; CI always
names it, so nothing marked here is skipped there)."""

from __future__ import annotations

import pytest
from django.db import connection


def postgresql_only(why: str) -> pytest.MarkDecorator:
    return pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason=f"needs PostgreSQL: {why} (set DATABASE_URL=postgres://…)",
    )
