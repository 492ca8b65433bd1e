"""/api/v1/customers/: staff find and read customers; those who take complaints add them
(found again by phone or email, as the New complaint screen does); a customer's cases."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from complaints import services
from complaints.models import Customer

from ..factories import CustomerFactory, receive_case
from .conftest import V1, error, queries, references

LIST = f"{V1}/customers/"
STAFF = [
    "agent",
    "handler",
    "department_head",
    "foreign_handler",
    "quality_manager",
    "general_manager",
]


def customer_url(customer: Customer, action: str = "") -> str:
    return f"{LIST}{customer.pk}/" + (f"{action}/" if action else "")


def names(response) -> list[str]:
    assert response.status_code == 200, response.content[:300]
    return [row["name"] for row in response.json()["results"]]


@pytest.fixture
def li_na(db):
    return CustomerFactory(name="Li Na", phone="+8613800138000", email="li.na@example.com")


# ---------------------------------------------------------------- reading


@pytest.mark.parametrize("persona", STAFF)
def test_every_staff_role_finds_customers(api, request, li_na, persona):
    assert names(api(request.getfixturevalue(persona)).get(LIST)) == ["Li Na"]


def test_user_without_a_role_is_refused_the_customers(api, outsider, li_na):
    error(api(outsider).get(LIST), 403, "permission_denied")


def test_anonymous_caller_is_refused_the_customers(api, li_na):
    error(api().get(LIST), 401, "not_authenticated")


def test_a_customer_is_read_with_their_contact_details(api, handler, li_na):
    body = api(handler).get(customer_url(li_na)).json()

    assert body == {
        "id": li_na.pk,
        "name": "Li Na",
        "phone": "+8613800138000",
        "email": "li.na@example.com",
        "type": "new",
        "language": "en",
        "preferred_channel": "",
        "essential_only": False,
        "created_at": body["created_at"],
    }


def test_user_without_a_role_is_refused_a_customer(api, outsider, li_na):
    error(api(outsider).get(customer_url(li_na)), 403, "permission_denied")


def test_anonymous_caller_is_refused_a_customer(api, li_na):
    error(api().get(customer_url(li_na)), 401, "not_authenticated")


def test_unknown_customer_is_not_found(api, agent, db):
    error(api(agent).get(f"{LIST}999999/"), 404, "not_found")


def test_customers_are_listed_by_name(api, agent):
    for name in ["Chen", "Abe", "Baker"]:
        CustomerFactory(name=name)

    assert names(api(agent).get(LIST)) == ["Abe", "Baker", "Chen"]


@pytest.fixture
def several(li_na):
    return {
        "li_na": li_na,
        "zhang": CustomerFactory(name="Zhang Wei", phone="+8613911112222", email="zw@example.org"),
        "vip": CustomerFactory(name="Wang Fang", type=Customer.Type.VIP),
    }


def test_each_customer_filter_finds_only_the_matching_customer(api, agent, several):
    client = api(agent)
    expected = {
        "q=zhang": "Zhang Wei",  # name
        "q=13911112222": "Zhang Wei",  # part of the phone number
        "q=LI.NA@": "Li Na",  # part of the email
        "phone=%2B8613800138000": "Li Na",
        "email=ZW@example.org": "Zhang Wei",
        "type=vip": "Wang Fang",
    }

    shown = {query: names(client.get(f"{LIST}?{query}")) for query in expected}

    assert shown == {query: [name] for query, name in expected.items()}


def test_a_customer_is_found_by_their_phone_number_as_people_write_it(api, agent, several):
    assert names(api(agent).get(f"{LIST}?phone=138 0013 8000")) == ["Li Na"]


def test_finding_by_something_that_is_no_phone_number_is_refused_naming_the_filter(
    api, agent, several
):
    refused = error(api(agent).get(f"{LIST}?phone=12"), 400, "invalid")

    assert refused["fields"] == {"phone": ["This is not a phone number."]}


def test_an_unknown_customer_type_is_refused_naming_the_filter(api, agent, several):
    refused = error(api(agent).get(f"{LIST}?type=royal"), 400, "invalid")

    assert list(refused["fields"]) == ["type"]


def test_customer_list_query_count_does_not_grow_with_the_rows(api, agent):
    client = api(agent)
    url = f"{LIST}?page_size=100"
    CustomerFactory.create_batch(2)
    client.get(url)
    few = queries(client, url)

    CustomerFactory.create_batch(28)

    assert len(names(client.get(url))) == 30
    assert queries(client, url) == few


# ---------------------------------------------------------------- adding


def test_agent_adds_a_new_customer(api, agent):
    response = api(agent).post(
        LIST, {"name": "Li Na", "phone": "138 0013 8000", "type": "regular"}, format="json"
    )

    assert response.status_code == 201
    customer = Customer.objects.get()
    assert (customer.name, customer.phone, customer.type) == ("Li Na", "+8613800138000", "regular")
    assert response.json()["id"] == customer.pk


def test_adding_a_customer_known_by_phone_finds_them_instead(api, agent, li_na):
    response = api(agent).post(LIST, {"name": "Nana", "phone": "13800138000"}, format="json")

    assert response.status_code == 200
    assert response.json()["id"] == li_na.pk
    assert Customer.objects.count() == 1


def test_finding_a_customer_adds_the_contact_detail_they_lacked(api, agent):
    known = CustomerFactory(name="Li Na", phone="+8613800138000", email="")

    api(agent).post(
        LIST, {"name": "Li Na", "phone": "13800138000", "email": "Li.Na@Example.com"}, format="json"
    )

    known.refresh_from_db()
    assert known.email == "li.na@example.com"


def test_adding_a_customer_without_a_phone_or_email_is_refused(api, agent):
    refused = error(api(agent).post(LIST, {"name": "Li Na"}, format="json"), 400, "invalid")

    assert refused["fields"] == {"phone": ["Give a phone number or an email address."]}
    assert not Customer.objects.exists()


def test_adding_a_customer_with_a_wrong_phone_number_is_refused(api, agent):
    refused = error(
        api(agent).post(LIST, {"name": "Li Na", "phone": "12"}, format="json"), 400, "invalid"
    )

    assert refused["fields"] == {"phone": ["This is not a phone number."]}
    assert not Customer.objects.exists()


def test_adding_a_customer_with_an_unknown_field_is_refused_naming_it(api, agent):
    refused = error(
        api(agent).post(
            LIST, {"name": "Li Na", "phone": "13800138000", "vip": True}, format="json"
        ),
        400,
        "invalid",
    )

    assert refused["fields"] == {"vip": ["Unknown field."]}
    assert not Customer.objects.exists()


@pytest.mark.parametrize("persona", ["handler", "foreign_handler"])
def test_staff_who_do_not_take_complaints_may_not_add_customers(api, request, persona):
    response = api(request.getfixturevalue(persona)).post(
        LIST, {"name": "Li Na", "phone": "13800138000"}, format="json"
    )

    error(response, 403, "permission_denied")
    assert not Customer.objects.exists()


def test_user_without_a_role_may_not_add_customers(api, outsider):
    response = api(outsider).post(LIST, {"name": "Li Na", "phone": "13800138000"}, format="json")

    error(response, 403, "permission_denied")
    assert not Customer.objects.exists()


def test_anonymous_caller_may_not_add_customers(api, db):
    response = api().post(LIST, {"name": "Li Na", "phone": "13800138000"}, format="json")

    error(response, 401, "not_authenticated")
    assert not Customer.objects.exists()


@pytest.mark.parametrize("method", ["put", "patch", "delete"])
def test_customers_are_not_changed_or_deleted_through_the_api(api, agent, li_na, method):
    response = getattr(api(agent), method)(customer_url(li_na), {"name": "X"}, format="json")

    error(response, 405, "method_not_allowed")
    li_na.refresh_from_db()
    assert li_na.name == "Li Na"


# ---------------------------------------------------------------- a customer's cases


def test_a_customers_cases_are_theirs_only_newest_first(api, agent, li_na):
    now = timezone.now()
    older = receive_case(by=agent, customer=li_na, received_at=now - timedelta(days=3))
    newer = receive_case(by=agent, customer=li_na, received_at=now)
    receive_case(by=agent)  # someone else's

    shown = references(api(agent).get(customer_url(li_na, "cases")))

    assert shown == [newer.reference, older.reference]


def test_handler_reads_a_customers_cases(api, agent, handler, li_na):
    case = receive_case(by=agent, customer=li_na)

    assert references(api(handler).get(customer_url(li_na, "cases"))) == [case.reference]


def test_user_without_a_role_is_refused_a_customers_cases(api, agent, outsider, li_na):
    receive_case(by=agent, customer=li_na)

    error(api(outsider).get(customer_url(li_na, "cases")), 403, "permission_denied")


def test_anonymous_caller_is_refused_a_customers_cases(api, li_na):
    error(api().get(customer_url(li_na, "cases")), 401, "not_authenticated")


def test_cases_of_an_unknown_customer_are_not_found(api, agent, db):
    error(api(agent).get(f"{LIST}999999/cases/"), 404, "not_found")


def test_customer_cases_query_count_does_not_grow_with_the_rows(
    api, agent, handler, other_agent, after_sales, logistics, li_na
):
    client = api(agent)
    url = customer_url(li_na, "cases") + "?page_size=100"

    def build(n):
        for i in range(n):
            case = receive_case(by=agent, customer=li_na)
            services.case_assign(
                case=case,
                by=agent,
                person=[agent, handler, other_agent][i % 3],
                department=[after_sales, logistics][i % 2],
            )

    build(2)
    client.get(url)
    few = queries(client, url)

    build(28)

    assert len(references(client.get(url))) == 30
    assert queries(client, url) == few
