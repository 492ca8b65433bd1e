"""The New complaint screen and its customer lookup, over HTTP."""

from __future__ import annotations

import re

import pytest
from django.conf import settings
from django.urls import reverse

from complaints.models import Case, CaseEvent, Customer, Step, tracking_digest

from ..factories import CustomerFactory, active_digests, intake_form, receive_case

NEW = "/intake/new/"
LOOKUP = "/intake/customer-lookup/"


def text(response) -> str:
    return response.content.decode()


def field_errors(response, name: str) -> list[str]:
    """The errors shown under a field of the intake form."""
    return response.context["form"].errors.get(name, [])


def nothing_saved() -> bool:
    return not Customer.objects.exists() and not Case.objects.exists()


@pytest.fixture
def as_agent(client, agent):
    client.force_login(agent)
    return client


# ---------------------------------------------------------------- who may log a complaint


def test_agent_opens_the_new_complaint_screen(as_agent):
    response = as_agent.get(NEW)
    assert response.status_code == 200
    assert 'data-testid="intake-form"' in text(response)


def test_role_without_intake_may_not_open_the_screen(client, handler):
    client.force_login(handler)
    assert client.get(NEW).status_code == 403


def test_role_without_intake_may_not_log_a_complaint(client, handler):
    client.force_login(handler)
    assert client.post(NEW, intake_form()).status_code == 403
    assert nothing_saved()


def test_user_without_a_role_may_not_log_a_complaint(client, outsider):
    client.force_login(outsider)
    assert client.post(NEW, intake_form()).status_code == 403
    assert nothing_saved()


def test_anonymous_visitor_is_sent_to_log_in_from_the_lookup(client, db):
    response = client.get(LOOKUP, {"phone": "13800138000"})
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


def test_user_without_a_role_may_not_look_customers_up(client, outsider):
    CustomerFactory(name="Li Na", phone="+8613800138000")
    client.force_login(outsider)
    assert client.get(LOOKUP, {"phone": "13800138000"}).status_code == 403


def test_new_complaint_screen_refuses_other_methods(as_agent):
    assert as_agent.put(NEW).status_code == 405


# ---------------------------------------------------------------- logging a complaint


def test_valid_complaint_creates_customer_case_and_received_event(as_agent, agent):
    as_agent.post(NEW, intake_form())
    case = Case.objects.get()
    assert case.customer.name == "Li Na"
    assert case.customer.phone == "+8613800138000"
    assert case.step == Step.RECEIVE
    assert case.receiver == agent
    assert case.owner == agent
    assert case.description == "The drum bangs on spin."
    assert case.quantity == 1
    event = case.events.get()
    assert event.kind == CaseEvent.Kind.RECEIVED
    assert event.actor == agent


def test_valid_complaint_opens_the_case_page(as_agent):
    response = as_agent.post(NEW, intake_form())
    case = Case.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("complaints:case_detail", args=[case.reference])


def test_case_page_after_intake_shows_the_reference(as_agent):
    response = as_agent.post(NEW, intake_form(), follow=True)
    case = Case.objects.get()
    assert re.fullmatch(r"C\d{6}-\d{5}", case.reference)
    assert f'<h1 data-testid="case-reference">{case.reference}</h1>' in text(response)
    assert f"Complaint {case.reference} logged." in text(response)


def test_case_page_after_intake_shows_the_tracking_link_of_this_case(as_agent):
    response = as_agent.post(NEW, intake_form(), follow=True)
    link = re.search(
        r'data-testid="tracking-link">.*?value="([^"]+)"', text(response), re.DOTALL
    ).group(1)
    assert link.startswith(f"{settings.SITE_URL}/t/")
    token = link.rsplit("/", 1)[1]
    assert active_digests(Case.objects.get()) == {tracking_digest(token)}


def test_tracking_link_is_shown_only_once(as_agent):
    as_agent.post(NEW, intake_form(), follow=True)
    case = Case.objects.get()
    again = as_agent.get(reverse("complaints:case_detail", args=[case.reference]))
    assert again.status_code == 200
    assert 'data-testid="tracking-link"' not in text(again)
    assert "/t/" not in text(again)


def test_complaint_by_email_only_is_accepted(as_agent):
    as_agent.post(NEW, intake_form(phone="", email="Li.Na@Example.com"))
    assert Case.objects.get().customer.email == "li.na@example.com"


# ---------------------------------------------------------------- existing customers


def test_existing_customer_is_found_by_phone_in_another_format(as_agent):
    existing = CustomerFactory(name="Li Na", phone="+8613800138000", email="")
    as_agent.post(NEW, intake_form(phone="+86 138-0013-8000", customer_name="Mrs Li"))
    assert Customer.objects.get() == existing
    assert Case.objects.get().customer == existing


def test_existing_customer_keeps_their_name(as_agent):
    CustomerFactory(name="Li Na", phone="+8613800138000")
    as_agent.post(NEW, intake_form(customer_name="Mrs Li"))
    assert Customer.objects.get().name == "Li Na"


def test_existing_customer_keeps_their_type_unless_the_agent_changes_it(as_agent):
    CustomerFactory(phone="+8613800138000", type=Customer.Type.VIP)
    as_agent.post(NEW, intake_form())
    assert Customer.objects.get().type == Customer.Type.VIP


def test_new_customer_without_a_type_starts_as_new(as_agent):
    as_agent.post(NEW, intake_form())
    assert Customer.objects.get().type == Customer.Type.NEW


def test_customer_of_an_earlier_case_is_found_by_email(as_agent, agent):
    earlier = receive_case(
        by=agent, customer=CustomerFactory(phone="+8613912345678", email="li.na@example.com")
    )
    as_agent.post(NEW, intake_form(phone="", email="LI.NA@example.com"))
    assert Customer.objects.count() == 1
    assert set(earlier.customer.cases.all()) == set(Case.objects.all())
    assert Case.objects.count() == 2


def test_existing_customer_found_by_email_gets_the_new_phone(as_agent):
    existing = CustomerFactory(phone="", email="li.na@example.com")
    as_agent.post(NEW, intake_form(email="li.na@example.com"))
    existing.refresh_from_db()
    assert existing.phone == "+8613800138000"
    assert Customer.objects.count() == 1


# ---------------------------------------------------------------- bad input


def test_missing_phone_and_email_is_refused(as_agent):
    response = as_agent.post(NEW, intake_form(phone="", email=""))
    assert response.status_code == 400
    assert "Give the customer&#x27;s phone number or email address." in text(response)


def test_missing_phone_and_email_saves_nothing(as_agent):
    as_agent.post(NEW, intake_form(phone="", email=""))
    assert nothing_saved()


def test_malformed_phone_is_a_field_error_on_phone(as_agent):
    response = as_agent.post(NEW, intake_form(phone="call me maybe"))
    assert response.status_code == 400
    assert field_errors(response, "phone") == ["This is not a phone number."]
    assert "This is not a phone number." in text(response)


def test_too_short_phone_is_a_field_error_on_phone(as_agent):
    response = as_agent.post(NEW, intake_form(phone="12"))
    assert response.status_code == 400
    assert field_errors(response, "phone") == ["This is not a phone number."]


def test_malformed_phone_saves_nothing(as_agent):
    as_agent.post(NEW, intake_form(phone="call me maybe"))
    assert nothing_saved()


def test_malformed_phone_next_to_a_good_email_saves_nothing(as_agent):
    as_agent.post(NEW, intake_form(phone="12", email="li.na@example.com"))
    assert nothing_saved()


def test_malformed_email_is_a_field_error_on_email(as_agent):
    response = as_agent.post(NEW, intake_form(phone="", email="li.na@"))
    assert response.status_code == 400
    assert field_errors(response, "email") == ["Enter a valid email address."]
    assert nothing_saved()


@pytest.mark.parametrize("name", ["description", "desired_outcome"])
def test_missing_story_is_a_field_error(as_agent, name):
    response = as_agent.post(NEW, intake_form(**{name: ""}))
    assert response.status_code == 400
    assert field_errors(response, name) == ["This field is required."]
    assert nothing_saved()


def test_missing_customer_name_is_a_field_error(as_agent):
    response = as_agent.post(NEW, intake_form(customer_name=""))
    assert response.status_code == 400
    assert field_errors(response, "customer_name") == ["This field is required."]
    assert nothing_saved()


def test_over_long_description_is_a_field_error(as_agent):
    response = as_agent.post(NEW, intake_form(description="x" * 5001))
    assert response.status_code == 400
    assert "Ensure this value has at most 5000 characters (it has 5001)." in text(response)
    assert nothing_saved()


@pytest.mark.parametrize(
    ("name", "value"), [("channel", "pigeon"), ("category", "bogus"), ("urgency", "purple")]
)
def test_unknown_choice_is_a_field_error(as_agent, name, value):
    response = as_agent.post(NEW, intake_form(**{name: value}))
    assert response.status_code == 400
    assert field_errors(response, name)
    assert nothing_saved()


def test_refused_complaint_keeps_what_the_agent_typed(as_agent):
    response = as_agent.post(NEW, intake_form(phone="12", description="The drum bangs on spin."))
    page = text(response)
    assert 'value="12"' in page
    assert "The drum bangs on spin." in page
    assert 'value="Li Na"' in page


def test_script_typed_at_intake_is_shown_as_text(as_agent):
    response = as_agent.post(
        NEW,
        intake_form(
            customer_name="<script>alert('name')</script>",
            description="<script>alert('description')</script>",
        ),
        follow=True,
    )
    page = text(response)
    assert "<script>alert" not in page
    assert "&lt;script&gt;alert(&#x27;name&#x27;)" in page
    assert "&lt;script&gt;alert(&#x27;description&#x27;)" in page


# ---------------------------------------------------------------- customer lookup


def test_lookup_fills_in_the_existing_customer(as_agent):
    CustomerFactory(name="Li Na", phone="+8613800138000", type=Customer.Type.VIP)
    response = as_agent.get(LOOKUP, {"phone": "138 0013 8000", "customer_name": "L"})
    assert response.status_code == 200
    page = text(response)
    assert 'data-testid="customer-found"' in page
    assert 'value="Li Na"' in page
    assert '<option value="vip" selected>' in page


def test_lookup_finds_the_customer_by_email(as_agent):
    CustomerFactory(name="Li Na", phone="", email="li.na@example.com")
    response = as_agent.get(LOOKUP, {"email": "Li.Na@example.com"})
    assert 'value="Li Na"' in text(response)


def test_lookup_lists_the_customers_recent_cases(as_agent, agent):
    customer = CustomerFactory(name="Li Na", phone="+8613800138000")
    cases = [receive_case(by=agent, customer=customer) for _ in range(2)]
    someone_elses = receive_case(by=agent)
    page = text(as_agent.get(LOOKUP, {"phone": "13800138000"}))
    for case in cases:
        assert f"/cases/{case.reference}/" in page
    assert someone_elses.reference not in page


def test_lookup_shows_at_most_five_recent_cases(as_agent, agent):
    customer = CustomerFactory(phone="+8613800138000")
    for _ in range(7):
        receive_case(by=agent, customer=customer)
    page = text(as_agent.get(LOOKUP, {"phone": "13800138000"}))
    assert len(re.findall(r'href="/cases/C\d{6}-\d{5}/"', page)) == 5


def test_lookup_of_an_unknown_number_keeps_what_was_typed(as_agent):
    CustomerFactory(name="Li Na", phone="+8613800138000")
    response = as_agent.get(
        LOOKUP, {"phone": "13900000000", "customer_name": "Wang Fang", "customer_type": "regular"}
    )
    assert response.status_code == 200
    page = text(response)
    assert 'data-testid="customer-found"' not in page
    assert 'value="Wang Fang"' in page
    assert '<option value="regular" selected>' in page


@pytest.mark.parametrize("phone", ["138", "+86 1", "abc", ""])
def test_lookup_of_a_half_typed_number_shows_no_error(as_agent, phone):
    CustomerFactory(name="Li Na", phone="+8613800138000")
    response = as_agent.get(LOOKUP, {"phone": phone, "customer_name": "Wang"})
    assert response.status_code == 200
    page = text(response)
    assert 'data-testid="customer-found"' not in page
    assert 'class="error"' not in page
    assert 'value="Wang"' in page


def test_lookup_of_a_half_typed_email_shows_no_error(as_agent):
    CustomerFactory(name="Li Na", email="li.na@example.com")
    response = as_agent.get(LOOKUP, {"email": "li.na@"})
    assert response.status_code == 200
    assert 'data-testid="customer-found"' not in text(response)
    assert 'class="error"' not in text(response)


def test_lookup_escapes_what_was_typed(as_agent):
    response = as_agent.get(LOOKUP, {"phone": "138", "customer_name": '"><script>alert(1)'})
    assert "<script>alert" not in text(response)
    assert "&quot;&gt;&lt;script&gt;alert(1)" in text(response)


def test_over_long_email_is_a_field_error(as_agent):
    local, domain = "a" * 60, ".".join(["b" * 60, "c" * 60, "d" * 60, "example.com"])
    response = as_agent.post(NEW, intake_form(phone="", email=f"{local}@{domain}"))
    assert response.status_code == 400
    assert field_errors(response, "email") == [
        "Ensure this value has at most 254 characters (it has 255)."
    ]
    assert nothing_saved()
