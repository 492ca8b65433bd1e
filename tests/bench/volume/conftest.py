"""The volume benchmarks run against one kept database, ``test_<name>_volume``, holding the data
set of ``dataset.py``: built on the first run (a few minutes), reused by the next ones.

pytest-django creates and migrates the database only when it is missing (``keepdb``) and
applies the migrations that are new; each benchmark runs in a transaction that is rolled back.
The folder runs in a pytest session of its own (``make bench`` runs it apart): one session has
one test database.
"""

import pytest

from .dataset import Dataset, dataset_ensure


@pytest.fixture(scope="session")
def django_db_modify_db_settings():
    from django.conf import settings

    db = settings.DATABASES["default"]
    if db["ENGINE"] != "django.db.backends.postgresql":
        pytest.exit("The volume benchmarks need PostgreSQL: set DATABASE_URL.", returncode=4)
    db.setdefault("TEST", {})["NAME"] = f"test_{db['NAME']}_volume"


@pytest.fixture(scope="session")
def django_db_keepdb():
    return True


@pytest.fixture(scope="session")
def dataset(django_db_setup, django_db_blocker) -> Dataset:
    with django_db_blocker.unblock():
        return dataset_ensure()


def pytest_collection_finish(session):
    here = session.config.rootpath / "tests" / "bench" / "volume"
    ours = [item for item in session.items if here in item.path.parents]
    if ours and len(ours) != len(session.items):
        raise pytest.UsageError(
            "Run tests/bench/volume in a pytest session of its own (it keeps its own "
            "database): make bench does."
        )
