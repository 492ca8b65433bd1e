"""Stand-ins for the SMS providers' APIs on 127.0.0.1, for the SMS tests: one stdlib HTTP
server that answers as Twilio (Programmable Messaging, 2010-04-01) and as Tencent Cloud SMS
(SendSms, 2021-01-11) would. Each checks the request as the provider documents it — path, auth,
headers, fields — with its own implementation of the provider's signature algorithm, never the
provider library's, so that a library that signs or encodes wrongly fails here as it would there.

Also the signing side of the providers' webhooks (Twilio's X-Twilio-Signature), for inbound tests.

Documented algorithms followed:
- Tencent Cloud API signature v3, TC3-HMAC-SHA256: CanonicalRequest = method, "/", "" (POST),
  "key:value\\n" per signed header (lowercase, sorted), signed header names, hex SHA-256 of the
  body; StringToSign = "TC3-HMAC-SHA256", X-TC-Timestamp, "date/service/tc3_request", hex
  SHA-256 of the canonical request; key = HMAC chain "TC3"+SecretKey -> UTC date -> service ->
  "tc3_request"; Signature = hex HMAC-SHA256(key, StringToSign). Errors answer HTTP 200 with
  {"Response": {"Error": {"Code", "Message"}, "RequestId"}}.
- Twilio request validation: base64 HMAC-SHA1, keyed with the auth token, of the full URL
  followed by each POST parameter's name and value, sorted by name.
"""

import base64
import hashlib
import hmac
import json
import re
import secrets
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

TWILIO_MESSAGES = re.compile(r"^/2010-04-01/Accounts/(?P<sid>AC[0-9a-f]{32})/Messages\.json$")
TC3_AUTHORIZATION = re.compile(
    r"^TC3-HMAC-SHA256 Credential=(?P<secret_id>[^/]+)/(?P<date>\d{4}-\d{2}-\d{2})/"
    r"(?P<service>[a-z]+)/tc3_request, SignedHeaders=(?P<signed>[a-z0-9;-]+), "
    r"Signature=(?P<signature>[0-9a-f]{64})$"
)
# Tencent refuses a request whose X-TC-Timestamp is more than five minutes off (SignatureExpire).
TC3_MAX_SKEW = 300


def tc3_signature(
    *,
    secret_key: str,
    service: str,
    timestamp: int,
    method: str,
    headers: dict[str, str],
    signed_headers: list[str],
    payload: bytes,
    path: str = "/",
    query: str = "",
) -> str:
    """Tencent's TC3-HMAC-SHA256 signature, step by step as its signature-v3 page writes it."""
    canonical_headers = "".join(
        f"{name}:{headers[name].strip().lower()}\n" for name in sorted(signed_headers)
    )
    canonical_request = "\n".join(
        [
            method,
            path,
            query,
            canonical_headers,
            ";".join(sorted(signed_headers)),
            hashlib.sha256(payload).hexdigest(),
        ]
    )
    date = datetime.fromtimestamp(timestamp, tz=UTC).strftime("%Y-%m-%d")
    string_to_sign = "\n".join(
        [
            "TC3-HMAC-SHA256",
            str(timestamp),
            f"{date}/{service}/tc3_request",
            hashlib.sha256(canonical_request.encode()).hexdigest(),
        ]
    )

    def sign(key: bytes, text: str) -> bytes:
        return hmac.new(key, text.encode(), hashlib.sha256).digest()

    key = sign(sign(sign(f"TC3{secret_key}".encode(), date), service), "tc3_request")
    return hmac.new(key, string_to_sign.encode(), hashlib.sha256).hexdigest()


def twilio_signature(auth_token: str, url: str, params: dict[str, str]) -> str:
    """X-Twilio-Signature as Twilio computes it for a webhook call to ``url`` with ``params``."""
    data = url + "".join(name + params[name] for name in sorted(params))
    digest = hmac.new(auth_token.encode(), data.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


@dataclass
class Seen:
    """One request the server received, as it received it."""

    provider: str
    path: str
    headers: dict[str, str]
    body: bytes
    fields: dict = field(default_factory=dict)  # form fields (Twilio) or the JSON body (Tencent)


@dataclass
class Reply:
    status: int
    body: dict | str
    content_type: str = "application/json"


class ProviderServer:
    """The stand-in server. Credentials it accepts are set per test; ``script`` is a list of
    replies (or "drop" to close the connection unanswered, or seconds to stall before answering)
    used in turn before the default success answer."""

    def __init__(self) -> None:
        self.twilio_accounts: dict[str, str] = {}  # account SID -> auth token
        self.tencent_keys: dict[str, str] = {}  # SecretId -> SecretKey
        self.tencent_region = "ap-guangzhou"
        self.tencent_code = "Ok"  # the SendStatusSet code of the next answers
        self.script: list[Reply | str | float] = []
        self.seen: list[Seen] = []
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._httpd.daemon_threads = True
        self.port = self._httpd.server_address[1]
        self.netloc = f"127.0.0.1:{self.port}"
        # A short poll: stop() waits for the loop to notice, once per test.
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    def start(self) -> "ProviderServer":
        self._thread.start()
        return self

    def stop(self) -> None:
        # shutdown() waits for serve_forever() to return: only a started server has one.
        if self._thread.is_alive():
            self._httpd.shutdown()
        self._httpd.server_close()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:
                pass  # quiet: the tests say what failed

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                headers = {name.lower(): value for name, value in self.headers.items()}
                if server.script:
                    step = server.script.pop(0)
                    if step == "drop":
                        self.close_connection = True
                        return
                    if isinstance(step, float):
                        time.sleep(step)
                    elif isinstance(step, Reply):
                        server.seen.append(Seen("scripted", self.path, headers, body))
                        return self._answer(step)
                if TWILIO_MESSAGES.match(self.path):
                    reply = server.twilio(self.path, headers, body)
                elif self.path == "/" and "x-tc-action" in headers:
                    reply = server.tencent(headers, body)
                else:
                    reply = Reply(404, {"message": "no such resource"})
                self._answer(reply)

            def _answer(self, reply: Reply) -> None:
                text = reply.body if isinstance(reply.body, str) else json.dumps(reply.body)
                data = text.encode()
                try:
                    self.send_response(reply.status)
                    self.send_header("Content-Type", reply.content_type)
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except OSError:
                    pass  # the client gave up (a timeout test)

        return Handler

    # Twilio ------------------------------------------------------------------------------------

    def twilio(self, path: str, headers: dict[str, str], body: bytes) -> Reply:
        sid = TWILIO_MESSAGES.match(path)["sid"]
        expected = f"{sid}:{self.twilio_accounts.get(sid, secrets.token_hex())}"
        basic = "Basic " + base64.b64encode(expected.encode()).decode()
        if not hmac.compare_digest(headers.get("authorization", ""), basic):
            return twilio_error(401, 20003, "Authenticate")
        if headers.get("content-type", "").split(";")[0] != "application/x-www-form-urlencoded":
            return twilio_error(400, 20001, "Content-Type must be form-urlencoded")
        form = {name: values[0] for name, values in parse_qs(body.decode()).items()}
        self.seen.append(Seen("twilio", path, headers, body, form))
        if "To" not in form:
            return twilio_error(400, 21604, "A 'To' phone number is required.")
        if ("From" in form) == ("MessagingServiceSid" in form):
            return twilio_error(400, 21603, "A 'From' or 'MessagingServiceSid' is required.")
        if not form.get("Body"):
            return twilio_error(400, 21602, "Message body is required.")
        now = format_datetime(datetime.now(UTC), usegmt=True)
        message_sid = "SM" + secrets.token_hex(16)
        return Reply(
            201,
            {
                "account_sid": sid,
                "api_version": "2010-04-01",
                "body": form["Body"],
                "date_created": now,
                "date_sent": None,
                "date_updated": now,
                "direction": "outbound-api",
                "error_code": None,
                "error_message": None,
                "from": form.get("From"),
                "messaging_service_sid": form.get("MessagingServiceSid"),
                "num_media": "0",
                "num_segments": "1",
                "price": None,
                "price_unit": "USD",
                "sid": message_sid,
                "status": "accepted" if "MessagingServiceSid" in form else "queued",
                "subresource_uris": {
                    "media": f"/2010-04-01/Accounts/{sid}/Messages/{message_sid}/Media.json"
                },
                "to": form["To"],
                "uri": f"/2010-04-01/Accounts/{sid}/Messages/{message_sid}.json",
            },
        )

    # Tencent -----------------------------------------------------------------------------------

    def tencent(self, headers: dict[str, str], body: bytes) -> Reply:
        self.seen.append(Seen("tencent", "/", headers, body))
        auth = TC3_AUTHORIZATION.match(headers.get("authorization", ""))
        if not auth:
            return tencent_error("AuthFailure.InvalidAuthorization", "Authorization is malformed")
        secret_key = self.tencent_keys.get(auth["secret_id"])
        if secret_key is None:
            return tencent_error("AuthFailure.SecretIdNotFound", "The SecretId is not found")
        timestamp = int(headers.get("x-tc-timestamp", "0"))
        if abs(time.time() - timestamp) > TC3_MAX_SKEW:
            return tencent_error("AuthFailure.SignatureExpire", "Signature expired")
        signed = auth["signed"].split(";")
        date = datetime.fromtimestamp(timestamp, tz=UTC).strftime("%Y-%m-%d")
        if (
            auth["service"] != "sms"
            or auth["date"] != date
            or not {"content-type", "host"} <= set(signed)
            or not set(signed) <= set(headers)
        ):
            return tencent_error("AuthFailure.InvalidAuthorization", "Credential scope is wrong")
        expected = tc3_signature(
            secret_key=secret_key,
            service="sms",
            timestamp=timestamp,
            method="POST",
            headers=headers,
            signed_headers=signed,
            payload=body,
        )
        if not hmac.compare_digest(expected, auth["signature"]):
            return tencent_error(
                "AuthFailure.SignatureFailure",
                "The provided credentials could not be validated. "
                "Please check your signature is correct.",
            )
        if headers.get("x-tc-action") != "SendSms" or headers.get("x-tc-version") != "2021-01-11":
            return tencent_error("InvalidAction", "The action or version is not SendSms 2021-01-11")
        if headers.get("x-tc-region") != self.tencent_region:
            return tencent_error("InvalidParameterValue", "X-TC-Region is not this server's")
        try:
            params = json.loads(body)
        except ValueError:
            return tencent_error("InvalidParameter", "The body is not JSON")
        self.seen[-1].fields = params
        for name in ("PhoneNumberSet", "SmsSdkAppId", "TemplateId"):
            if not params.get(name):
                return tencent_error("MissingParameter", f"The request is missing {name}")
        numbers = params["PhoneNumberSet"]
        code = self.tencent_code
        return Reply(
            200,
            {
                "Response": {
                    "SendStatusSet": [
                        {
                            "SerialNo": f"2645:{secrets.randbelow(10**27):027d}"
                            if code == "Ok"
                            else "",
                            "PhoneNumber": number,
                            "Fee": 1 if code == "Ok" else 0,
                            "SessionContext": "",
                            "Code": code,
                            "Message": "send success" if code == "Ok" else code,
                            "IsoCode": "CN" if number.startswith("+86") else "",
                        }
                        for number in numbers
                    ],
                    "RequestId": request_id(),
                }
            },
        )


def twilio_error(status: int, code: int, message: str) -> Reply:
    """Twilio's error body: the status repeated, its own code, and where to read about it."""
    return Reply(
        status,
        {
            "code": code,
            "message": message,
            "more_info": f"https://www.twilio.com/docs/errors/{code}",
            "status": status,
        },
    )


def tencent_error(code: str, message: str) -> Reply:
    """Tencent Cloud API 3.0 answers errors with HTTP 200 and an Error object."""
    return Reply(
        200, {"Response": {"Error": {"Code": code, "Message": message}, "RequestId": request_id()}}
    )


def request_id() -> str:
    h = secrets.token_hex(16)
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"
