"""The OpenAPI 3 schema (drf-spectacular): every operation documents its error responses in
the one error format (``api.errors``), and the token scheme."""

from __future__ import annotations

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from rest_framework.permissions import AllowAny

from .errors import ErrorSerializer
from .serializers import StrictSerializerMixin

_DESCRIPTIONS = {
    "400": "The input is not valid (`fields` says which).",
    "401": "No valid credentials (token or session).",
    "403": "Your role may not do this, or not to this case.",
    "404": "Not found, or not visible to you (on a list: no such page).",
    "409": "Refused: the lifecycle does not allow it (the reasons are in `message` and "
    "`fields`), or the case changed since you read it (`conflict`).",
    "412": "The If-Match ETag you sent is not the current one: someone changed it since you "
    "read it. Read it again, then decide.",
    "415": "Send JSON (or form data).",
    "422": "The Idempotency-Key was used with a different request.",
    "428": "Say which version you changed: If-Match (the ETag you read) or `version` in the "
    "body. Required, so that two clients never silently overwrite each other.",
    "429": "Too many requests: wait and try again.",
}


class AutoSchema(SpectacularAutoSchema):
    def _error_codes(self) -> list[str]:
        public = any(isinstance(p, AllowAny) for p in self.view.get_permissions())
        codes = ["400", "429"]
        if not public:
            codes += ["401", "403"]
        # A list answers 404 for a page past the last (DRF's PageNumberPagination).
        if "{" in self.path or (self.method == "GET" and self._get_pagination_parameters()):
            codes.append("404")
        if self.method in ("POST", "PUT", "PATCH"):
            codes += ["409", "415"]
            if any(p.name == "Idempotency-Key" for p in self._named_params()):
                codes.append("422")
        if any(p.name == "If-Match" for p in self._named_params()):
            codes += ["412", "428"]
        return codes

    def _map_basic_serializer(self, serializer, direction):
        schema = super()._map_basic_serializer(serializer, direction)
        if direction == "request" and isinstance(serializer, StrictSerializerMixin):
            schema["additionalProperties"] = False  # refused with 400 "Unknown field."
        return schema

    def _named_params(self):
        return [p for p in self.get_override_parameters() if hasattr(p, "name")]

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        for code in self._error_codes():
            if code not in responses:
                response = self._get_response_for_code(ErrorSerializer, code, direction=direction)
                response["description"] = _DESCRIPTIONS[code]
                responses[code] = response
        for code, response in responses.items():  # an error response a view names itself
            if code in _DESCRIPTIONS and not response.get("description"):
                response["description"] = _DESCRIPTIONS[code]
        return responses


class TokenScheme(OpenApiAuthenticationExtension):
    target_class = "api.tokens.TokenAuthentication"
    name = "tokenAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "A token from POST /api/v1/auth/token/.",
        }
