"""Benchmark: logging a complaint by each way in, over the volume data set (``make bench``).

Target (issue 19): every way in ≤ 12 queries. Each request logs a new complaint from a new
customer (a new phone number each time); the median of 7 is printed with the query count and
the plan of the slowest query.
"""

from __future__ import annotations

import itertools

import pytest
from rest_framework.test import APIClient

from api.tokens import api_token_issue
from tests.factories import intake_form, public_form

from .measure import measure, report

pytestmark = [pytest.mark.bench, pytest.mark.django_db]

_numbers = itertools.count(1)


def _phone() -> str:
    return f"+86137{next(_numbers):08d}"


def _public_form() -> dict:
    return public_form(phone=_phone(), email="")


def _new_complaint() -> dict:
    return intake_form(phone=_phone())


def _api_complaint() -> dict:
    return {
        "customer": {"name": "Li Na", "phone": _phone()},
        "channel": "phone",
        "category": "product_quality",
        "urgency": "yellow",
        "product": "Washing machine W-200",
        "order_number": "SO-881",
        "description": "The drum bangs on spin.",
        "desired_outcome": "A repair this week.",
    }


def test_intake_by_every_way_in(client, dataset, settings):
    settings.CUSTOMER_RATE_LIMIT = settings.PUBLIC_FORM_RATE_LIMIT = 10**6
    public = measure("Public form", lambda: client.post("/complain/", _public_form()), expect=303)
    client.force_login(dataset.agent)
    agent = measure(
        "New complaint (agent)", lambda: client.post("/intake/new/", _new_complaint()), expect=302
    )
    api = APIClient()
    token = api_token_issue(user=dataset.agent, name="bench")[1]
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    by_api = measure(
        "API", lambda: api.post("/api/v1/cases/", _api_complaint(), format="json"), expect=201
    )
    report("Intake (a new customer each time):", [public, agent, by_api])
