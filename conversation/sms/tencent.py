"""``tencent://SECRET_ID:SECRET_KEY@sms.tencentcloudapi.com?sdk_app_id=…&sign_name=…&template_id=…
&region=ap-guangzhou[&callback_token=…]``: sending through Tencent Cloud SMS (API 2021-01-11,
``SendSms``) with the official ``tencentcloud-sdk-python-sms`` library, which signs each request
(TC3-HMAC-SHA256); and reading Tencent's reply callback (短信回复), which Tencent does not sign, so
its URL carries ``?token=`` equal to SMS_URL's ``callback_token``."""

import hashlib
import hmac
import json
from datetime import UTC, datetime
from typing import Any
from urllib.parse import SplitResult

from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest
from tencentcloud.common.credential import Credential
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException
from tencentcloud.common.profile.client_profile import ClientProfile
from tencentcloud.common.profile.http_profile import HttpProfile
from tencentcloud.sms.v20210111 import models
from tencentcloud.sms.v20210111.sms_client import SmsClient

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

# Error codes that may pass: throttling (LimitExceeded.PhoneNumberDailyLimit,
# RequestLimitExceeded), Tencent's own failures (InternalError.Timeout) and the network (the
# library's ClientNetworkError for a failed connection, ServerNetworkError for a non-200 answer).
# Every other code (FailedOperation.*, InvalidParameterValue.*, UnauthorizedOperation.*,
# AuthFailure.*, MissingParameter…) means the request or our configuration is wrong.
TEMPORARY_PREFIXES = (
    "LimitExceeded",
    "RequestLimitExceeded",
    "InternalError",
    "ClientNetworkError",
    "ServerNetworkError",
    "ServiceUnavailable",
)


def code_permanent(code: str) -> bool:
    return not code.startswith(TEMPORARY_PREFIXES)


class TencentBackend(SmsBackend):
    provider = "tencent"

    def __init__(
        self,
        *,
        secret_id: str,
        secret_key: str,
        api_base: str,
        region: str,
        sdk_app_id: str,
        sign_name: str = "",
        template_id: str = "",
        callback_token: str = "",
    ) -> None:
        self.secret_id = secret_id
        self.secret_key = secret_key
        self.scheme, _, self.endpoint = api_base.partition("://")
        self.region = region
        self.sdk_app_id = sdk_app_id
        self.sign_name = sign_name
        self.template_id = template_id
        self.callback_token = callback_token

    @classmethod
    def from_url(cls, parts: SplitResult) -> "TencentBackend":
        secret_id, secret_key = url_credentials(parts, "tencent", "SECRET_ID:SECRET_KEY")
        if secret_id.strip() != secret_id or secret_key.strip() != secret_key:
            raise ImproperlyConfigured("SMS_URL tencent:// has spaces around SECRET_ID:SECRET_KEY")
        query = url_query(parts)
        missing = [name for name in ("sdk_app_id", "region") if not query.get(name)]
        if missing:
            raise ImproperlyConfigured(f"SMS_URL tencent:// needs ?{'&'.join(missing)}")
        return cls(
            secret_id=secret_id,
            secret_key=secret_key,
            api_base=url_api_base(parts, "tencent"),
            region=query["region"],
            sdk_app_id=query["sdk_app_id"],
            sign_name=query.get("sign_name", ""),
            template_id=query.get("template_id", ""),
            callback_token=query.get("callback_token", ""),
        )

    def send(self, message: SmsMessage) -> str:
        template_id = message.template_id or self.template_id
        if not template_id:
            raise SmsError(
                "Tencent sends only approved templates: the message has no template_id and "
                "SMS_URL none either",
                permanent=True,
            )
        # HttpProfile's protocol is the scheme; the library speaks HTTPS unless told "http".
        http_profile = HttpProfile(
            protocol=self.scheme, endpoint=self.endpoint, reqTimeout=SEND_TIMEOUT
        )
        client = SmsClient(
            Credential(self.secret_id, self.secret_key),
            self.region,
            ClientProfile(signMethod="TC3-HMAC-SHA256", httpProfile=http_profile),
        )
        request = models.SendSmsRequest()
        request.PhoneNumberSet = [message.to]
        request.SmsSdkAppId = self.sdk_app_id
        request.TemplateId = template_id
        request.TemplateParamSet = list(message.params) or [message.text]
        if self.sign_name:
            # Required for numbers in mainland China, absent for international templates.
            request.SignName = self.sign_name
        try:
            response = client.SendSms(request)
        except TencentCloudSDKException as exc:
            code = exc.get_code() or ""
            # A network error's message may hold a whole HTML error page: keep its start.
            raise SmsError(
                f"Tencent: {code}: {str(exc.get_message())[:200]}",
                permanent=code_permanent(code),
                code=code,
            ) from exc
        if not response.SendStatusSet:
            raise SmsError("Tencent answered without a send status", permanent=False)
        status = response.SendStatusSet[0]
        if status.Code != "Ok":
            code = status.Code or ""
            raise SmsError(
                f"Tencent did not send it ({code}): {status.Message}",
                permanent=code_permanent(code),
                code=code,
            )
        return status.SerialNo

    def inbound_parse(self, request: HttpRequest) -> list[InboundSms]:
        """The reply callback: JSON ``{"mobile", "nationcode", "text", "time", "sign",
        "extend"}``, one object per call (a list of them is read too). Tencent gives no message
        id, so provider_id is a digest of who, when and what: the same callback delivered twice
        gets the same id."""
        token = request.GET.get("token", "")
        if not self.callback_token:
            raise InboundRefused("SMS_URL has no callback_token: Tencent callbacks are refused")
        if not hmac.compare_digest(token.encode(), self.callback_token.encode()):
            raise InboundRefused("wrong or missing ?token=")
        try:
            payload = json.loads(request.body)
        except (ValueError, UnicodeDecodeError) as exc:
            raise InboundRefused("the callback is not JSON", status=400) from exc
        items = payload if isinstance(payload, list) else [payload]
        return [self._reply(item) for item in items]

    @staticmethod
    def _reply(item: Any) -> InboundSms:
        if not isinstance(item, dict):
            raise InboundRefused("a reply is not a JSON object", status=400)
        mobile, nationcode, text, sent = (
            item.get("mobile"),
            item.get("nationcode"),
            item.get("text"),
            item.get("time"),
        )
        if isinstance(sent, str) and sent.isdigit():
            sent = int(sent)
        if not (
            isinstance(mobile, str)
            and isinstance(nationcode, str)
            and isinstance(text, str)
            and isinstance(sent, int)
            and not isinstance(sent, bool)
        ):
            raise InboundRefused("a reply lacks mobile, nationcode, text or time", status=400)
        sender = f"+{nationcode}{mobile}"
        if not E164.match(sender):
            raise InboundRefused(f"{sender!r} is not a phone number", status=400)
        try:
            received_at = datetime.fromtimestamp(sent, tz=UTC)
        except (OverflowError, OSError, ValueError) as exc:
            raise InboundRefused("a reply's time is out of range", status=400) from exc
        # The country code is in the digest too: the same national number exists in many.
        digest = hashlib.sha256(
            json.dumps([nationcode, mobile, sent, text], ensure_ascii=False).encode()
        ).hexdigest()
        return InboundSms(sender=sender, text=text, provider_id=digest, received_at=received_at)
