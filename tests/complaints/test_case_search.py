"""The case lists' search (``complaints.search``): what it finds, that the case's stored vector
follows its text, and that PostgreSQL reads it through the indexes. The lists' own search tests
(by name, phone, email, words, reference) are in test_views.py and tests/api/test_cases.py."""

from __future__ import annotations

import pytest
from django.contrib.postgres.search import SearchQuery
from django.db import connection

from complaints import services
from complaints.filters import CaseFilter
from complaints.models import Case, Customer
from complaints.search import CUSTOMER_VECTOR, cases_search, search_document

from ..databases import postgresql_only
from ..factories import CustomerFactory, receive_case


def pg(test):
    """Full-text search is PostgreSQL's (SQLite compares with LIKE: test_views.py)."""
    return pytest.mark.pg(postgresql_only("full-text search")(test))


def found(typed: str) -> set[str]:
    return set(cases_search(Case.objects.all(), typed).values_list("reference", flat=True))


@pytest.fixture
def cases(agent):
    return {
        "refund": receive_case(
            by=agent,
            customer=CustomerFactory(name="Anna Quist", phone="+8613911110001"),
            description="I was charged twice; please refund the second payment.",
            order_number="SO-5550001",
        ),
        "chinese": receive_case(
            by=agent,
            customer=CustomerFactory(name="王伟", phone="+8613911110002"),
            description="同一个订单扣了两次款，请退款。",  # noqa: RUF001 (Chinese punctuation)
            product="洗衣机 W-200",
        ),
        "loud": receive_case(
            by=agent,
            customer=CustomerFactory(name="Tom Brown", phone="+8613911110003"),
            description="The drum is loud on spin.",
            desired_outcome="A repair this week.",
        ),
    }


@pg
@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("refund", {"refund"}),
        ("REFUN", {"refund"}),  # a prefix, in any case
        ("charged refund", {"refund"}),  # every word
        ("charged drum", set()),  # ... in the same case
        ("退款", {"chinese"}),  # a Chinese word inside a sentence, by its bigrams
        ("洗衣机", {"chinese"}),  # the product
        ("王伟", {"chinese"}),  # a Chinese name
        ("王", {"chinese"}),  # ... by its beginning
        ("quist", {"refund"}),  # a name
        ("anna quist", {"refund"}),
        ("139 1111 0003", {"loud"}),  # a phone, as typed
        ("5550001", {"refund"}),  # an order number's digits (taken for a phone too)
        ("repair week", {"loud"}),  # what the customer wants
        ("!!", set()),  # nothing to look for: references that begin so
    ],
)
def test_search_finds_by_words_names_and_numbers(cases, typed, expected):
    assert found(typed) == {cases[name].reference for name in expected}


@pg
def test_search_by_a_whole_reference_or_email_is_exact(cases):
    refund = cases["refund"]
    assert found(refund.reference.lower()) == {refund.reference}
    assert found(refund.customer.email.upper()) == {refund.reference}
    assert found(refund.customer.email[:6] + "@") == set()  # no address begins so
    assert found(refund.customer.email.split(".")[0]) == {refund.reference}  # its beginning


@pg
def test_the_vector_follows_the_cases_text(agent, cases):
    loud = cases["loud"]
    services.case_update(case=loud, by=agent, data={"description": "The door seal leaks."})
    assert found("leaks") == {loud.reference}
    assert found("drum") == set()


@pg
def test_a_customers_new_name_is_found_at_once(cases):
    customer = Customer.objects.get(pk=cases["loud"].customer_id)
    customer.name = "Thomas Braun"
    customer.save()  # as the admin does: nothing else to keep
    assert found("braun") == {cases["loud"].reference}
    assert found("brown") == set()


def _plan(cursor, queryset) -> str:
    sql, params = queryset.query.sql_with_params()
    cursor.execute(f"EXPLAIN {sql}", params)
    return "\n".join(row[0] for row in cursor.fetchall())


@pg
def test_search_reads_the_indexes(cases):
    """The customers' index is built from ``CUSTOMER_VECTOR`` as the search writes it, and the
    cases' from their stored vector: a drift between them would show here as a plan without
    the index."""
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")  # three cases: make the plan show intent
        cases_plan = _plan(cursor, cases_search(Case.objects.order_by(), "refund").values("pk"))
        customers = Customer.objects.alias(vector=CUSTOMER_VECTOR).filter(
            vector=SearchQuery("quist:*", config="simple", search_type="raw")
        )
        customers_plan = _plan(cursor, customers.values("pk"))
    assert "case_search" in cases_plan
    assert "customer_search" in customers_plan


def test_the_search_document_holds_the_searched_fields(agent):
    case = receive_case(
        by=agent, product="Fridge F-310", order_number="SO-42", description="冰箱不制冷"
    )
    document = search_document(case).split()
    assert {"fridge", "310", "42", "冰箱", "制冷"} <= set(document)  # "so" is a stop word
    assert case.reference.split("-")[0].lower() in document


def test_the_list_filter_searches_through_the_same_function(cases):
    result = CaseFilter({"q": "loud"}, queryset=Case.objects.all()).qs
    assert {c.reference for c in result} == {cases["loud"].reference}
