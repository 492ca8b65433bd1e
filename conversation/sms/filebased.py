"""``file:///abs/dir``: one text file per message in that directory (created if missing), for
staging servers where someone should read what would have been sent."""

import json
import uuid
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import SplitResult, unquote

from django.core.exceptions import ImproperlyConfigured

from .base import SmsBackend, SmsError, SmsMessage


class FileBackend(SmsBackend):
    def __init__(self, directory: Path) -> None:
        self.directory = directory

    @classmethod
    def from_url(cls, parts: SplitResult) -> "FileBackend":
        # file://var/sms would make "var" the host: only the three-slash form is a path.
        path = unquote(parts.path)
        if parts.netloc or not path.startswith("/"):
            raise ImproperlyConfigured("SMS_URL file:// needs an absolute path: file:///var/sms")
        return cls(Path(path))

    def send(self, message: SmsMessage) -> str:
        message_id = uuid.uuid4().hex
        # The timestamp first, so that a listing sorts in the order sent.
        name = f"{datetime.now(UTC):%Y%m%d-%H%M%S-%f}-{message_id}.txt"
        content = (
            f"To: {message.to}\n"
            f"Template: {message.template_id}\n"
            f"Params: {json.dumps(list(message.params), ensure_ascii=False)}\n"
            f"\n{message.text}\n"
        )
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            (self.directory / name).write_text(content, encoding="utf-8")
        except OSError as exc:
            # A full disk or a missing mount is the operator's to fix; the message can wait.
            raise SmsError(f"could not write {name}: {exc}", permanent=False) from exc
        return message_id
