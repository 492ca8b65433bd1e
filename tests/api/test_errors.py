"""The API's one error format, ``{"error": {"code", "message", "fields"}}``, for every refusal
(400, 401, 403, 404, 405, 409, 415, 429, and a 500 if it ever happens), in the request's
language; and no 500 for bad input: malformed JSON, NUL characters, huge numbers, wrong types,
unknown fields."""

from __future__ import annotations

import json

import pytest
from django.utils import translation
from rest_framework.throttling import UserRateThrottle

from complaints import services
from complaints.models import Case, CaseEvent, Customer, Step

from ..factories import receive_case, walk
from .conftest import V1, case_url, error, event_kinds, read

CASES = f"{V1}/cases/"
NEW_COMPLAINT = {
    "customer": {"name": "Li Na", "phone": "13800138000"},
    "channel": "phone",
    "category": "product_quality",
    "description": "The drum bangs on spin.",
    "desired_outcome": "A repair.",
}


def send(client, method: str, url: str, body: str, content_type: str = "application/json"):
    return client.generic(method, url, body, content_type=content_type)


# ---------------------------------------------------------------- each status, one format


def test_401_anonymous(api, case):
    error(api().get(CASES), 401, "not_authenticated")


def test_403_no_role(api, outsider):
    assert error(api(outsider).get(CASES), 403, "permission_denied")["message"] == (
        "You do not have permission to perform this action."
    )


def test_403_may_see_but_not_change(api, foreign_handler, case):
    response = api(foreign_handler).patch(
        case_url(case), {"product": "x"}, format="json", **read(case)
    )

    assert error(response, 403, "permission_denied")["message"] == (
        "You do not have permission to do this."
    )


@pytest.mark.parametrize(
    "url",
    [f"{V1}/nothing/", f"{V1}/cases/C202001-99999/", f"{V1}/cases/C202001-99999/events/", "/api/"],
)
def test_404_anywhere_under_the_api_is_json(api, agent, url):
    assert error(api(agent).get(url), 404, "not_found")["message"] == "Not found."


@pytest.mark.parametrize(
    ("method", "action"),
    [("put", ""), ("delete", ""), ("get", "transition"), ("post", "events"), ("get", "take")],
)
def test_405_a_method_the_address_does_not_take(api, agent, case, method, action):
    response = getattr(api(agent), method)(case_url(case, action))

    error(response, 405, "method_not_allowed")
    case.refresh_from_db()
    assert case.version == 1


def test_409_refused_move(api, agent, case):
    response = api(agent).post(
        case_url(case, "transition"), {"to": "closed"}, format="json", **read(case)
    )

    error(response, 409, "refused")


def test_409_stale_version(api, agent, case):
    response = api(agent).patch(case_url(case), {"product": "x", "version": 7}, format="json")

    error(response, 409, "conflict")


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/xml", "multipart/form-data; boundary=x"]
)
def test_415_a_body_in_a_format_the_address_does_not_read(api, agent, case, content_type):
    response = send(api(agent), "PATCH", case_url(case), "product=x", content_type)

    error(response, 415, "unsupported_media_type")
    case.refresh_from_db()
    assert case.version == 1


def test_429_too_many_requests(api, agent, case, monkeypatch):
    monkeypatch.setattr(UserRateThrottle, "THROTTLE_RATES", {"user": "2/minute"})
    client = api(agent)
    client.get(CASES)
    client.get(CASES)

    response = client.get(CASES)

    error(response, 429, "throttled")
    assert int(response["Retry-After"]) > 0


def test_500_is_json_too(api, agent, case, monkeypatch):
    def broken(**kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr(services, "case_update", broken)
    client = api(agent)
    client.raise_request_exception = False

    response = client.patch(case_url(case), {"product": "x"}, format="json", **read(case))

    assert error(response, 500, "server_error")["message"] == (
        "Something went wrong on our side. Try again later."
    )


def test_a_refusal_is_in_the_requests_language(api, agent, case):
    response = api(agent).post(
        case_url(case, "transition"),
        {"to": "decide"},
        format="json",
        HTTP_ACCEPT_LANGUAGE="zh-hans",
        **read(case),
    )

    with translation.override("zh-hans"):
        expected = str(
            translation.gettext("A case at %(source)s cannot move to %(target)s.")
            % {"source": Step.RECEIVE.label, "target": Step.DECIDE.label}
        )
    assert error(response, 409, "refused")["message"] == expected
    assert expected != "A case at Receive cannot move to Decide."


# ---------------------------------------------------------------- bad bodies: 400, never 500


@pytest.mark.parametrize(
    "body",
    ['{"product": ', "{product: 1}", "\x00", '{"product": "x"} trailing', '{"quantity": NaN}'],
    ids=["cut-short", "unquoted-key", "nul", "trailing", "nan"],
)
def test_malformed_json_is_refused_and_saves_nothing(api, agent, case, body):
    error(send(api(agent), "PATCH", case_url(case), body), 400, "parse_error")
    case.refresh_from_db()
    assert case.version == 1


@pytest.mark.parametrize("body", ["[]", '"product"', "42", "null", "true"])
def test_a_json_body_that_is_no_object_is_refused(api, agent, case, body):
    error(send(api(agent), "PATCH", case_url(case), body), 400, "invalid")
    case.refresh_from_db()
    assert case.version == 1


def test_json_in_another_encoding_than_utf8_is_refused(api, agent, case):
    body = json.dumps({"product": "洗衣机"}, ensure_ascii=False).encode("gb18030")

    response = api(agent).generic("PATCH", case_url(case), body, content_type="application/json")

    error(response, 400, "parse_error")


def test_a_nul_character_in_a_field_is_refused_naming_it(api, agent, case):
    refused = error(
        api(agent).patch(case_url(case), {"product": "W\x00200"}, format="json", **read(case)),
        400,
        "invalid",
    )

    assert refused["fields"] == {"product": ["Null characters are not allowed."]}


def test_a_nul_character_in_a_new_customers_name_is_refused_naming_it(api, agent):
    data = {**NEW_COMPLAINT, "customer": {"name": "Li\x00Na", "phone": "13800138000"}}

    refused = error(api(agent).post(CASES, data, format="json"), 400, "invalid")

    assert refused["fields"] == {"customer.name": ["Null characters are not allowed."]}
    assert not Customer.objects.exists()


def test_a_nul_character_in_a_field_name_is_refused_as_unknown(api, agent, case):
    refused = error(
        api(agent).patch(case_url(case), {"prod\x00uct": "x"}, format="json", **read(case)),
        400,
        "invalid",
    )

    assert refused["fields"] == {"prod\x00uct": ["Unknown field."]}


def test_a_nul_character_in_a_filter_is_refused_naming_it(api, agent, case):
    refused = error(api(agent).get(f"{CASES}?q=C%00"), 400, "invalid")

    assert refused["fields"] == {"q": ["Null characters are not allowed."]}


@pytest.mark.parametrize("action", ["", "events", "transition"])
def test_a_nul_character_in_a_case_reference_is_not_found(api, agent, case, action):
    client = api(agent)
    url = case_url("C\x00X", action)

    response = client.post(url, {"to": "listen"}) if action == "transition" else client.get(url)

    error(response, 404, "not_found")


def test_a_nul_character_in_a_sign_in_is_refused(api, agent):
    response = api().post(
        f"{V1}/auth/token/", {"username": "agent\x00", "password": "x"}, format="json"
    )

    assert list(error(response, 400, "invalid")["fields"]) == ["username"]


HUGE = 10**30


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"quantity": HUGE}, "quantity"),
        ({"quantity": -1}, "quantity"),
        ({"product": "x" * 201}, "product"),
    ],
)
def test_out_of_range_step_data_is_refused_naming_the_field(api, agent, case, data, field):
    refused = error(
        api(agent).patch(case_url(case), data, format="json", **read(case)), 400, "invalid"
    )

    assert list(refused["fields"]) == [field]


@pytest.mark.parametrize("value", ["1e400", "1" + "0" * 40, "-5", "12.345"])
def test_a_remedy_value_out_of_range_is_refused_naming_it(api, handler, decide_case, value):
    case = decide_case()

    response = send(api(handler), "PATCH", case_url(case), f'{{"remedy_value": {value}}}')

    assert list(error(response, 400, "invalid")["fields"]) == ["remedy_value"]


@pytest.mark.parametrize("field", ["department", "responsible_person"])
def test_a_huge_id_is_refused_naming_the_field(api, agent, handler, after_sales, field):
    case = walk(
        receive_case(by=agent), to=Step.ANALYSE, by=agent, department=after_sales, person=handler
    )

    response = api(agent).patch(case_url(case), {field: HUGE}, format="json", **read(case))

    assert list(error(response, 400, "invalid")["fields"]) == [field]


def test_a_huge_version_is_a_conflict(api, agent, case):
    response = api(agent).patch(case_url(case), {"product": "x", "version": HUGE}, format="json")

    error(response, 409, "conflict")


@pytest.mark.parametrize(
    "url",
    [
        f"{V1}/customers/{HUGE}/",
        f"{V1}/escalations/{HUGE}/",
        f"{V1}/approvals/{HUGE}/",
        f"{CASES}?page={HUGE}",
    ],
)
def test_a_huge_number_in_the_address_is_not_found(api, agent, case, url):
    error(api(agent).get(url), 404, "not_found")


def test_a_huge_page_size_is_the_largest_page(api, agent, case):
    assert api(agent).get(f"{CASES}?page_size={HUGE}").status_code == 200


@pytest.mark.parametrize(
    ("url", "field"),
    [
        (f"{CASES}?owner={HUGE}", "owner"),
        (f"{CASES}?department={HUGE}", "department"),
        (f"{CASES}?customer=1.5", "customer"),
        (f"{CASES}?customer=one", "customer"),
        (f"{CASES}?customer={HUGE}", "customer"),
        (f"{CASES}?customer=-{HUGE}", "customer"),
    ],
)
def test_a_wrong_id_in_a_filter_is_refused_naming_it(api, agent, case, url, field):
    assert list(error(api(agent).get(url), 400, "invalid")["fields"]) == [field]


@pytest.mark.parametrize(
    ("action", "data", "field"),
    [
        # A fraction or a boolean is no id, even if int() would make one of it.
        ("assignment", lambda d: {"department": d.pk + 0.5}, "department"),
        ("assignment", lambda d: {"department": str(d.pk) + ".9"}, "department"),
        ("assignment", {"department": True}, "department"),
        ("assignment", {"department": "logistics"}, "department"),
        ("assignment", lambda d: {"department": [d.pk]}, "department"),
        ("assignment", {"note": {"text": "x"}}, "note"),
        ("transition", {"to": 5}, "to"),
        ("transition", {"to": ["listen"]}, "to"),
        ("transition", {"to": "listen", "version": "one"}, "version"),
        ("transition", {"to": "listen", "version": 1.5}, "version"),
        ("transition", {"to": "listen", "quantity": "many"}, "quantity"),
        ("transition", {"to": "listen", "urgency": None}, "urgency"),
        ("messages", {"body": "x", "customer_visible": "maybe"}, "customer_visible"),
        ("messages", {"body": ["x"]}, "body"),
        ("pause", {"reason": {"customer": True}}, "reason"),
        ("escalate", {"note": 3.5e300, "tier": 3}, "tier"),
    ],
)
def test_a_wrong_type_is_refused_naming_the_field(api, agent, logistics, case, action, data, field):
    data = data(logistics) if callable(data) else data

    response = api(agent).post(case_url(case, action), data, format="json")

    assert field in error(response, 400, "invalid")["fields"]
    case.refresh_from_db()
    assert (case.version, case.department) == (1, None)
    assert event_kinds(case) == [CaseEvent.Kind.RECEIVED]


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({**NEW_COMPLAINT, "customer": "Li Na"}, "customer"),
        ({**NEW_COMPLAINT, "customer": None}, "customer"),
        ({**NEW_COMPLAINT, "quantity": "two"}, "quantity"),
        ({**NEW_COMPLAINT, "received_at": "yesterday"}, "received_at"),
        ({**NEW_COMPLAINT, "urgency": ["red"]}, "urgency"),
        ({**NEW_COMPLAINT, "description": {"text": "x"}}, "description"),
    ],
)
def test_a_new_complaint_with_a_wrong_type_is_refused_naming_the_field(api, agent, data, field):
    response = api(agent).post(CASES, data, format="json")

    assert list(error(response, 400, "invalid")["fields"]) == [field]
    assert not Case.objects.exists()


def test_remedies_sent_as_a_string_are_refused(api, handler, decide_case):
    case = decide_case()

    response = api(handler).patch(
        case_url(case), {"remedy_types": "repair"}, format="json", **read(case)
    )

    assert list(error(response, 400, "invalid")["fields"]) == ["remedy_types"]


# ---------------------------------------------------------------- unknown fields


@pytest.mark.parametrize(
    ("action", "data", "field"),
    [
        ("transition", {"to": "listen", "step": "closed"}, "step"),
        ("assignment", {"person": None, "owner": 1}, "owner"),
        ("messages", {"body": "x", "visible": True}, "visible"),
        ("escalate", {"note": "x", "tier": 3}, "tier"),
        ("approval", {"note": "x", "value": 1}, "value"),
    ],
)
def test_an_unknown_field_is_refused_naming_it(api, agent, case, action, data, field):
    response = api(agent).post(case_url(case, action), data, format="json")

    assert error(response, 400, "invalid")["fields"] == {field: ["Unknown field."]}
    assert event_kinds(case) == [CaseEvent.Kind.RECEIVED]


def test_an_unknown_field_of_the_new_customer_is_refused_naming_it(api, agent):
    data = {**NEW_COMPLAINT, "customer": {**NEW_COMPLAINT["customer"], "vip": True}}

    refused = error(api(agent).post(CASES, data, format="json"), 400, "invalid")

    assert refused["fields"] == {"customer.vip": ["Unknown field."]}
    assert not Case.objects.exists()
