"""``console://``: each message printed on standard output, as Django's console email backend
does: for development, where nothing should leave the machine."""

import sys
import uuid
from urllib.parse import SplitResult

from .base import SmsBackend, SmsMessage


class ConsoleBackend(SmsBackend):
    @classmethod
    def from_url(cls, parts: SplitResult) -> "ConsoleBackend":
        return cls()

    def send(self, message: SmsMessage) -> str:
        # sys.stdout looked up at each send, not kept: the backend outlives a redirected stdout.
        lines = [f"SMS to {message.to} : {message.text}"]
        if message.template_id or message.params:
            lines.append(f"    template {message.template_id or '-'} params {list(message.params)}")
        sys.stdout.write("\n".join(lines) + "\n")
        sys.stdout.flush()
        return uuid.uuid4().hex
