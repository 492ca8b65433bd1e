"""``twilio://ACCOUNT_SID:AUTH_TOKEN@api.twilio.com?from=%2B15005550006`` (or
``messaging_service_sid=MG…`` instead of ``from``): sending through Twilio's Programmable
Messaging API with the official ``twilio`` library, and reading Twilio's inbound-message webhook,
authenticated by its ``X-Twilio-Signature`` (HMAC-SHA1 keyed with the auth token)."""

from urllib.parse import SplitResult

import requests
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest
from django.utils import timezone
from twilio.base.exceptions import TwilioException
from twilio.http.http_client import TwilioHttpClient
from twilio.request_validator import RequestValidator
from twilio.rest import Client

from .base import (
    E164,
    SEND_TIMEOUT,
    InboundRefused,
    InboundSms,
    SmsBackend,
    SmsError,
    SmsMessage,
)
from .config import url_api_base, url_credentials, url_query


class TwilioBackend(SmsBackend):
    provider = "twilio"

    def __init__(
        self,
        *,
        account_sid: str,
        auth_token: str,
        api_base: str,
        from_: str = "",
        messaging_service_sid: str = "",
    ) -> None:
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.api_base = api_base
        self.from_ = from_
        self.messaging_service_sid = messaging_service_sid

    @classmethod
    def from_url(cls, parts: SplitResult) -> "TwilioBackend":
        account_sid, auth_token = url_credentials(parts, "twilio", "ACCOUNT_SID:AUTH_TOKEN")
        query = url_query(parts)
        from_ = query.get("from", "")
        service = query.get("messaging_service_sid", "")
        if bool(from_) == bool(service):
            raise ImproperlyConfigured(
                "SMS_URL twilio:// needs either ?from=%2B<sender number> or "
                "?messaging_service_sid=MG…, not both"
            )
        return cls(
            account_sid=account_sid,
            auth_token=auth_token,
            api_base=url_api_base(parts, "twilio"),
            from_=from_,
            messaging_service_sid=service,
        )

    def send(self, message: SmsMessage) -> str:
        client = Client(
            self.account_sid,
            self.auth_token,
            http_client=TwilioHttpClient(timeout=SEND_TIMEOUT),
        )
        # SMS_URL alone decides where requests go: the library would otherwise rewrite the host
        # after TWILIO_EDGE / TWILIO_REGION from the environment.
        client.edge = client.region = None
        client.api.base_url = self.api_base
        sender = (
            {"messaging_service_sid": self.messaging_service_sid}
            if self.messaging_service_sid
            else {"from_": self.from_}
        )
        try:
            created = client.messages.create(to=message.to, body=message.text, **sender)
        except TwilioException as exc:
            # TwilioRestException and the newer TwilioServiceException both carry the status.
            status = getattr(exc, "status", None)
            code = str(getattr(exc, "code", "") or "")
            # 4xx is our request (number, sender, credentials), except throttling (429).
            permanent = isinstance(status, int) and 400 <= status < 500 and status != 429
            raise SmsError(
                f"Twilio answered HTTP {status} (error {code or '-'}): "
                f"{getattr(exc, 'msg', '') or getattr(exc, 'title', '') or exc}",
                permanent=permanent,
                code=code,
            ) from exc
        except requests.RequestException as exc:
            raise SmsError(f"Twilio unreachable: {type(exc).__name__}", permanent=False) from exc
        except ValueError as exc:
            # A 2xx whose body is not Twilio's JSON (a proxy's page): whether it was sent is
            # unknown, and the provider may well be fine a minute later.
            raise SmsError("Twilio's answer could not be read", permanent=False) from exc
        return created.sid

    def inbound_parse(self, request: HttpRequest) -> list[InboundSms]:
        """Twilio signs the URL it called (ours as configured in its console, hence SITE_URL, not
        the Host header a proxy may have changed) followed by each POST parameter."""
        signature = request.headers.get("X-Twilio-Signature", "")
        if not signature:
            raise InboundRefused("no X-Twilio-Signature")
        url = settings.SITE_URL + request.get_full_path()
        if not RequestValidator(self.auth_token).validate(url, request.POST, signature):
            raise InboundRefused("X-Twilio-Signature does not match")
        message_id = request.POST.get("MessageSid", "")
        sender = request.POST.get("From", "")
        if not message_id or not E164.match(sender) or "Body" not in request.POST:
            raise InboundRefused("not an inbound SMS (MessageSid, From, Body)", status=400)
        return [
            InboundSms(
                sender=sender,
                text=request.POST["Body"],
                provider_id=message_id,
                # The webhook carries no time of its own: Twilio calls within seconds.
                received_at=timezone.now(),
            )
        ]
