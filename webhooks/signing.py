"""How Heed signs a webhook, and how a receiver checks it. The rule, for receivers' READMEs:

Every delivery is an HTTP POST with a JSON body (``Content-Type: application/json``,
``User-Agent: Heed-Webhooks/1``) and three headers of Heed's own::

    Heed-Event: case.step_changed
    Heed-Delivery: 5b0c9a4e-7d1f-4f7b-9a53-2f4c1c1e0d2a
    Heed-Signature: t=1772442000,v1=3c5f…(64 hex digits)

- ``Heed-Delivery`` is the event's id (also the body's ``id``). It is the same on every retry:
  Heed sends each event at least once, so store the ids you have handled and ignore repeats.
- ``Heed-Signature``: ``t`` is when Heed signed the request (Unix seconds) and each ``v1`` is
  ``hex(HMAC-SHA256(key=secret, message=f"{t}.{body}"))``, where ``body`` is the raw request
  body, byte for byte as received (do not parse and re-serialise the JSON first) and
  ``secret`` is the subscription's signing secret (UTF-8).
- In the day after a secret is rotated the header carries two ``v1`` values, one per secret,
  so a receiver can switch secrets without refusing anything. Accept the request if any
  ``v1`` matches.

To check a request:

1. Split the header on ``,`` and each part on the first ``=``; read ``t`` and every ``v1``.
2. Compute the expected ``v1`` from your secret, ``t`` and the raw body.
3. Compare with a constant-time comparison (``hmac.compare_digest``), never ``==``.
4. Refuse it if ``t`` is more than five minutes from your clock (a replayed old request).
5. Answer 2xx quickly (within ``WEBHOOK_TIMEOUT``, 10 s by default) and do the work after.
   Any other answer, a redirect included, or no answer, is retried later with a growing delay.

Events are not sent in order (a retried one can arrive after a later one): order them by the
payload's ``created`` and read the case's state from ``data.case``, not from the sequence.

In Python, ``verify`` below is the whole check::

    from webhooks.signing import verify   # or copy the two functions

    if not verify(SECRET, request.body, request.headers["Heed-Signature"]):
        return HttpResponse(status=400)
"""

from __future__ import annotations

import hashlib
import hmac
import time


def signature(secret: str, body: bytes, timestamp: int) -> str:
    """The hex HMAC-SHA256 of ``f"{timestamp}.{body}"`` keyed with ``secret``."""
    message = str(int(timestamp)).encode() + b"." + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def sign(secret: str, body: bytes, timestamp: int) -> str:
    """The ``Heed-Signature`` header value for one secret: ``t=<timestamp>,v1=<hex>``."""
    return f"t={int(timestamp)},v1={signature(secret, body, timestamp)}"


def signature_header(secrets: list[str], body: bytes, timestamp: int) -> str:
    """The header value with one ``v1`` per secret (the current one first)."""
    return ",".join(
        [f"t={int(timestamp)}", *(f"v1={signature(s, body, timestamp)}" for s in secrets)]
    )


def verify(
    secret: str, body: bytes, header: str, tolerance: int = 300, now: float | None = None
) -> bool:
    """Whether ``header`` (a ``Heed-Signature`` value) signs ``body`` with ``secret``, at a
    time within ``tolerance`` seconds of ``now`` (default: this machine's clock)."""
    timestamp, candidates = None, []
    for part in (header or "").split(","):
        key, _sep, value = part.strip().partition("=")
        if key == "t":
            timestamp = value
        elif key == "v1":
            candidates.append(value)
    if timestamp is None or not timestamp.isdigit() or not candidates:
        return False
    if abs((time.time() if now is None else now) - int(timestamp)) > tolerance:
        return False
    expected = signature(secret, body, int(timestamp))
    # Every candidate is compared (no early exit): the time taken says nothing about which.
    # Bytes: compare_digest refuses non-ASCII str, and a forged header may contain anything.
    matches = [hmac.compare_digest(expected.encode(), c.encode()) for c in candidates]
    return any(matches)
