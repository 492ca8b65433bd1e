"""API tokens: made by signing in with a username and password, sent as
``Authorization: Bearer <token>``, revoked by their user (``DELETE /api/v1/auth/token/``) or in
the admin. A token acts with exactly its user's roles; a deactivated user's tokens stop working."""

from __future__ import annotations

import secrets
from datetime import timedelta

from django.contrib.auth import authenticate
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from rest_framework import authentication, exceptions

from complaints.access import user_can_view_cases
from complaints.models import User

from .models import ApiToken, token_digest

PREFIX = "heed_"  # lets secret scanners recognise a leaked token
# How often ``last_used_at`` is written: not on every request.
LAST_USED_EVERY = timedelta(minutes=5)


def api_token_issue(*, user: User, name: str = "") -> tuple[ApiToken, str]:
    """A new token for the user; the plain token is returned once and never stored."""
    token = PREFIX + secrets.token_urlsafe(32)
    row = ApiToken.objects.create(
        user=user, name=name.strip()[:100], digest=token_digest(token), prefix=token[:12]
    )
    return row, token


def api_token_sign_in(
    *, request: HttpRequest | None, username: str, password: str, name: str = ""
) -> tuple[ApiToken, str]:
    """A token for a member of staff who may work with cases, after checking their password
    (through Django's authentication backends, as the sign-in page does)."""
    user = authenticate(request, username=username, password=password)
    if user is None or not user.is_active:
        raise exceptions.AuthenticationFailed(_("The username or password is not right."))
    if not user_can_view_cases(user):
        raise exceptions.PermissionDenied(_("This account has no role in Heed."))
    return api_token_issue(user=user, name=name)


def api_tokens_revoke(*, tokens: QuerySet[ApiToken]) -> int:
    """Revoke the tokens (those not revoked yet); they stop working at once. Returns how many."""
    return tokens.filter(revoked_at__isnull=True).update(revoked_at=timezone.now())


def api_token_revoke(*, token: ApiToken) -> None:
    api_tokens_revoke(tokens=ApiToken.objects.filter(pk=token.pk))


class TokenAuthentication(authentication.BaseAuthentication):
    """``Authorization: Bearer <token>`` (``Token <token>`` is accepted too)."""

    keywords = ("bearer", "token")

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].decode(errors="replace").lower() not in self.keywords:
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed(_("Send the token after the word Bearer."))
        try:
            token = header[1].decode("ascii")
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed(_("The token is not valid.")) from None
        row = (
            ApiToken.objects.select_related("user")
            .filter(digest=token_digest(token), revoked_at__isnull=True)
            .first()
        )
        if row is None or not row.user.is_active:
            raise exceptions.AuthenticationFailed(_("The token is not valid."))
        now = timezone.now()
        if row.last_used_at is None or now - row.last_used_at > LAST_USED_EVERY:
            ApiToken.objects.filter(pk=row.pk).update(last_used_at=now)
        return row.user, row

    def authenticate_header(self, request) -> str:
        return 'Bearer realm="api"'
