"""Repeats through the API: a new case answers with what the agent is told at intake (the repeat
flag and the related open cases), a backdated one flags the customer's later cases, and the
list shows the flag and merges at a constant number of queries."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from complaints.merging import case_merge
from complaints.models import Case, Customer

from ..factories import CustomerFactory, receive_case
from .conftest import V1, case_url, queries, references

CASES = f"{V1}/cases/"
NEW_COMPLAINT = {
    "customer": {"name": "Li Na", "phone": "138 0013 8000"},
    "channel": "phone",
    "category": "product_quality",
    "product": "Washing machine W-200",
    "order_number": "SO-881",
    "description": "The drum bangs on spin.",
    "desired_outcome": "A repair this week.",
}


@pytest.fixture
def li_na(db):
    return CustomerFactory(name="Li Na", phone="+8613800138000")


def log(client, **changes):
    return client.post(CASES, {**NEW_COMPLAINT, **changes}, format="json")


def test_a_new_case_answers_with_its_repeat_and_the_related_open_cases(api, agent, li_na):
    previous = receive_case(
        by=agent, customer=li_na, received_at=timezone.now() - timedelta(days=10), product="X"
    )
    same_order = receive_case(by=agent, order_number="SO-881", product="Y")
    same_product = receive_case(by=agent, order_number="", product="washing machine w-200")
    receive_case(by=agent, order_number="SO-2", product="Z")

    response = log(api(agent))

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["repeat_of"] == previous.reference
    related = {row["reference"]: row for row in body["related_open_cases"]}
    assert set(related) == {previous.reference, same_order.reference, same_product.reference}
    assert related[previous.reference]["same_customer"] is True
    assert related[same_order.reference]["same_order"] is True
    assert related[same_product.reference]["same_product"] is True
    assert related[same_order.reference]["url"].endswith(case_url(same_order))
    assert body["reference"] not in related


def test_a_first_complaint_answers_with_no_repeat(api, agent):
    body = log(api(agent)).json()

    assert body["repeat_of"] is None
    assert body["related_open_cases"] == []


def test_a_backdated_complaint_makes_the_later_case_a_repeat(api, agent, li_na):
    later = receive_case(by=agent, customer=li_na, received_at=timezone.now() - timedelta(days=3))
    assert later.repeat_of is None

    response = log(api(agent), received_at=(timezone.now() - timedelta(days=20)).isoformat())

    assert response.status_code == 201, response.json()
    backdated = Case.objects.get(reference=response.json()["reference"])
    later.refresh_from_db()
    assert later.repeat_of == backdated
    assert api(agent).get(case_url(later)).json()["repeat_of"] == backdated.reference


def test_a_refused_new_case_flags_nothing(api, agent, li_na):
    later = receive_case(by=agent, customer=li_na)

    response = log(
        api(agent), received_at=(timezone.now() - timedelta(days=20)).isoformat(), channel="fax"
    )

    assert response.status_code == 400
    later.refresh_from_db()
    assert later.repeat_of is None
    assert Customer.objects.count() == 1


def _build(agent, count: int) -> None:
    """``count`` customers with two cases each (the second a repeat), half of them merged."""
    for n in range(count):
        customer = CustomerFactory()
        first = receive_case(
            by=agent, customer=customer, received_at=timezone.now() - timedelta(days=2)
        )
        second = receive_case(by=agent, customer=customer)
        if n % 2:
            case_merge(survivor=first, absorbed=second, by=agent, note="Same.")


def test_the_list_shows_repeats_and_merges_at_a_constant_number_of_queries(api, agent):
    client = api(agent)
    _build(agent, 2)
    client.get(CASES)
    few = queries(client, CASES)

    _build(agent, 10)

    response = client.get(CASES)
    rows = response.json()["results"]
    assert len(references(response)) == 24
    assert any(row["repeat_of"] for row in rows)
    assert any(row["merged_into"] for row in rows)
    assert queries(client, CASES) == few
