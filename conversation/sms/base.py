"""The SMS package's vocabulary: the message, the inbound message, the two errors, the guard every
message passes before any backend sees it, and the backend interface the providers implement."""

import re
from dataclasses import dataclass
from datetime import datetime

from django.http import HttpRequest

# E.164: a plus, a country code that does not start with 0, at most 15 digits in all. Seven is
# the shortest real subscriber number with its country code (some Pacific islands).
E164 = re.compile(r"^\+[1-9]\d{6,14}$")

# Ten segments of a UCS-2 (non-GSM) SMS, 67 characters each once concatenated. Heed's texts are
# a notice and a link; anything longer is a bug upstream, and providers bill per segment.
SMS_MAX_CHARS = 670
# Seconds a provider has to answer a send (its libraries' defaults are no limit, or 60 s), and a
# send runs in a worker that must not hang on a silent network.
SEND_TIMEOUT = 10


@dataclass(frozen=True)
class SmsMessage:
    """One text to one number. ``text`` is what console/file/locmem/Twilio send and what the
    timeline shows; providers that send only approved templates (Tencent) send ``template_id``
    (or SMS_URL's) with ``params``, or with ``(text,)`` when there are none."""

    to: str
    text: str
    template_id: str = ""
    params: tuple[str, ...] = ()


@dataclass(frozen=True)
class InboundSms:
    """One text a customer sent us, as the provider's webhook told it."""

    sender: str  # E.164
    text: str
    provider_id: str  # unique per message for this provider: the inbound view's dedup key
    received_at: datetime  # aware, UTC


class SmsError(Exception):
    """A message was not sent. ``permanent`` says whether trying again can help: False for a
    network error, a timeout, throttling or the provider's own failure; True when the number, the
    text or our configuration is wrong. ``code`` is the provider's error code, if it gave one."""

    def __init__(self, message: str, *, permanent: bool, code: str = "") -> None:
        super().__init__(message)
        self.permanent = permanent
        self.code = code


class InboundRefused(Exception):
    """An inbound webhook call that is not the provider's (unauthenticated), or that we cannot
    read. Its HTTP meaning is its own: ``status`` is what the view answers."""

    def __init__(self, message: str, *, status: int = 403) -> None:
        super().__init__(message)
        self.status = status


def message_check(message: SmsMessage) -> None:
    """The rule every message obeys whatever the backend: an E.164 number, a text that is not
    blank and fits in SMS_MAX_CHARS. Raises a permanent SmsError otherwise."""
    if not E164.match(message.to):
        raise SmsError(
            f"{message.to!r} is not an E.164 number (+ country code, number)", permanent=True
        )
    if not message.text.strip():
        raise SmsError("an SMS needs a text", permanent=True)
    # Phones count UTF-16 code units, not code points: an emoji outside the BMP takes two.
    length = len(message.text.encode("utf-16-le")) // 2
    if length > SMS_MAX_CHARS:
        raise SmsError(
            f"the text is {length} characters long; an SMS may have {SMS_MAX_CHARS}",
            permanent=True,
        )


class SmsBackend:
    """What each provider implements. ``provider`` names the inbound webhook it answers
    (``inbound_parse("twilio", …)`` reaches only the Twilio backend); "" for none."""

    provider = ""

    def send(self, message: SmsMessage) -> str:
        """Send one checked message; return the provider's message id."""
        raise NotImplementedError

    def inbound_parse(self, request: HttpRequest) -> list[InboundSms]:
        """Authenticate and read one inbound webhook call."""
        raise InboundRefused(f"{type(self).__name__} receives no inbound SMS")
