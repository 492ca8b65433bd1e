"""How the customer hears from us (``complaints.contact``): their language, their preferred
channel and "only essential messages". Changed by the customer (tracking page) or by staff who
may work their case (case page, API), each change one event on the timeline; set for a new
customer by the agent's New complaint screen, the API and the public form, which never changes
an existing customer's."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from complaints import contact, services
from complaints.errors import AccessDenied, InvalidInput
from complaints.models import Case, CaseEvent, Customer
from conversation.models import Notice, NoticeKind

from ..factories import CustomerFactory, intake_form, receive

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 11, 5, 9, 30, tzinfo=UTC)
V1 = "/api/v1"
EMAIL = "li.na@example.com"
MOBILE = "+8613800138000"
CHINESE = "洗衣机的滚筒在脱水时声音很大。邻居都听得到。"
CHINESE_OUTCOME = "请派人来修理。"


# ---------------------------------------------------------------- helpers


def preferences(customer: Customer) -> tuple:
    customer.refresh_from_db()
    return (customer.language, customer.preferred_channel, customer.essential_only_since)


def preference_events(case: Case) -> list[CaseEvent]:
    return list(case.events.filter(kind=CaseEvent.Kind.PREFERENCES).order_by("pk"))


def channel_options(page: str) -> list[str]:
    """The values of the "preferred channel" radio buttons of the page's form."""
    return re.findall(r'<input type="radio" name="preferred_channel" value="([^"]*)"', page)


def timeline_item(page: str, kind: str) -> str:
    match = re.search(
        rf'<li class="event[^"]*" data-kind="{kind}".*?</li>\s*</ul>', page, re.DOTALL
    )
    assert match, f"no {kind} event on the timeline"
    return " ".join(match.group(0).split())


@pytest.fixture
def li_na(db) -> Customer:
    """A customer with an email address and a mobile number, as every customer starts: English,
    automatic channel, every message."""
    return CustomerFactory(name="Li Na", email=EMAIL, phone=MOBILE)


@pytest.fixture
def received(agent, li_na):
    """Li Na's complaint, logged by the agent, and its tracking link's token."""
    return receive(by=agent, customer=li_na)


@pytest.fixture
def case(received) -> Case:
    return received.case


@pytest.fixture
def tracking(client, received) -> Client:
    """Li Na's browser, with the cookie her tracking link gave it."""
    assert client.get(f"/t/{received.tracking_token}").status_code == 303
    return client


# ---------------------------------------------------------------- the service


def test_the_customer_changes_their_own_preferences(case, li_na):
    event = contact.customer_preferences_set(
        case=case, by=None, language="zh-hans", preferred_channel="sms"
    )

    assert preferences(li_na)[:2] == ("zh-hans", "sms")
    assert (event.case, event.actor, event.by_customer) == (case, None, True)


@pytest.mark.parametrize("persona", ["agent", "quality_manager"])
def test_staff_who_may_work_the_case_change_the_preferences(request, case, li_na, persona):
    person = request.getfixturevalue(persona)

    event = contact.customer_preferences_set(case=case, by=person, language="zh-hans")

    assert preferences(li_na)[0] == "zh-hans"
    assert (event.actor, event.by_customer) == (person, False)


@pytest.mark.parametrize("persona", ["outsider", "foreign_handler"])
def test_staff_who_may_not_work_the_case_may_not_change_the_preferences(
    request, case, li_na, persona
):
    with pytest.raises(AccessDenied):
        contact.customer_preferences_set(
            case=case, by=request.getfixturevalue(persona), language="zh-hans"
        )

    assert preferences(li_na) == ("en", "", None)
    assert preference_events(case) == []


def test_an_unknown_language_and_channel_are_refused_with_the_fields_named(case, li_na):
    with pytest.raises(InvalidInput) as refused:
        contact.customer_preferences_set(
            case=case, by=None, language="fr", preferred_channel="pigeon"
        )

    assert refused.value.fields == {
        "language": ["Choose a language we write in."],
        "preferred_channel": ["Choose email or SMS."],
    }
    assert preferences(li_na) == ("en", "", None)


def test_setting_the_preferences_as_they_are_writes_no_event(case, li_na):
    event = contact.customer_preferences_set(
        case=case, by=None, language="en", preferred_channel="", essential_only=False
    )

    assert event is None
    assert preference_events(case) == []


def test_a_change_is_one_event_with_the_machine_values_of_what_changed(case):
    contact.customer_preferences_set(
        case=case, by=None, language="zh-hans", preferred_channel="sms", essential_only=True
    )

    [event] = preference_events(case)
    assert event.changes == {
        "language": ["en", "zh-hans"],
        "preferred_channel": ["", "sms"],
        "essential_only": [False, True],
    }


def test_only_what_changed_is_in_the_event(case):
    contact.customer_preferences_set(case=case, by=None, language="en", preferred_channel="sms")

    [event] = preference_events(case)
    assert event.changes == {"preferred_channel": ["", "sms"]}


def test_essential_only_sets_and_clears_since_when(time_machine, case, li_na):
    time_machine.move_to(T0, tick=False)
    contact.customer_preferences_set(case=case, by=None, essential_only=True)
    assert preferences(li_na)[2] == T0

    time_machine.move_to(T0 + timedelta(days=1), tick=False)
    contact.customer_preferences_set(case=case, by=None, essential_only=True)
    assert preferences(li_na)[2] == T0  # asked again: since the first time

    contact.customer_preferences_set(case=case, by=None, essential_only=False)
    assert preferences(li_na)[2] is None
    assert [e.changes for e in preference_events(case)] == [
        {"essential_only": [False, True]},
        {"essential_only": [True, False]},
    ]


def test_the_staff_timeline_shows_a_change_with_its_labels(client, case, agent):
    contact.customer_preferences_set(
        case=case, by=None, language="zh-hans", preferred_channel="sms", essential_only=True
    )
    client.force_login(agent)

    page = client.get(reverse("complaints:case_detail", args=[case.reference])).content.decode()

    item = timeline_item(page, "preferences")
    assert "The customer" in item
    assert "Contact preferences changed" in item
    assert '<span class="label">language:</span> <del>English</del> → 简体中文' in item
    assert (
        '<span class="label">preferred channel:</span> '
        "<del>Automatic: email if we have an address, else SMS</del> → SMS"
    ) in item
    assert '<span class="label">only essential messages:</span> <del>no</del> → yes' in item


# ---------------------------------------------------------------- the tracking page


def test_the_tracking_page_offers_only_the_channels_the_customer_has_an_address_for(client, agent):
    phone_only = receive(by=agent, customer=CustomerFactory(email="", phone=MOBILE))
    client.get(f"/t/{phone_only.tracking_token}")

    page = client.get("/t/").content.decode()

    assert 'data-testid="tracking-preferences"' in page
    assert channel_options(page) == ["", "sms"]


def test_the_tracking_page_offers_email_and_sms_to_a_customer_with_both(tracking):
    assert channel_options(tracking.get("/t/").content.decode()) == ["", "email", "sms"]


def test_the_customer_saves_their_preferences_on_the_tracking_page(tracking, case, li_na):
    response = tracking.post(
        "/t/preferences/",
        {"language": "en", "preferred_channel": "sms", "essential_only": "on"},
    )

    assert response.status_code == 303
    assert response["Location"] == "/t/"
    language, channel, since = preferences(li_na)
    assert (language, channel, since is not None) == ("en", "sms", True)
    [event] = preference_events(case)
    assert (event.by_customer, event.actor) == (True, None)
    assert "Thank you: we will tell you as you asked." in tracking.get("/t/").content.decode()


def test_choosing_a_language_on_the_tracking_page_switches_the_page_to_it(tracking, li_na):
    response = tracking.post("/t/preferences/", {"language": "zh-hans", "preferred_channel": ""})

    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "zh-hans"
    assert preferences(li_na)[0] == "zh-hans"
    assert '<html lang="zh-hans">' in tracking.get("/t/").content.decode()


def test_a_channel_without_an_address_is_refused_on_the_tracking_page(client, agent):
    phone_only = receive(by=agent, customer=CustomerFactory(email="", phone=MOBILE))
    client.get(f"/t/{phone_only.tracking_token}")

    response = client.post("/t/preferences/", {"language": "en", "preferred_channel": "email"})

    assert response.status_code == 400
    assert 'data-testid="tracking-preferences" open' in response.content.decode()
    assert phone_only.case.customer.preferred_channel == ""
    assert preference_events(phone_only.case) == []


def test_saving_preferences_counts_towards_the_tracking_pages_request_limit(
    time_machine, settings, client, received, li_na
):
    time_machine.move_to(T0, tick=False)  # every request in one minute
    settings.CUSTOMER_RATE_LIMIT = 2
    assert client.get(f"/t/{received.tracking_token}").status_code == 303
    assert client.get("/t/").status_code == 200

    response = client.post("/t/preferences/", {"language": "zh-hans", "preferred_channel": ""})

    assert response.status_code == 429
    assert preferences(li_na)[0] == "en"


def test_saving_preferences_without_a_tracking_cookie_gets_the_not_found_page(case, li_na):
    response = Client().post("/t/preferences/", {"language": "zh-hans", "preferred_channel": ""})

    assert response.status_code == 404
    assert 'data-testid="tracking-not-found"' in response.content.decode()
    assert preferences(li_na)[0] == "en"


def test_saving_preferences_with_a_forged_cookie_gets_the_not_found_page(case, li_na):
    browser = Client()
    browser.cookies["heed_tracking"] = "A" * 43

    response = browser.post("/t/preferences/", {"language": "zh-hans", "preferred_channel": ""})

    assert response.status_code == 404
    assert preferences(li_na)[0] == "en"


# ---------------------------------------------------------------- the case page


def save_on_case_page(client: Client, user, case: Case, **data):
    client.force_login(user)
    return client.post(reverse("complaints:case_customer_preferences", args=[case.reference]), data)


def test_staff_change_the_preferences_on_the_case_page(client, agent, case, li_na):
    response = save_on_case_page(client, agent, case, language="zh-hans", preferred_channel="email")

    assert response.status_code == 302
    assert preferences(li_na)[:2] == ("zh-hans", "email")
    [event] = preference_events(case)
    assert (event.actor, event.by_customer) == (agent, False)


def test_a_handler_of_another_department_may_not_change_the_preferences_on_the_case_page(
    client, foreign_handler, case, li_na
):
    response = save_on_case_page(client, foreign_handler, case, language="zh-hans")

    assert response.status_code == 403
    assert preferences(li_na)[0] == "en"


def test_a_bad_value_on_the_case_page_is_shown_with_the_form_open(client, agent, case, li_na):
    response = save_on_case_page(client, agent, case, language="fr", preferred_channel="")

    assert response.status_code == 400
    assert 'data-testid="customer-preferences" open' in response.content.decode()
    assert preferences(li_na)[0] == "en"


@pytest.mark.parametrize(("persona", "offered"), [("agent", True), ("foreign_handler", False)])
def test_the_case_page_offers_the_form_to_those_who_may_work_the_case(
    request, client, case, persona, offered
):
    client.force_login(request.getfixturevalue(persona))

    page = client.get(reverse("complaints:case_detail", args=[case.reference])).content.decode()

    assert 'data-testid="customer-contact-preferences"' in page
    assert ('data-testid="customer-preferences"' in page) is offered


# ---------------------------------------------------------------- the API


def preferences_url(case: Case) -> str:
    return f"{V1}/cases/{case.reference}/customer-preferences/"


@pytest.mark.parametrize("persona", ["agent", "foreign_handler", "quality_manager"])
def test_staff_who_see_the_case_read_the_customers_preferences(request, api, case, persona):
    response = api(request.getfixturevalue(persona)).get(preferences_url(case))

    assert response.status_code == 200
    assert response.json() == {"language": "en", "preferred_channel": "", "essential_only": False}


def test_a_user_without_a_role_may_not_read_the_preferences(api, outsider, case):
    response = api(outsider).get(preferences_url(case))

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"


@pytest.mark.parametrize("persona", ["agent", "quality_manager"])
def test_staff_who_may_work_the_case_change_the_preferences_through_the_api(
    request, api, case, li_na, persona
):
    client = api(request.getfixturevalue(persona))

    response = client.patch(
        preferences_url(case), {"language": "zh-hans", "essential_only": True}, format="json"
    )

    assert response.status_code == 200
    expected = {"language": "zh-hans", "preferred_channel": "", "essential_only": True}
    assert response.json() == expected
    assert client.get(preferences_url(case)).json() == expected
    assert preferences(li_na)[0] == "zh-hans"
    assert len(preference_events(case)) == 1


@pytest.mark.parametrize("persona", ["outsider", "foreign_handler"])
def test_staff_who_may_not_work_the_case_may_not_change_the_preferences_through_the_api(
    request, api, case, li_na, persona
):
    response = api(request.getfixturevalue(persona)).patch(
        preferences_url(case), {"language": "zh-hans"}, format="json"
    )

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"
    assert preferences(li_na)[0] == "en"


def test_bad_values_through_the_api_are_400_with_the_fields_named(api, agent, case, li_na):
    response = api(agent).patch(
        preferences_url(case), {"language": "fr", "preferred_channel": "pigeon"}, format="json"
    )

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert set(error["fields"]) == {"language", "preferred_channel"}
    assert preferences(li_na) == ("en", "", None)


def test_the_customers_next_notice_follows_preferences_changed_through_the_api(api, agent, case):
    api(agent).patch(
        preferences_url(case), {"language": "zh-hans", "preferred_channel": "sms"}, format="json"
    )

    services.case_add_note(case=case, by=agent, body="We come on Tuesday.", customer_visible=True)

    notice = Notice.objects.get(case=case, kind=NoticeKind.MESSAGE)
    assert (notice.language, notice.channel, notice.address) == ("zh-hans", "sms", MOBILE)


def test_the_notice_before_a_change_kept_the_old_language(api, agent, case):
    acknowledgement = Notice.objects.get(case=case, kind=NoticeKind.ACKNOWLEDGEMENT)

    api(agent).patch(preferences_url(case), {"language": "zh-hans"}, format="json")

    acknowledgement.refresh_from_db()
    assert (acknowledgement.language, acknowledgement.channel) == ("en", "email")


# ---------------------------------------------------------------- a new complaint


NEW = "/intake/new/"


@pytest.fixture
def as_agent(client, agent) -> Client:
    client.force_login(agent)
    return client


def logged_customer() -> Customer:
    return Case.objects.get().customer


def test_the_new_complaint_screen_sets_a_new_customers_language_and_channel(as_agent):
    response = as_agent.post(
        NEW, intake_form(email=EMAIL, language="zh-hans", preferred_channel="sms")
    )

    assert response.status_code == 302
    customer = logged_customer()
    assert (customer.language, customer.preferred_channel) == ("zh-hans", "sms")


def test_a_new_customers_language_is_the_language_of_their_complaint(as_agent):
    as_agent.post(NEW, intake_form(description=CHINESE, desired_outcome=CHINESE_OUTCOME))

    customer = logged_customer()
    assert (customer.language, customer.preferred_channel) == ("zh-hans", "")


def test_a_new_customer_who_writes_english_is_written_to_in_english(as_agent):
    as_agent.post(NEW, intake_form())

    assert logged_customer().language == "en"


def test_the_new_complaint_screen_left_blank_keeps_an_existing_customers_preferences(as_agent):
    known = CustomerFactory(phone=MOBILE, language="zh-hans", preferred_channel="email")

    as_agent.post(NEW, intake_form(description="Loud drum.", language="", preferred_channel=""))

    assert logged_customer() == known
    assert preferences(known)[:2] == ("zh-hans", "email")


def test_the_new_complaint_screen_changes_an_existing_customers_preferences(as_agent):
    known = CustomerFactory(phone=MOBILE, language="zh-hans")

    as_agent.post(NEW, intake_form(language="en", preferred_channel="sms"))

    assert preferences(known)[:2] == ("en", "sms")


def test_the_new_complaint_screen_refuses_an_unknown_language(as_agent):
    response = as_agent.post(NEW, intake_form(language="fr"))

    assert response.status_code == 400
    assert response.context["form"].errors["language"]
    assert not Case.objects.exists()


API_COMPLAINT = {
    "channel": "phone",
    "category": "product_quality",
    "urgency": "yellow",
    "product": "Washing machine W-200",
    "description": "The drum bangs on spin.",
    "desired_outcome": "A repair this week.",
}


def api_log(api, agent, **customer):
    data = {
        **API_COMPLAINT,
        **customer.pop("complaint", {}),
        "customer": {"name": "Li Na", "phone": "138 0013 8000", "email": "", **customer},
    }
    return api(agent).post(f"{V1}/cases/", data, format="json")


def test_the_api_sets_a_new_customers_language_and_channel(api, agent):
    response = api_log(api, agent, language="zh-hans", preferred_channel="sms")

    assert response.status_code == 201, response.content[:300]
    assert response.json()["customer"]["language"] == "zh-hans"
    assert response.json()["customer"]["preferred_channel"] == "sms"
    assert preferences(logged_customer())[:2] == ("zh-hans", "sms")


def test_the_api_gives_a_new_customer_the_language_of_their_complaint(api, agent):
    complaint = {"description": CHINESE, "desired_outcome": CHINESE_OUTCOME}

    response = api_log(api, agent, complaint=complaint)

    assert response.status_code == 201, response.content[:300]
    assert logged_customer().language == "zh-hans"


def test_the_api_without_preferences_keeps_an_existing_customers(api, agent):
    known = CustomerFactory(phone=MOBILE, language="zh-hans", preferred_channel="email")

    assert api_log(api, agent).status_code == 201

    assert logged_customer() == known
    assert preferences(known)[:2] == ("zh-hans", "email")


def test_the_api_refuses_an_unknown_language_for_the_customer(api, agent):
    response = api_log(api, agent, language="fr")

    assert response.status_code == 400
    assert "customer" in str(response.json()["error"]["fields"])
    assert not Case.objects.exists()


# ---------------------------------------------------------------- the public form


def public_complaint(**overrides) -> dict:
    return {
        "name": "Li Na",
        "phone": "138 0013 8000",
        "email": "",
        "category": "product_quality",
        "product": "Kettle K-3",
        "order_number": "",
        "description": "The kettle leaks from the base.",
        "desired_outcome": "A new kettle.",
        "website": "",
        **overrides,
    }


def test_a_new_customer_of_the_public_form_gets_the_language_of_the_page_by_its_cookie(client):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "zh-hans"

    response = client.post("/complain/", public_complaint())

    assert response.status_code == 303
    assert logged_customer().language == "zh-hans"


def test_a_new_customer_of_the_public_form_gets_the_language_their_browser_asks_for(client):
    response = client.post(
        "/complain/", public_complaint(), HTTP_ACCEPT_LANGUAGE="zh-CN,zh;q=0.9,en;q=0.5"
    )

    assert response.status_code == 303
    assert logged_customer().language == "zh-hans"


def test_a_new_customer_of_the_english_public_form_gets_english(client):
    client.post("/complain/", public_complaint(), HTTP_ACCEPT_LANGUAGE="en")

    assert logged_customer().language == "en"


def test_the_public_form_never_changes_an_existing_customers_language(client):
    known = CustomerFactory(phone=MOBILE, language="en", preferred_channel="sms")
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "zh-hans"

    response = client.post("/complain/", public_complaint(description=CHINESE))

    assert response.status_code == 303
    assert logged_customer() == known
    assert preferences(known) == ("en", "sms", None)
