"""``locmem://``: messages kept in ``outbox``, in the order sent, for tests to read (like
``django.core.mail.outbox``). Tests clear it; nothing else does."""

import uuid
from urllib.parse import SplitResult

from .base import SmsBackend, SmsMessage

outbox: list[SmsMessage] = []


class LocmemBackend(SmsBackend):
    @classmethod
    def from_url(cls, parts: SplitResult) -> "LocmemBackend":
        return cls()

    def send(self, message: SmsMessage) -> str:
        outbox.append(message)
        return uuid.uuid4().hex
