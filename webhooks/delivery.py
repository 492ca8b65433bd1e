"""Sending webhooks: claim the pending deliveries that are due, post each one signed, record
the receiver's answer. 2xx is delivered; anything else (a redirect included: none is
followed), no answer within ``WEBHOOK_TIMEOUT`` or no connection at all is a failed attempt,
retried after 1, 2, 4, 8 … minutes (at most 6 hours, a little jitter) until
``WEBHOOK_MAX_ATTEMPTS``, then given up (failed: the admin's "retry now" sends it again).

No row lock is held during an HTTP call. A sender claims a few rows at a time in a short
transaction (``select_for_update(skip_locked=True)``) and pushes their ``next_attempt_at``
forward by a lease longer than it can take to send them all; it commits, sends, and records
each answer only if it still holds the lease. Two senders therefore never send the same row at
once; a sender that dies mid-way leaves its rows to be sent again when the lease runs out.
Each event is delivered at least once, and in normal operation once: receivers de-duplicate
on ``Heed-Delivery``. Deliveries are independent, and not sent in order.

One receiver that is down does not hold up the others: after it fails once in a run, its other
rows wait a minute (without counting an attempt) instead of each waiting for the timeout."""

from __future__ import annotations

import json
import logging
import random
import time
import urllib.error
import urllib.request
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import transaction
from django.db.models import F, QuerySet
from django.utils import timezone

from . import signing
from .models import Delivery

log = logging.getLogger(__name__)

USER_AGENT = "Heed-Webhooks/1"
# Rows claimed per transaction: a sender killed mid-way re-sends at most this many.
CHUNK = 10
MAX_BACKOFF = timedelta(hours=6)
# The other rows of a receiver that has just failed wait this long.
DEFER = timedelta(minutes=1)
# A run stops claiming after this many seconds (beat starts one every minute; a run that
# overlaps the next is safe, only wasteful).
RUN_BUDGET = 45.0
ERROR_LENGTH = 500


def backoff(attempts: int) -> timedelta:
    """The wait after the ``attempts``-th failed attempt: 1, 2, 4, 8 … minutes, at most six
    hours, plus up to 10% so that a receiver coming back is not hit by every retry at once."""
    base = min(timedelta(minutes=2 ** min(max(attempts - 1, 0), 16)), MAX_BACKOFF)
    return base * (1 + random.uniform(0, 0.1))


def lease() -> timedelta:
    """How long a claim holds its rows: time for every row of a chunk to hit the timeout."""
    return timedelta(seconds=CHUNK * settings.WEBHOOK_TIMEOUT + 60)


def row_lease() -> timedelta:
    """How long one row is held while it is posted (renewed just before): the timeout applies
    to the connection and to the answer separately, and the name lookup has none."""
    return timedelta(seconds=3 * settings.WEBHOOK_TIMEOUT + 60)


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None  # urllib then raises HTTPError with the 3xx: a failed attempt


_opener = urllib.request.build_opener(_NoRedirects)


def post(*, url: str, body: bytes, headers: dict[str, str]) -> tuple[int | None, str]:
    """POST ``body`` to ``url``: (the HTTP status or None, "" if delivered else why not)."""
    if urlsplit(url).scheme not in ("http", "https"):  # never file:, ftp: …
        return None, "Not an http or https URL."
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")  # noqa: S310
    try:
        with _opener.open(request, timeout=settings.WEBHOOK_TIMEOUT) as response:
            return response.status, ""
    except SoftTimeLimitExceeded:
        raise
    except urllib.error.HTTPError as exc:  # the receiver answered, but not 2xx
        try:
            detail = exc.read(ERROR_LENGTH).decode("utf-8", "replace").strip()
        except Exception:
            detail = ""
        finally:
            exc.close()
        return exc.code, f"HTTP {exc.code} {exc.reason}: {detail}".strip().rstrip(":")
    except Exception as exc:  # refused, reset, timed out, no such host, TLS …
        reason = exc.reason if isinstance(exc, urllib.error.URLError) else exc
        return None, f"{type(reason).__name__}: {reason}"


def body_of(row: Delivery) -> bytes:
    """The request body: the stored payload, keys sorted (the same bytes on every retry)."""
    return json.dumps(row.payload, sort_keys=True, separators=(",", ":")).encode()


def headers_for(row: Delivery, *, body: bytes, at: datetime) -> dict[str, str]:
    secrets = row.subscription.signing_secrets(at=at)
    return {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "Heed-Event": row.event,
        "Heed-Delivery": str(row.event_id),
        "Heed-Signature": signing.signature_header(secrets, body, int(at.timestamp())),
    }


def _claim(*, ids: list[int] | None, limit: int, skip: set[int]) -> tuple[list[Delivery], datetime]:
    """Take up to ``limit`` due rows for this sender: locked (skipping rows another sender is
    claiming), leased, committed. Rows of inactive subscriptions wait, untouched. (SQLite has
    no row locks: its IMMEDIATE transactions, see the settings, serialise the claims.)"""
    now = timezone.now()
    until = now + lease()
    with transaction.atomic():
        # Uses the partial index webhook_delivery_due (pending, by next_attempt_at).
        due = Delivery.objects.filter(
            status=Delivery.Status.PENDING,
            next_attempt_at__lte=now,
            subscription__is_active=True,
        ).exclude(subscription_id__in=skip)
        if ids is not None:
            due = due.filter(pk__in=ids)
        pks = list(
            due.select_for_update(skip_locked=True, of=("self",))
            .order_by("next_attempt_at", "pk")
            .values_list("pk", flat=True)[:limit]
        )
        Delivery.objects.filter(pk__in=pks).update(next_attempt_at=until)
    rows = list(Delivery.objects.select_related("subscription").filter(pk__in=pks).order_by("pk"))
    return rows, until


def _held(row: Delivery, until: datetime) -> QuerySet[Delivery]:
    """The row, if this sender still holds its lease."""
    return Delivery.objects.filter(pk=row.pk, status=Delivery.Status.PENDING, next_attempt_at=until)


def _send(row: Delivery, *, until: datetime) -> bool:
    """Post one claimed row and record the answer. Returns whether it was delivered."""
    body = body_of(row)
    status_code, error = post(
        url=row.subscription.url, body=body, headers=headers_for(row, body=body, at=timezone.now())
    )
    now = timezone.now()
    if not error:
        # Whoever holds the lease now: delivered is final.
        Delivery.objects.filter(pk=row.pk, status=Delivery.Status.PENDING).update(
            status=Delivery.Status.DELIVERED,
            delivered_at=now,
            next_attempt_at=None,
            attempts=F("attempts") + 1,
            last_status_code=status_code,
            last_error="",
        )
        return True
    attempts = row.attempts + 1
    gave_up = attempts >= settings.WEBHOOK_MAX_ATTEMPTS
    _held(row, until).update(
        attempts=attempts,
        status=Delivery.Status.FAILED if gave_up else Delivery.Status.PENDING,
        next_attempt_at=None if gave_up else now + backoff(attempts),
        last_status_code=status_code,
        last_error=error[:ERROR_LENGTH],
    )
    log.warning(  # not the URL: receivers put tokens in them
        "Webhook delivery %s to subscription %s failed (attempt %s%s): %s",
        row.pk,
        row.subscription_id,
        attempts,
        ", given up" if gave_up else "",
        error,
    )
    return False


def deliveries_send(*, ids: list[int] | None = None, batch_size: int = 200) -> int:
    """Send the pending deliveries that are due (of ``ids`` only, if given), at most
    ``batch_size`` per run, oldest due first; each is claimed by one sender only. Rows not yet
    due, delivered, failed, or of inactive subscriptions are not touched. Returns how many
    were delivered."""
    started = time.monotonic()
    delivered = claimed = 0
    failing: dict[int, datetime] = {}  # subscription → when its other rows are tried again
    while claimed < batch_size and time.monotonic() - started < RUN_BUDGET:
        rows, until = _claim(ids=ids, limit=min(CHUNK, batch_size - claimed), skip=set(failing))
        if not rows:
            break
        claimed += len(rows)
        for row in rows:
            if row.subscription_id in failing:
                _held(row, until).update(next_attempt_at=failing[row.subscription_id])
                continue
            # Renew this row's lease right before its POST: slow receivers earlier in the chunk
            # may have outlasted the claim's lease, and then another sender may hold it now.
            renewed = timezone.now() + row_lease()
            if not _held(row, until).update(next_attempt_at=renewed):
                continue
            if _send(row, until=renewed):
                delivered += 1
            else:
                failing[row.subscription_id] = timezone.now() + DEFER
    return delivered
