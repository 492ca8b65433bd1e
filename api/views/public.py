"""What needs no staff session: the customer's tracking JSON and signing in for a token."""

from __future__ import annotations

from django.conf import settings
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import exceptions, status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from intake import ratelimit, tracking

from ..errors import ErrorSerializer
from ..models import ApiToken
from ..serializers import TokenRequestSerializer, TokenSerializer, TrackingSerializer
from ..tokens import TokenAuthentication, api_token_revoke, api_token_sign_in

# Failed or not, sign-ins per address and minute: enough for a script, too few to guess.
SIGN_IN_LIMIT = 10


class TrackingView(APIView):
    """The customer's tracking page as JSON, for a web shop's "my complaints" page. Public:
    the token is the key. Malformed, unknown, renewed and expired tokens get the same 404,
    and each address may ask ``TRACKING_API_RATE_LIMIT`` times a minute (a web shop's server
    asks for all its customers; a 256-bit token is not guessed at any rate)."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes: list = []

    @extend_schema(
        tags=["tracking"],
        summary="The customer's view of a case",
        responses={200: TrackingSerializer},
        auth=[],
    )
    def get(self, request, token: str):
        if ratelimit.over_limit(request, "tracking-api", limit=settings.TRACKING_API_RATE_LIMIT):
            raise exceptions.Throttled(wait=ratelimit.WINDOW_SECONDS)
        case = tracking.case_for_token(token)
        if case is None:
            raise exceptions.NotFound(_("This tracking link does not work."))
        data = TrackingSerializer(tracking.tracking_view(case=case)).data
        return Response(
            data,
            headers={
                "Cache-Control": "no-store",
                "Referrer-Policy": "no-referrer",
                "X-Robots-Tag": "noindex",
            },
        )


class TokenView(APIView):
    """Sign in for a token (``POST``: username and password), revoke the token you send
    (``DELETE``)."""

    authentication_classes = [TokenAuthentication]
    throttle_classes: list = []

    def get_permissions(self):
        return [AllowAny()] if self.request.method == "POST" else super().get_permissions()

    @extend_schema(
        tags=["auth"],
        summary="Get an access token",
        request=TokenRequestSerializer,
        responses={201: TokenSerializer, 401: ErrorSerializer},
        auth=[],
    )
    def post(self, request):
        if ratelimit.over_limit(request, "api-sign-in", limit=SIGN_IN_LIMIT):
            raise exceptions.Throttled(wait=ratelimit.WINDOW_SECONDS)
        serializer = TokenRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        row, token = api_token_sign_in(
            request=request, username=data["username"], password=data["password"], name=data["name"]
        )
        return Response(
            {"token": token, "name": row.name, "created_at": row.created_at},
            status=status.HTTP_201_CREATED,
            headers={"Cache-Control": "no-store"},
        )

    @extend_schema(
        tags=["auth"],
        summary="Revoke the token this request is signed with",
        responses={204: OpenApiResponse(description="Revoked.")},
    )
    def delete(self, request):
        if not isinstance(request.auth, ApiToken):
            raise exceptions.NotAuthenticated(_("Send the token to revoke as Bearer."))
        api_token_revoke(token=request.auth)
        return Response(status=status.HTTP_204_NO_CONTENT)
