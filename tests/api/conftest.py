"""The API's cast: the shared personas (tests/conftest.py), each calling the API as an
integration does, with a real token from ``api_token_issue``; and what the API tests share."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from complaints import services
from complaints.models import Case, Step, Tier
from escalation.models import Policy
from escalation.sweep import sweep

from ..caches import cache_clear
from ..factories import receive_case, walk

V1 = "/api/v1"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture(autouse=True)
def _cache_cleared():
    """The tracking and sign-in limits and DRF's per-user throttle count requests in the cache,
    which outlives a test (and SQLite hands the same user ids out again): every test starts
    with nothing counted."""
    cache_clear()
    yield
    cache_clear()


# ---------------------------------------------------------------- shared helpers


def case_url(case: Case | str, action: str = "") -> str:
    reference = case if isinstance(case, str) else case.reference
    return f"{V1}/cases/{reference}/" + (f"{action}/" if action else "")


def read(row) -> dict:
    """The If-Match header of a client that has just read the case or the action (its current
    ETag), for a write: the API refuses one that says no version (428)."""
    version = type(row).objects.values_list("version", flat=True).get(pk=row.pk)
    return {"HTTP_IF_MATCH": f'"{version}"'}


def error(response, status: int, code: str) -> dict:
    """The body's ``error`` after checking it is the API's one error format with this status
    and code; returns it for the test to look at its message and fields."""
    assert response.status_code == status, (response.status_code, response.content[:500])
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "fields"}
    assert body["error"]["code"] == code, body
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    assert isinstance(body["error"]["fields"], dict)
    return body["error"]


def references(response) -> list[str]:
    assert response.status_code == 200, response.content[:500]
    return [row["reference"] for row in response.json()["results"]]


def queries(client: APIClient, url: str) -> int:
    """How many queries one GET of ``url`` makes (answered 200)."""
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200, response.content[:500]
    return len(captured)


def png(name: str = "drum.png") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, PNG, content_type="image/png")


def event_kinds(case: Case) -> list[str]:
    return list(case.events.order_by("at", "pk").values_list("kind", flat=True))


# ---------------------------------------------------------------- cases further along


@pytest.fixture
def decide_case(agent, handler, after_sales):
    """Make an After-sales case at Decide, the handler responsible, received ``days_ago``."""

    def make(*, days_ago: float = 0, **overrides) -> Case:
        case = receive_case(
            by=agent, received_at=timezone.now() - timedelta(days=days_ago), **overrides
        )
        return walk(case, to=Step.DECIDE, by=agent, department=after_sales, person=handler)

    return make


@pytest.fixture
def escalated_case(decide_case):
    """An After-sales case received two days ago whose overdue "Decide finished" milestone the
    sweep escalated to the department head (tier 0 → 1)."""
    case = decide_case(days_ago=2)
    sweep()
    case.refresh_from_db()
    assert case.tier == Tier.DEPARTMENT_HEAD
    return case


@pytest.fixture
def remedy_case(decide_case, handler):
    """Make an After-sales case at Decide whose handler recorded a remedy of ``value``."""

    def make(value: str) -> Case:
        case = decide_case()
        services.case_update(
            case=case,
            by=handler,
            data={
                "remedy_types": ["replacement"],
                "remedy_plan": "Replace the machine.",
                "remedy_value": Decimal(value),
            },
        )
        return case

    return make


@pytest.fixture
def waiting_case(decide_case):
    """An After-sales case at Decide whose policy lets every milestone wait on the customer."""
    Policy.objects.create(
        name="Delays",
        category="service_process",
        pausable_milestones=["decided", "acted", "closed"],
    )
    return decide_case(category="service_process")
