"""What logging a complaint costs the database, by each way in (issue 19: intake ≤ 12 queries
for its own work). Counted without savepoints, which the test's own transaction adds around
every atomic block (in production the outer one is BEGIN and COMMIT), and without the
request's session and permissions. A statement added to intake shows here."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from ..factories import intake_form, public_form

pytestmark = pytest.mark.django_db

# The customer looked up and written (2); the month's reference (1); the customer locked with
# the repeat flag read (1); the case, its tracking link, its event and the notice to the
# customer (4); the time-limit policy (1) and the deadlines (1) and the case's next deadline
# (1); the webhook subscriptions (1).
INTAKE = 12


def _statements(queries) -> list[str]:
    skipped = ("SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK TO SAVEPOINT")
    return [q["sql"] for q in queries if not q["sql"].startswith(skipped)]


def _intake_only(statements: list[str]) -> list[str]:
    """Leave out the request's own reads and writes: its session, its user and their
    permissions, its API token."""
    request = (
        "django_session",
        "auth_permission",
        '"api_apitoken"',
        'FROM "complaints_user" WHERE "complaints_user"."id" =',  # the signed-in user
        'INNER JOIN "complaints_user_groups"',  # their groups (their tier)
    )
    return [sql for sql in statements if not any(name in sql for name in request)]


def test_the_new_complaint_screen(client, agent):
    client.force_login(agent)
    client.post("/intake/new/", intake_form(phone="138 0013 8001"))  # the caches of a process
    with CaptureQueriesContext(connection) as queries:
        response = client.post("/intake/new/", intake_form(phone="138 0013 8002"))
    assert response.status_code == 302
    assert len(_intake_only(_statements(queries))) == INTAKE


def test_the_api(api, agent):
    body = {
        "customer": {"name": "Li Na", "phone": "138 0013 8002"},
        "channel": "phone",
        "category": "product_quality",
        "description": "The drum bangs on spin.",
        "desired_outcome": "A repair this week.",
    }
    client = api(agent)
    client.post("/api/v1/cases/", {**body, "customer": {"name": "Li", "phone": "13800138001"}})
    with CaptureQueriesContext(connection) as queries:
        response = client.post("/api/v1/cases/", body, format="json")
    assert response.status_code == 201
    # The answer reads the open cases related to it (1).
    assert len(_intake_only(_statements(queries))) == INTAKE + 1


def test_the_public_form(client, settings):
    form = public_form(phone="138 0013 8002", email="")
    client.post("/complain/", {**form, "phone": "138 0013 8001"})
    with CaptureQueriesContext(connection) as queries:
        response = client.post("/complain/", form)
    assert response.status_code == 303
    # The web form's own user, who receives what customers send (1); the thank-you page says
    # where the acknowledgement went: its notice (1).
    assert len(_intake_only(_statements(queries))) == INTAKE + 2
