"""``Idempotency-Key`` for the POSTs that must not happen twice (a new case, a transition): a
client that sends the same key again, after a timeout or a dropped connection, gets the first
response back (with ``Idempotent-Replayed: true``) and nothing is done a second time.

The key's row is written in the same transaction as the work, so they commit or roll back
together: a refused request stores nothing, and its key can be used again. Two retries sent at
once race on the unique index (``idempotency_key_once_per_user``): the second INSERT waits
until the first transaction commits, fails, and replays the stored response. Keys are per user
and kept ``IDEMPOTENCY_KEY_HOURS``; the same key with a different request is refused (422)."""

from __future__ import annotations

import functools
import hashlib
import json
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.http.request import RawPostDataException
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions, status
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response

from .models import IdempotencyKey

HEADER = "Idempotency-Key"
MAX_LENGTH = 255


class KeyReused(exceptions.APIException):
    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    default_code = "idempotency_key_reused"
    default_detail = _(
        "This Idempotency-Key was used for a different request. Use a new key for a new request."
    )


class KeyInvalid(exceptions.APIException):
    status_code = status.HTTP_400_BAD_REQUEST
    default_code = "invalid_idempotency_key"
    default_detail = _("The Idempotency-Key must be 1 to 255 printable ASCII characters.")


class KeyBusy(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_code = "conflict"
    default_detail = _("A request with this Idempotency-Key is being handled. Try again shortly.")


class _Taken(Exception):
    """Another request with the key committed first."""


class _Refused(Exception):
    """Rolls the transaction (and the key's row) back, keeping the response."""

    def __init__(self, response: Response) -> None:
        self.response = response


def _fingerprint(request) -> str:
    digest = hashlib.sha256()
    digest.update(request.method.encode())
    digest.update(b"\0" + request.path.encode() + b"\0")
    try:
        digest.update(request.body)
    except RawPostDataException:  # a multipart body already read: its parsed form
        digest.update(repr(sorted(request.data.items())).encode())
    return digest.hexdigest()


def _replay(view, request, row: IdempotencyKey, fingerprint: str) -> Response:
    if row.fingerprint != fingerprint:
        raise KeyReused()
    headers = {"Idempotent-Replayed": "true"}
    body = row.response
    if (refill := getattr(view, "idempotent_replayed", None)) is not None:
        body = refill(request, body)
    # The headers the decorated views answer with (a case's ETag, where a new one is), made
    # again from the body they were made from: a retry must not lose the new case's address.
    if isinstance(body, dict) and "version" in body:
        headers["ETag"] = f'"{body["version"]}"'
    if isinstance(body, dict) and row.status_code == 201 and "url" in body:
        headers["Location"] = body["url"]
    return Response(body, status=row.status_code, headers=headers)


def _since():
    return timezone.now() - timedelta(hours=settings.IDEMPOTENCY_KEY_HOURS)


def _stored(user, key: str) -> IdempotencyKey | None:
    return IdempotencyKey.objects.filter(user=user, key=key, created_at__gte=_since()).first()


def _still_allowed(view, request, args, kwargs) -> None:
    """A stored answer is replayed only to a caller still allowed what made it: the view's
    ``idempotent_allowed(request, *args, **kwargs)`` raises as the request itself would (a user
    demoted since got their 201 again, with a new working tracking link; issue 16)."""
    if (check := getattr(view, "idempotent_allowed", None)) is not None:
        check(request, *args, **kwargs)


def idempotent(view_method):
    """Decorates an APIView's ``post``. A secret in the response (a tracking link) is not
    kept: the view names it in ``idempotent_unstored`` and makes a new one in
    ``idempotent_replayed(request, body) -> body`` when the response is replayed. Before a
    replay the view's ``idempotent_allowed`` checks the caller's right again."""

    @functools.wraps(view_method)
    def wrapper(self, request, *args, **kwargs):
        key = request.headers.get(HEADER)
        if key is None:
            return view_method(self, request, *args, **kwargs)
        if not (0 < len(key) <= MAX_LENGTH and key.isascii() and key.isprintable()):
            raise KeyInvalid()
        fingerprint = _fingerprint(request)
        if (row := _stored(request.user, key)) is not None:
            _still_allowed(self, request, args, kwargs)
            return _replay(self, request, row, fingerprint)
        try:
            with transaction.atomic():
                # An expired row with this key no longer counts (a fresh one does: its INSERT
                # below fails and the request is replayed).
                IdempotencyKey.objects.filter(
                    user=request.user, key=key, created_at__lt=_since()
                ).delete()
                try:
                    with transaction.atomic():
                        row = IdempotencyKey.objects.create(
                            user=request.user,
                            key=key,
                            fingerprint=fingerprint,
                            status_code=0,
                            response={},
                        )
                except IntegrityError:
                    raise _Taken() from None
                response = view_method(self, request, *args, **kwargs)
                if not 200 <= response.status_code < 300:
                    raise _Refused(response)
                row.status_code = response.status_code
                body = json.loads(JSONRenderer().render(response.data))
                for name in getattr(self, "idempotent_unstored", ()):
                    body.pop(name, None)
                row.response = body
                row.save(update_fields=["status_code", "response"])
                return response
        except _Refused as refused:
            return refused.response
        except _Taken:
            pass
        # A concurrent request with this key committed first: replay its answer, outside our
        # rolled-back transaction (whatever the replay writes, a new tracking link, must stay).
        stored = _stored(request.user, key)
        if stored is None:
            raise KeyBusy()
        _still_allowed(self, request, args, kwargs)
        return _replay(self, request, stored, fingerprint)

    return wrapper


def idempotency_keys_purge() -> int:
    """Delete the keys older than ``IDEMPOTENCY_KEY_HOURS`` (run daily by beat)."""
    deleted, _detail = IdempotencyKey.objects.filter(created_at__lt=_since()).delete()
    return deleted
