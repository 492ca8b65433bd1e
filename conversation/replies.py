"""Where a customer's email answer goes, and how it finds its case again.

Every email to a customer carries a reply address that names its case and a secret — with the
default ``REPLY_ADDRESS``, ``complaints+C202612-00042.3f9c0a1be27d4d58@heed.example.com`` — and
a Message-ID carrying the same, for mail clients that answer the message rather than the
address. An answer is matched to its case by that secret alone (an HMAC of the reference under
``SECRET_KEY``; the fallbacks of a rotated key still match), never by trusting the From address,
which anyone can write: a forged sender who names a reference reaches no case and starts one of
their own, waiting to be taken like any unmatched mail."""

from __future__ import annotations

import hmac
import re
import uuid

from django.conf import settings
from django.utils.crypto import salted_hmac

from complaints.models import Case

_SALT = "heed.reply-address"
# The tag in an address or a Message-ID: the reference, a dot, the 16 hex digits of the secret.
_TAG = re.compile(r"(C\d{6}-\d{5})\.([0-9a-f]{16})", re.IGNORECASE)


def _secret(reference: str, key: str | None = None) -> str:
    return salted_hmac(_SALT, reference.upper(), secret=key, algorithm="sha256").hexdigest()[:16]


def _tag(case: Case) -> str:
    return f"{case.reference}.{_secret(case.reference)}"


def reply_address(case: Case) -> str:
    """The address a customer's answer about ``case`` goes to (``REPLY_ADDRESS`` with the case's
    tag in place of ``{tag}``)."""
    return settings.REPLY_ADDRESS.replace("{tag}", _tag(case))


def message_id(case: Case, *, notice: int | None = None) -> str:
    """A Message-ID of our own that names the case, unique per message: derived from the outbox
    row (``notice``) when there is one, so that a notice sent again after a killed worker
    carries the same id, and the receiving mail system can drop the second copy."""
    unique = f"n{notice}" if notice is not None else uuid.uuid4().hex
    return f"<{_tag(case)}.{unique}@{settings.MAIL_DOMAIN}>"


def _verified(reference: str, secret: str) -> bool:
    keys = [settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", [])]
    return any(hmac.compare_digest(_secret(reference, key), secret.lower()) for key in keys)


def case_for_reply(*, recipients: list[str], in_reply_to: list[str]) -> Case | None:
    """The case a customer's email answers: the first tag with a good secret in the addresses
    it was sent to (our reply address), else in In-Reply-To / References (our Message-ID).
    None when no tag checks out (made up, or mangled)."""
    for text in [*recipients, *in_reply_to]:
        for reference, secret in _TAG.findall(text or ""):
            if _verified(reference, secret):
                case = (
                    Case.objects.select_related("customer", "merged_into")
                    .filter(reference=reference.upper())
                    .first()
                )
                if case is not None:
                    return case
    return None
