"""Text messages in, through the SMS provider's webhook (/sms/<provider>/inbound/): a customer's
SMS lands on their most recent open case as their message; STOP asks for essential messages only
and START undoes it; an unknown number or a customer with no open case starts a case waiting to
be taken; each provider message id is taken in once; a call that is not the provider's is
refused and posts nothing."""

from __future__ import annotations

import json
import time
from urllib.parse import quote, urlencode

import pytest

from complaints.models import Case, CaseEvent, Channel, Step
from conversation.models import ReceivedSms

from ..factories import CustomerFactory, receive_case, walk
from .sms_server import twilio_signature

pytestmark = pytest.mark.django_db

TOKEN = "callback-token-0123456789"
ACCOUNT_SID = "AC" + "0123456789abcdef" * 2
AUTH_TOKEN = "f00dfeedf00dfeedf00dfeedf00dfeed"
NUMBER = "+8613800138000"
TENCENT = "/sms/tencent/inbound/"
TWILIO = "/sms/twilio/inbound/"


# Texts come in through Tencent's reply callback, which sends TOKEN back.
TENCENT_SMS_URL = "tencent://AKIDtest:secret@sms.tencentcloudapi.com?" + urlencode(
    {
        "sdk_app_id": "1400000000",
        "sign_name": "Heed",
        "template_id": "1234567",
        "region": "ap-guangzhou",
        "callback_token": TOKEN,
    },
    quote_via=quote,
)


@pytest.fixture
def tencent(settings):
    settings.SMS_URL = TENCENT_SMS_URL


def reply(client, text: str, *, mobile: str = "13800138000", at: int | None = None, token=TOKEN):
    """Tencent's reply callback (短信回复), as Tencent posts it."""
    body = {
        "extend": "",
        "mobile": mobile,
        "nationcode": "86",
        "sign": "Heed",
        "text": text,
        "time": at or int(time.time()),
    }
    return client.post(
        f"{TENCENT}?token={token}", json.dumps(body), content_type="application/json"
    )


@pytest.fixture
def li_na(db):
    return CustomerFactory(name="Li Na", phone=NUMBER, email="li.na@example.com")


@pytest.fixture
def open_case(agent, li_na) -> Case:
    return receive_case(by=agent, customer=li_na)


def test_a_text_lands_on_the_customers_latest_open_case_as_their_message(
    client, tencent, open_case
):
    response = reply(client, "The repairman did not come.")

    assert response.status_code == 200
    assert response.json() == {"result": 0, "errmsg": "OK"}
    message = open_case.events.get(kind=CaseEvent.Kind.CUSTOMER_MESSAGE)
    assert (message.note, message.by_customer) == ("The repairman did not come.", True)
    open_case.refresh_from_db()
    assert open_case.awaiting_reply_since == message.at  # waiting on us
    assert ReceivedSms.objects.get().case == open_case


def test_the_latest_open_case_is_chosen_over_an_older_open_one_and_a_closed_one(
    client, tencent, agent, handler, after_sales, li_na
):
    older = receive_case(by=agent, customer=li_na)
    latest = receive_case(by=agent, customer=li_na)
    closed = receive_case(by=agent, customer=li_na)
    walk(closed, to=Step.CLOSED, by=agent, department=after_sales, person=handler)

    reply(client, "Any news?")

    assert latest.events.filter(kind=CaseEvent.Kind.CUSTOMER_MESSAGE).count() == 1
    assert not older.events.filter(kind=CaseEvent.Kind.CUSTOMER_MESSAGE).exists()


def test_the_same_callback_delivered_twice_posts_once(client, tencent, open_case):
    sent_at = int(time.time())

    reply(client, "Hello?", at=sent_at)
    again = reply(client, "Hello?", at=sent_at)

    assert again.status_code == 200
    assert open_case.events.filter(kind=CaseEvent.Kind.CUSTOMER_MESSAGE).count() == 1
    assert ReceivedSms.objects.count() == 1


@pytest.mark.parametrize("word", ["STOP", "td", "退订", "Stop."])
def test_stop_asks_for_essential_messages_only_and_posts_nothing(client, tencent, open_case, word):
    reply(client, word)

    open_case.customer.refresh_from_db()
    assert open_case.customer.essential_only_since is not None
    assert not open_case.events.filter(kind=CaseEvent.Kind.CUSTOMER_MESSAGE).exists()
    assert open_case.events.filter(kind=CaseEvent.Kind.PREFERENCES, by_customer=True).exists()


def test_start_undoes_stop(client, tencent, open_case):
    reply(client, "STOP", at=1)
    reply(client, "START", at=2)

    open_case.customer.refresh_from_db()
    assert open_case.customer.essential_only_since is None


def test_yes_is_an_answer_not_a_keyword(client, tencent, open_case):
    reply(client, "Yes")

    assert open_case.events.get(kind=CaseEvent.Kind.CUSTOMER_MESSAGE).note == "Yes"


def test_a_customer_without_an_open_case_starts_a_case_waiting_to_be_taken(
    client, tencent, agent, handler, after_sales, li_na
):
    closed = receive_case(by=agent, customer=li_na)
    walk(closed, to=Step.CLOSED, by=agent, department=after_sales, person=handler)

    reply(client, "It broke again.")

    new = Case.objects.exclude(pk=closed.pk).get()
    assert (new.customer, new.channel, new.owner, new.step) == (li_na, Channel.SMS, None, "receive")
    assert "It broke again." in new.description


def test_an_unknown_number_becomes_a_customer_and_a_case_waiting_to_be_taken(client, tencent):
    reply(client, "洗衣机又坏了", mobile="13900139000")

    case = Case.objects.get()
    assert (case.customer.phone, case.customer.name) == ("+8613900139000", "+8613900139000")
    assert case.customer.language == "zh-hans"  # the language of their text
    assert (case.channel, case.owner) == (Channel.SMS, None)


def test_a_long_text_is_taken_in_up_to_what_a_message_holds(client, tencent, open_case):
    limit = CaseEvent._meta.get_field("note").max_length

    reply(client, "x" * (limit + 100))

    assert len(open_case.events.get(kind=CaseEvent.Kind.CUSTOMER_MESSAGE).note) == limit


@pytest.mark.parametrize("token", ["", "wrong-token"])
def test_a_callback_without_the_token_is_refused_and_posts_nothing(
    client, tencent, open_case, token
):
    response = reply(client, "Forged.", token=token)

    assert response.status_code == 403
    assert not CaseEvent.objects.filter(kind=CaseEvent.Kind.CUSTOMER_MESSAGE).exists()
    assert not ReceivedSms.objects.exists()


def test_a_malformed_callback_is_refused(client, tencent, open_case):
    response = client.post(f"{TENCENT}?token={TOKEN}", "not json", content_type="application/json")

    assert response.status_code == 400
    assert not ReceivedSms.objects.exists()


def test_the_webhook_of_a_provider_not_configured_is_refused(client, tencent, open_case):
    response = client.post(TWILIO, {"From": NUMBER, "Body": "Hi", "MessageSid": "SM1"})

    assert response.status_code == 403
    assert not CaseEvent.objects.filter(kind=CaseEvent.Kind.CUSTOMER_MESSAGE).exists()


def test_the_webhook_takes_only_posts(client, tencent):
    assert client.get(f"{TENCENT}?token={TOKEN}").status_code == 405


def test_a_twilio_message_signed_with_the_accounts_token_lands_on_the_case(
    client, settings, open_case
):
    settings.SMS_URL = f"twilio://{ACCOUNT_SID}:{AUTH_TOKEN}@api.twilio.com?from=%2B15005550006"
    params = {"MessageSid": "SM" + "1" * 32, "From": NUMBER, "To": "+15005550006", "Body": "Hi!"}
    signature = twilio_signature(AUTH_TOKEN, settings.SITE_URL + TWILIO, params)

    response = client.post(TWILIO, params, HTTP_X_TWILIO_SIGNATURE=signature)

    assert response.status_code == 200
    assert b"<Response>" in response.content
    assert open_case.events.get(kind=CaseEvent.Kind.CUSTOMER_MESSAGE).note == "Hi!"


def test_a_twilio_message_with_a_signature_for_other_fields_is_refused(client, settings, open_case):
    settings.SMS_URL = f"twilio://{ACCOUNT_SID}:{AUTH_TOKEN}@api.twilio.com?from=%2B15005550006"
    params = {"MessageSid": "SM" + "2" * 32, "From": NUMBER, "To": "+15005550006", "Body": "Hi!"}
    signature = twilio_signature(AUTH_TOKEN, settings.SITE_URL + TWILIO, params)

    response = client.post(
        TWILIO, {**params, "From": "+8613900139000"}, HTTP_X_TWILIO_SIGNATURE=signature
    )

    assert response.status_code == 403
    assert not CaseEvent.objects.filter(kind=CaseEvent.Kind.CUSTOMER_MESSAGE).exists()


def test_two_texts_in_a_row_make_one_email_to_the_handler(client, tencent, open_case, agent):
    from escalation.models import Notification

    reply(client, "First.", at=1)
    reply(client, "Second.", at=2)

    [notification] = Notification.objects.filter(case=open_case, kind="customer")
    assert notification.recipient == agent


# ---------------------------------------------------------------- no SMS provider


def test_without_an_sms_provider_the_webhooks_are_not_there(client, settings):
    settings.SMS_URL = ""

    assert (
        client.post(f"{TENCENT}?token={TOKEN}", "{}", content_type="application/json").status_code
        == 404
    )
    assert client.post(TWILIO, {"Body": "Hi"}).status_code == 404


def test_without_an_sms_provider_a_phone_only_customer_is_not_sent_and_told_why(settings, agent):
    from conversation.models import Notice

    settings.SMS_URL = ""  # production's default until a provider is set up

    case = receive_case(by=agent, customer=CustomerFactory(email="", phone=NUMBER))

    notice = Notice.objects.get(case=case)
    assert (notice.status, notice.skipped_because) == ("skipped", "no_sms")
    assert str(notice.get_skipped_because_display()) == (
        "only a mobile number, and no SMS provider is set up"
    )
