"""The case lists at volume (issue 19): a multiple choice filters with one IN and no DISTINCT,
and a page's rows are read after its keys (``complaints.paging``) in the list's order."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from complaints.models import Case
from complaints.paging import DeferredJoinPaginator

from ..factories import CustomerFactory, receive_case


@pytest.fixture
def named(agent):
    """Seven cases whose customers' names sort in another order than the cases were received."""
    return [
        receive_case(by=agent, customer=CustomerFactory(name=name))
        for name in ("Gus", "Ann", "Fay", "Bob", "Eve", "Cy", "Dan")
    ]


def test_a_multiple_choice_filter_is_one_in_without_distinct(client, agent, named):
    client.force_login(agent)
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/cases/?step=receive&step=listen")
    assert response.status_code == 200
    case_queries = [q["sql"] for q in queries if '"complaints_case"' in q["sql"]]
    assert not [sql for sql in case_queries if "DISTINCT" in sql]
    assert any(re.search(r'"step"\W* IN \(', sql) for sql in case_queries)


def test_the_api_tier_filter_is_one_in_without_distinct(api, agent, named):
    client = api(agent)
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/api/v1/cases/?tier=0&tier=1")
    assert response.status_code == 200
    assert response.json()["count"] == 7
    assert not [q for q in queries if "DISTINCT" in q["sql"] and "complaints_case" in q["sql"]]


def test_pages_keep_the_lists_order_across_pages(named):
    ordered = Case.objects.order_by("customer__name", "-pk")
    read = []

    def rows(keys):
        read.append(list(keys))
        return Case.objects.filter(pk__in=keys)

    paginator = DeferredJoinPaginator(ordered, 3, rows=rows)
    shown = [c.customer.name for n in paginator.page_range for c in paginator.page(n)]
    assert shown == ["Ann", "Bob", "Cy", "Dan", "Eve", "Fay", "Gus"]
    assert [len(keys) for keys in read] == [3, 3, 1]  # each page's rows alone


def test_the_list_page_sorted_by_customer_shows_its_page_in_order(client, agent, named):
    client.force_login(agent)
    references = {c.customer.name: c.reference for c in named}
    page = client.get("/cases/?ordering=customer").content.decode()
    order = [page.index(references[name]) for name in sorted(references)]
    assert order == sorted(order)


def test_the_api_list_sorted_by_customer_pages_in_order(api, agent, named):
    client = api(agent)
    first = client.get("/api/v1/cases/?ordering=customer&page_size=4").json()
    second = client.get("/api/v1/cases/?ordering=customer&page_size=4&page=2").json()
    names = {c.reference: c.customer.name for c in named}
    shown = [names[row["reference"]] for row in first["results"] + second["results"]]
    assert shown == ["Ann", "Bob", "Cy", "Dan", "Eve", "Fay", "Gus"]
    assert first["count"] == 7
