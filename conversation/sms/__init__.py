"""Text messages (SMS) to and from customers, through a provider chosen by ``SMS_URL`` — in the
spirit of ``EMAIL_URL``: the scheme names the backend, the rest configures it.

    console://                      print each message (development; the default)
    locmem://                       keep them in ``conversation.sms.outbox`` (tests)
    file:///var/heed/sms            one file per message in that directory (created if missing)
    twilio://ACCOUNT_SID:AUTH_TOKEN@api.twilio.com?from=%2B15005550006
        (or ?messaging_service_sid=MG… instead of from)
    tencent://SECRET_ID:SECRET_KEY@sms.tencentcloudapi.com?sdk_app_id=1400000000
        &sign_name=Heed&template_id=1234567&region=ap-guangzhou&callback_token=…

Secrets are percent-encoded where they hold reserved characters; in the query a literal "+"
stays a plus. The provider's host is reached over HTTPS, or plain HTTP on a loopback address
only (the tests' stand-in servers). ``callback_token`` is what Tencent's reply callback must
carry as ``?token=``; without it Tencent callbacks are refused.

The public interface (the rest of Heed uses only this):

- ``SmsMessage``: one text to one number (E.164), with the provider template and its
  parameters where the provider needs them (Chinese providers send only pre-approved templates).
- ``sms_send(message) -> str``: sends through the configured backend, returns the provider's
  message id; raises ``SmsError`` (``permanent`` says whether trying again can help).
- ``sms_backend()``: the backend for the current ``SMS_URL``.
- ``inbound_parse(provider, request) -> list[InboundSms]``: a provider's inbound webhook call,
  authenticated (``InboundRefused`` if not; its ``status`` is the HTTP answer, 403 or 400).
- ``outbox``: what ``locmem://`` sent, in order; ``SMS_MAX_CHARS``: the longest text sent.
"""

from django.http import HttpRequest

from .base import (
    SMS_MAX_CHARS,
    InboundRefused,
    InboundSms,
    SmsBackend,
    SmsError,
    SmsMessage,
    message_check,
)
from .config import sms_backend
from .locmem import outbox

__all__ = [
    "SMS_MAX_CHARS",
    "InboundRefused",
    "InboundSms",
    "SmsBackend",
    "SmsError",
    "SmsMessage",
    "inbound_parse",
    "outbox",
    "sms_backend",
    "sms_send",
]

PROVIDERS = ("twilio", "tencent")


def sms_send(message: SmsMessage) -> str:
    """Send one message through the configured backend and return the provider's message id.
    The number must be E.164 and the text non-blank and at most SMS_MAX_CHARS long, whatever the
    backend: a permanent SmsError otherwise, before anything is sent."""
    message_check(message)
    return sms_backend().send(message)


def inbound_parse(provider: str, request: HttpRequest) -> list[InboundSms]:
    """Read one call to a provider's inbound webhook. Only the configured provider's webhook is
    open, authenticated with that provider's secret from SMS_URL; any other is refused."""
    backend = sms_backend()
    if provider not in PROVIDERS or backend.provider != provider:
        raise InboundRefused(f"SMS_URL does not configure {provider!r} for inbound SMS")
    return backend.inbound_parse(request)
