"""conversation.sms: the guard every message passes, each backend SMS_URL can name, and the
inbound webhooks' authentication. Twilio and Tencent are played by a local HTTP server
(sms_server.py) that checks what the real provider libraries send against the providers'
documented formats and signatures; nothing here mocks a library."""

import json
import re
from datetime import UTC, datetime
from urllib.parse import quote, urlencode

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import RequestFactory, override_settings

from conversation.sms import (
    SMS_MAX_CHARS,
    InboundRefused,
    SmsError,
    SmsMessage,
    inbound_parse,
    outbox,
    sms_backend,
    sms_send,
)
from conversation.sms import tencent as tencent_backend
from conversation.sms import twilio as twilio_backend
from conversation.sms.config import backend_for
from conversation.sms.console import ConsoleBackend
from conversation.sms.locmem import LocmemBackend

from .sms_server import ProviderServer, Reply, tc3_signature, twilio_error, twilio_signature

# The library logs each request's date with utcfromtimestamp, deprecated in Python 3.12.
pytestmark = pytest.mark.filterwarnings("ignore:datetime.datetime.utcfromtimestamp")

CUSTOMER = "+8613800138000"
ACCOUNT_SID = "AC" + "0123456789abcdef" * 2
AUTH_TOKEN = "f00dfeedf00dfeedf00dfeedf00dfeed"
SENDER = "+15005550006"
SECRET_ID = "AKIDsmsTestSecretId0123456789"
SECRET_KEY = "smsTestSecretKey0123456789abcdef"
SITE_URL = "https://heed.example.com"
HEX_ID = re.compile(r"^[0-9a-f]{32}$")


@pytest.fixture(autouse=True)
def _outbox_cleared():
    outbox.clear()
    yield
    outbox.clear()


@pytest.fixture
def provider():
    server = ProviderServer().start()
    server.twilio_accounts[ACCOUNT_SID] = AUTH_TOKEN
    server.tencent_keys[SECRET_ID] = SECRET_KEY
    yield server
    server.stop()


def twilio_url(netloc: str, token: str = AUTH_TOKEN, **query: str) -> str:
    query = query or {"from": SENDER}
    return f"twilio://{ACCOUNT_SID}:{token}@{netloc}?{urlencode(query, quote_via=quote)}"


def tencent_url(netloc: str, key: str = SECRET_KEY, **query: str) -> str:
    query = {
        "sdk_app_id": "1400000000",
        "sign_name": "Heed",
        "template_id": "1234567",
        "region": "ap-guangzhou",
        **query,
    }
    return f"tencent://{SECRET_ID}:{key}@{netloc}?{urlencode(query, quote_via=quote)}"


def refused(message: SmsMessage) -> SmsError:
    with pytest.raises(SmsError) as caught:
        sms_send(message)
    return caught.value


# The guard ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "number",
    ["13800138000", "+0123456789", "+86 138 0013 8000", "+12345", "+1234567890123456", ""],
)
def test_a_number_that_is_not_e164_is_refused_for_good(settings, number):
    settings.SMS_URL = "locmem://"
    assert refused(SmsMessage(to=number, text="Hello")).permanent
    assert outbox == []


@pytest.mark.parametrize("text", ["", "   \n"])
def test_a_blank_text_is_refused_for_good(settings, text):
    settings.SMS_URL = "locmem://"
    assert refused(SmsMessage(to=CUSTOMER, text=text)).permanent


def test_a_text_longer_than_ten_segments_is_refused_for_good(settings):
    settings.SMS_URL = "locmem://"
    sms_send(SmsMessage(to=CUSTOMER, text="字" * SMS_MAX_CHARS))
    assert refused(SmsMessage(to=CUSTOMER, text="字" * (SMS_MAX_CHARS + 1))).permanent
    assert len(outbox) == 1


def test_characters_outside_the_bmp_count_twice_as_phones_count_them(settings):
    settings.SMS_URL = "locmem://"
    assert refused(SmsMessage(to=CUSTOMER, text="🙂" * (SMS_MAX_CHARS // 2 + 1))).permanent


# SMS_URL --------------------------------------------------------------------------------------


def test_an_unknown_scheme_is_a_configuration_error_that_keeps_the_secrets(settings):
    settings.SMS_URL = "nexmo://KEY:s3cr3t-value@rest.nexmo.com"
    with pytest.raises(ImproperlyConfigured) as caught:
        sms_backend()
    assert "nexmo://" in str(caught.value)
    assert "twilio://" in str(caught.value) and "tencent://" in str(caught.value)
    assert "s3cr3t-value" not in str(caught.value)


def test_the_backend_follows_the_setting_as_it_changes():
    with override_settings(SMS_URL="locmem://"):
        assert isinstance(sms_backend(), LocmemBackend)
    with override_settings(SMS_URL="console://"):
        assert isinstance(sms_backend(), ConsoleBackend)


@pytest.mark.parametrize(
    "query",
    [{}, {"from": SENDER, "messaging_service_sid": "MG" + "0" * 32}],
    ids=["no sender", "two senders"],
)
def test_twilio_needs_exactly_one_sender(query):
    url = f"twilio://{ACCOUNT_SID}:{AUTH_TOKEN}@api.twilio.com?{urlencode(query)}"
    with pytest.raises(ImproperlyConfigured):
        backend_for(url)


def test_twilio_needs_its_credentials():
    with pytest.raises(ImproperlyConfigured):
        backend_for(f"twilio://{ACCOUNT_SID}@api.twilio.com?from=%2B15005550006")


@pytest.mark.parametrize("missing", ["sdk_app_id", "region"])
def test_tencent_needs_its_app_and_region(missing):
    url = tencent_url("sms.tencentcloudapi.com", **{missing: ""})
    with pytest.raises(ImproperlyConfigured, match=missing):
        backend_for(url)


def test_a_literal_plus_in_the_query_stays_a_plus():
    backend = backend_for(f"twilio://{ACCOUNT_SID}:{AUTH_TOKEN}@api.twilio.com?from=+15005550006")
    assert backend.from_ == SENDER


@pytest.mark.parametrize(
    ("netloc", "base"),
    [
        ("api.twilio.com", "https://api.twilio.com"),
        ("10.0.0.5:8080", "https://10.0.0.5:8080"),
        ("127.0.0.1:8080", "http://127.0.0.1:8080"),
        ("127.0.0.2", "http://127.0.0.2"),
        ("localhost:9", "http://localhost:9"),
        ("[::1]:9", "http://[::1]:9"),
    ],
)
def test_the_provider_is_reached_over_https_except_on_loopback(netloc, base):
    assert backend_for(twilio_url(netloc)).api_base == base


# console, locmem, file ------------------------------------------------------------------------


def test_console_prints_each_message(settings, capsys):
    settings.SMS_URL = "console://"
    message_id = sms_send(SmsMessage(to=CUSTOMER, text="Your case C-1 is received"))
    assert capsys.readouterr().out == f"SMS to {CUSTOMER} : Your case C-1 is received\n"
    assert HEX_ID.match(message_id)


def test_locmem_keeps_the_messages_in_order(settings):
    settings.SMS_URL = "locmem://"
    first, second = SmsMessage(to=CUSTOMER, text="one"), SmsMessage(to=CUSTOMER, text="two")
    ids = {sms_send(first), sms_send(second)}
    assert outbox == [first, second]
    assert len(ids) == 2 and all(HEX_ID.match(i) for i in ids)


def test_file_writes_one_file_per_message_in_a_directory_it_creates(settings, tmp_path):
    directory = tmp_path / "not" / "yet"
    settings.SMS_URL = f"file://{directory}"
    message = SmsMessage(
        to=CUSTOMER, text="您的投诉已受理", template_id="1234567", params=("C-1", "3")
    )
    message_id = sms_send(message)
    sms_send(SmsMessage(to=CUSTOMER, text="second"))
    files = sorted(directory.iterdir())
    assert len(files) == 2
    assert message_id in files[0].name
    assert files[0].read_text(encoding="utf-8") == (
        f'To: {CUSTOMER}\nTemplate: 1234567\nParams: ["C-1", "3"]\n\n您的投诉已受理\n'
    )


def test_file_needs_an_absolute_path():
    with pytest.raises(ImproperlyConfigured):
        backend_for("file://var/heed/sms")


# Twilio ---------------------------------------------------------------------------------------


def test_twilio_sends_to_from_and_body_with_basic_auth_and_returns_the_sid(settings, provider):
    settings.SMS_URL = twilio_url(provider.netloc)
    sid = sms_send(SmsMessage(to=CUSTOMER, text="Your case C-1 is received"))
    assert re.match(r"^SM[0-9a-f]{32}$", sid)
    (seen,) = provider.seen
    # The server answered 201 only because the Basic auth was this account's.
    assert seen.path == f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json"
    assert seen.fields == {"To": CUSTOMER, "From": SENDER, "Body": "Your case C-1 is received"}


def test_twilio_sends_through_a_messaging_service(settings, provider):
    service = "MG" + "9" * 32
    settings.SMS_URL = twilio_url(provider.netloc, messaging_service_sid=service)
    sms_send(SmsMessage(to=CUSTOMER, text="Hello"))
    assert provider.seen[0].fields == {
        "To": CUSTOMER,
        "MessagingServiceSid": service,
        "Body": "Hello",
    }


def test_twilio_refusing_our_credentials_is_permanent(settings, provider):
    settings.SMS_URL = twilio_url(provider.netloc, token="0" * 32)
    error = refused(SmsMessage(to=CUSTOMER, text="Hello"))
    assert error.permanent and error.code == "20003"


def test_twilio_refusing_the_number_is_permanent(settings, provider):
    settings.SMS_URL = twilio_url(provider.netloc)
    provider.script.append(
        twilio_error(400, 21211, f"The 'To' number {CUSTOMER} is not a valid phone number.")
    )
    error = refused(SmsMessage(to=CUSTOMER, text="Hello"))
    assert error.permanent and error.code == "21211"
    assert "not a valid phone number" in str(error)


@pytest.mark.parametrize(
    "reply",
    [
        twilio_error(429, 20429, "Too Many Requests"),
        twilio_error(500, 20500, "Internal Server Error"),
        Reply(503, "<html><body>Service Unavailable</body></html>", "text/html"),
    ],
    ids=["429", "500", "503"],
)
def test_twilio_throttling_or_failing_is_temporary(settings, provider, reply):
    settings.SMS_URL = twilio_url(provider.netloc)
    provider.script.append(reply)
    assert not refused(SmsMessage(to=CUSTOMER, text="Hello")).permanent


def test_twilio_closing_the_connection_is_temporary(settings, provider):
    settings.SMS_URL = twilio_url(provider.netloc)
    provider.script.append("drop")
    assert not refused(SmsMessage(to=CUSTOMER, text="Hello")).permanent


def test_twilio_unreachable_is_temporary(settings):
    server = ProviderServer()  # bound, never started, then closed: its port refuses
    server.stop()
    settings.SMS_URL = twilio_url(server.netloc)
    assert not refused(SmsMessage(to=CUSTOMER, text="Hello")).permanent


def test_twilio_not_answering_in_time_is_temporary(settings, provider, monkeypatch):
    monkeypatch.setattr(twilio_backend, "SEND_TIMEOUT", 0.2)
    settings.SMS_URL = twilio_url(provider.netloc)
    provider.script.append(1.0)
    assert not refused(SmsMessage(to=CUSTOMER, text="Hello")).permanent


# Tencent --------------------------------------------------------------------------------------


def test_the_stand_in_signs_tencents_documented_example_as_tencent_does():
    """Signature v3's worked example (DescribeInstances on cvm, 2019-02-25): the server's own
    implementation must reach Tencent's published signature before it may judge the library."""
    headers = {
        "content-type": "application/json; charset=utf-8",
        "host": "cvm.tencentcloudapi.com",
    }
    payload = (
        b'{"Limit": 1, "Filters": [{"Values": ["\\u672a\\u547d\\u540d"], "Name": "instance-name"}]}'
    )
    assert (
        tc3_signature(
            secret_key="Gu5t9xGARNpq86cd98joQYCN3EXAMPLE",
            service="cvm",
            timestamp=1551113065,
            method="POST",
            headers=headers,
            signed_headers=["content-type", "host"],
            payload=payload,
        )
        == "72e494ea809ad7a8c8f7a4507b9bddcbaa8e581f516e8da2f66e2c5a96525168"
    )


def test_tencent_sends_a_signed_sendsms_and_returns_the_serial_number(settings, provider):
    settings.SMS_URL = tencent_url(provider.netloc)
    serial = sms_send(SmsMessage(to=CUSTOMER, text="C-1"))
    assert re.match(r"^2645:\d{27}$", serial)
    (seen,) = provider.seen
    # The server answered Ok only because the TC3-HMAC-SHA256 signature was right.
    assert seen.headers["authorization"].startswith(f"TC3-HMAC-SHA256 Credential={SECRET_ID}/")
    assert seen.headers["x-tc-action"] == "SendSms"
    assert seen.headers["x-tc-version"] == "2021-01-11"
    assert seen.headers["x-tc-region"] == "ap-guangzhou"
    assert seen.fields == {
        "PhoneNumberSet": [CUSTOMER],
        "SmsSdkAppId": "1400000000",
        "SignName": "Heed",
        "TemplateId": "1234567",
        "TemplateParamSet": ["C-1"],
    }


def test_tencent_sends_the_messages_own_template_and_parameters(settings, provider):
    settings.SMS_URL = tencent_url(provider.netloc)
    sms_send(SmsMessage(to=CUSTOMER, text="全文", template_id="7654321", params=("C-1", "3 天")))
    fields = provider.seen[0].fields
    assert fields["TemplateId"] == "7654321"
    assert fields["TemplateParamSet"] == ["C-1", "3 天"]


def test_tencent_without_any_template_is_refused_before_sending(settings, provider):
    settings.SMS_URL = tencent_url(provider.netloc, template_id="")
    assert refused(SmsMessage(to=CUSTOMER, text="Hello")).permanent
    assert provider.seen == []


@pytest.mark.parametrize(
    ("code", "permanent"),
    [
        ("FailedOperation.PhoneNumberInBlacklist", True),
        ("InvalidParameterValue.IncorrectPhoneNumber", True),
        ("UnauthorizedOperation.SmsSdkAppIdVerifyFail", True),
        ("LimitExceeded.PhoneNumberDailyLimit", False),
        ("InternalError.Timeout", False),
    ],
)
def test_tencent_not_sending_is_permanent_unless_throttled_or_its_own_failure(
    settings, provider, code, permanent
):
    settings.SMS_URL = tencent_url(provider.netloc)
    provider.tencent_code = code
    error = refused(SmsMessage(to=CUSTOMER, text="Hello"))
    assert (error.permanent, error.code) == (permanent, code)


def test_tencent_refusing_our_signature_is_permanent(settings, provider):
    settings.SMS_URL = tencent_url(provider.netloc, key="not" + SECRET_KEY)
    error = refused(SmsMessage(to=CUSTOMER, text="Hello"))
    assert error.permanent and error.code == "AuthFailure.SignatureFailure"


def test_tencent_failing_slow_or_unreachable_is_temporary(settings, provider, monkeypatch):
    monkeypatch.setattr(tencent_backend, "SEND_TIMEOUT", 0.2)
    settings.SMS_URL = tencent_url(provider.netloc)
    provider.script.append(Reply(502, "<html>Bad Gateway</html>", "text/html"))
    assert not refused(SmsMessage(to=CUSTOMER, text="Hello")).permanent
    provider.script.append("drop")
    assert not refused(SmsMessage(to=CUSTOMER, text="Hello")).permanent
    provider.script.append(1.0)
    assert not refused(SmsMessage(to=CUSTOMER, text="Hello")).permanent
    provider.stop()
    assert not refused(SmsMessage(to=CUSTOMER, text="Hello")).permanent


# Inbound: Twilio ------------------------------------------------------------------------------

INBOUND_PATH = "/sms/twilio/inbound/"
INBOUND = {
    "MessageSid": "SM" + "a" * 32,
    "SmsSid": "SM" + "a" * 32,
    "AccountSid": ACCOUNT_SID,
    "From": CUSTOMER,
    "To": SENDER,
    "Body": "Still no refund, C-1",
    "NumMedia": "0",
    "NumSegments": "1",
}


def twilio_call(params: dict[str, str], signature: str | None):
    headers = {"X-Twilio-Signature": signature} if signature is not None else {}
    return RequestFactory().post(
        INBOUND_PATH,
        data=urlencode(params),
        content_type="application/x-www-form-urlencoded",
        headers=headers,
    )


@pytest.fixture
def twilio_inbound(settings):
    settings.SMS_URL = twilio_url("api.twilio.com")
    settings.SITE_URL = SITE_URL


def test_the_webhook_signer_signs_twilios_documented_example_as_twilio_does():
    params = {
        "CallSid": "CA1234567890ABCDE",
        "Caller": "+14158675310",
        "Digits": "1234",
        "From": "+14158675310",
        "To": "+18005551212",
    }
    url = "https://mycompany.com/myapp.php?foo=1&bar=2"
    assert twilio_signature("12345", url, params) == "GvWf1cFY/Q7PnoempGyD5oXAezc="


def test_a_twilio_message_signed_for_our_address_is_read(twilio_inbound):
    signature = twilio_signature(AUTH_TOKEN, SITE_URL + INBOUND_PATH, INBOUND)
    (sms,) = inbound_parse("twilio", twilio_call(INBOUND, signature))
    assert (sms.sender, sms.text, sms.provider_id) == (CUSTOMER, INBOUND["Body"], "SM" + "a" * 32)
    assert sms.received_at.tzinfo is not None
    assert sms.received_at.utcoffset().total_seconds() == 0


@pytest.mark.parametrize(
    "signature",
    [
        None,
        "",
        twilio_signature("0" * 32, SITE_URL + INBOUND_PATH, INBOUND),
        twilio_signature(AUTH_TOKEN, "http://testserver" + INBOUND_PATH, INBOUND),
        twilio_signature(AUTH_TOKEN, SITE_URL + INBOUND_PATH, {**INBOUND, "Body": "other"}),
    ],
    ids=["unsigned", "empty", "another token", "another address", "another body"],
)
def test_a_twilio_message_not_signed_for_this_call_is_refused(twilio_inbound, signature):
    with pytest.raises(InboundRefused) as caught:
        inbound_parse("twilio", twilio_call(INBOUND, signature))
    assert caught.value.status == 403


def test_a_signed_twilio_call_that_is_no_message_is_refused_as_malformed(twilio_inbound):
    params = {"AccountSid": ACCOUNT_SID, "MessageStatus": "delivered"}
    signature = twilio_signature(AUTH_TOKEN, SITE_URL + INBOUND_PATH, params)
    with pytest.raises(InboundRefused) as caught:
        inbound_parse("twilio", twilio_call(params, signature))
    assert caught.value.status == 400


@pytest.mark.parametrize("provider_name", ["twilio", "nexmo"])
def test_only_the_configured_providers_webhook_is_open(settings, provider_name):
    settings.SMS_URL = tencent_url("sms.tencentcloudapi.com", callback_token="t0ken")
    signature = twilio_signature(AUTH_TOKEN, SITE_URL + INBOUND_PATH, INBOUND)
    with pytest.raises(InboundRefused):
        inbound_parse(provider_name, twilio_call(INBOUND, signature))


# Inbound: Tencent -----------------------------------------------------------------------------

CALLBACK_TOKEN = "cb-0123456789abcdef"
REPLY = {
    "extend": "",
    "mobile": "13800138000",
    "nationcode": "86",
    "sign": "Heed",
    "text": "还没有退款",
    "time": 1492844542,
}


def tencent_call(payload: object, query: str = f"?token={CALLBACK_TOKEN}"):
    body = payload if isinstance(payload, str) else json.dumps(payload, ensure_ascii=False)
    return RequestFactory().post(
        "/sms/tencent/inbound/" + query, data=body, content_type="application/json"
    )


@pytest.fixture
def tencent_inbound(settings):
    settings.SMS_URL = tencent_url("sms.tencentcloudapi.com", callback_token=CALLBACK_TOKEN)


def test_a_tencent_reply_with_our_token_is_read(tencent_inbound):
    (sms,) = inbound_parse("tencent", tencent_call(REPLY))
    assert (sms.sender, sms.text) == (CUSTOMER, "还没有退款")
    assert sms.received_at == datetime(2017, 4, 22, 7, 2, 22, tzinfo=UTC)
    assert re.match(r"^[0-9a-f]{64}$", sms.provider_id)


def test_a_tencent_reply_delivered_twice_keeps_its_id(tencent_inbound):
    (first,) = inbound_parse("tencent", tencent_call(REPLY))
    (again,) = inbound_parse("tencent", tencent_call(dict(reversed(REPLY.items()))))
    (other,) = inbound_parse("tencent", tencent_call({**REPLY, "text": "谢谢"}))
    assert first.provider_id == again.provider_id != other.provider_id


def test_several_tencent_replies_in_one_call_are_all_read(tencent_inbound):
    replies = inbound_parse("tencent", tencent_call([REPLY, {**REPLY, "time": 1492844600}]))
    assert len(replies) == 2


@pytest.mark.parametrize("query", ["", "?token=", "?token=cb-wrong", f"?tok={CALLBACK_TOKEN}"])
def test_a_tencent_reply_without_our_token_is_refused(tencent_inbound, query):
    with pytest.raises(InboundRefused) as caught:
        inbound_parse("tencent", tencent_call(REPLY, query))
    assert caught.value.status == 403


def test_tencent_replies_are_refused_when_no_token_is_configured(settings):
    settings.SMS_URL = tencent_url("sms.tencentcloudapi.com")
    with pytest.raises(InboundRefused):
        inbound_parse("tencent", tencent_call(REPLY, "?token="))


@pytest.mark.parametrize(
    "payload",
    [
        "{not json",
        "[1, 2]",
        {**REPLY, "mobile": None},
        {k: v for k, v in REPLY.items() if k != "time"},
        {**REPLY, "nationcode": "abc"},
    ],
    ids=["not json", "not objects", "no mobile", "no time", "not a number"],
)
def test_a_malformed_tencent_reply_is_refused(tencent_inbound, payload):
    with pytest.raises(InboundRefused) as caught:
        inbound_parse("tencent", tencent_call(payload))
    assert caught.value.status == 400
