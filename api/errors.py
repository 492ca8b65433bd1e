"""One error format for the whole API:

    {"error": {"code": "refused", "message": "Record the customer's rating.",
               "fields": {"satisfaction_rating": ["Record the customer's rating."]}}}

``code`` is a stable machine value; ``message`` and ``fields`` are in the request's language.
The domain's refusals (``complaints.errors``) map to HTTP statuses here, and nowhere else."""

from __future__ import annotations

import logging

from django.core.exceptions import PermissionDenied, RequestDataTooBig, SuspiciousOperation
from django.http import Http404, HttpRequest, JsonResponse
from django.utils.translation import gettext as _
from rest_framework import exceptions, serializers, status
from rest_framework.response import Response
from rest_framework.views import exception_handler

from complaints.errors import AccessDenied, CaseConflict, CaseError, InvalidInput, TransitionRefused

log = logging.getLogger(__name__)

# code, HTTP status
_DOMAIN: list[tuple[type[CaseError], str, int]] = [
    (CaseConflict, "conflict", status.HTTP_409_CONFLICT),
    (TransitionRefused, "refused", status.HTTP_409_CONFLICT),
    (AccessDenied, "permission_denied", status.HTTP_403_FORBIDDEN),
    (InvalidInput, "invalid", status.HTTP_400_BAD_REQUEST),
    (CaseError, "refused", status.HTTP_409_CONFLICT),
]


class PreconditionRequired(exceptions.APIException):
    """A write to a case or an action without the version the client read: refused, so that two
    clients can never silently overwrite each other (RFC 6585)."""

    status_code = 428
    default_code = "precondition_required"
    default_detail = _(
        'Say which version you changed: send If-Match with the ETag you read (e.g. "3"), or '
        "version in the body."
    )


def _stale_if_match(exc: Exception, context: dict) -> bool:
    """A conflict found through an If-Match header (no version in the body): HTTP's 412."""
    request = context.get("request")
    if not isinstance(exc, CaseConflict) or request is None:
        return False
    data = request.data if isinstance(getattr(request, "data", None), dict) else {}
    return bool(request.headers.get("If-Match")) and data.get("version") is None


class ErrorDetailSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="A stable machine value, e.g. refused, conflict.")
    message = serializers.CharField(help_text="What went wrong, in the request's language.")
    fields = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        help_text="Per input field, its problems (empty when no field is to blame).",
    )


class ErrorSerializer(serializers.Serializer):
    """The body of every error response."""

    error = ErrorDetailSerializer()


def error_body(code: str, message: str, fields: dict | None = None) -> dict:
    return {"error": {"code": code, "message": message, "fields": fields or {}}}


def _flatten(detail, prefix: str = "") -> dict[str, list[str]]:
    """DRF's nested validation errors as {"customer.name": ["…"]}."""
    out: dict[str, list[str]] = {}
    if isinstance(detail, dict):
        for key, value in detail.items():
            name = f"{prefix}.{key}" if prefix else str(key)
            if prefix and key == "non_field_errors":  # the nested object as a whole
                name = prefix
            for sub, messages in _flatten(value, name).items():
                out.setdefault(sub, []).extend(messages)
    elif isinstance(detail, list):
        for i, item in enumerate(detail):
            if isinstance(item, dict | list) and item:
                for sub, messages in _flatten(item, f"{prefix}.{i}" if prefix else str(i)).items():
                    out.setdefault(sub, []).extend(messages)
            elif not isinstance(item, dict | list):
                out.setdefault(prefix or "non_field_errors", []).append(str(item))
    else:
        out.setdefault(prefix or "non_field_errors", []).append(str(detail))
    return out


def _validation(exc: exceptions.ValidationError) -> Response:
    fields = _flatten(exc.detail)
    general = fields.pop("non_field_errors", [])
    message = " ".join(general) or _("Some of the data is not valid.")
    return Response(error_body("invalid", message, fields), status=status.HTTP_400_BAD_REQUEST)


def handle(exc: Exception, context: dict) -> Response | None:
    """DRF's ``EXCEPTION_HANDLER``."""
    if _stale_if_match(exc, context):
        return Response(
            error_body("precondition_failed", " ".join(exc.messages), exc.fields),
            status=status.HTTP_412_PRECONDITION_FAILED,
        )
    for kind, code, http_status in _DOMAIN:
        if isinstance(exc, kind):
            return Response(
                error_body(code, " ".join(exc.messages), exc.fields), status=http_status
            )
    if isinstance(exc, exceptions.ValidationError):
        return _validation(exc)
    if isinstance(exc, RequestDataTooBig):
        return Response(
            error_body("too_large", _("The request is too large.")),
            status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
        )
    if isinstance(exc, SuspiciousOperation):
        return Response(error_body("bad_request", _("The request could not be read.")), status=400)
    response = exception_handler(exc, context)
    if response is None:
        return None  # a real bug: Django's 500 (handler500 below answers in this format)
    if isinstance(exc, Http404):
        code, message = "not_found", _("Not found.")
    elif isinstance(exc, PermissionDenied):
        # A refusal that says why (a case merged into another: which one to work on) keeps it.
        code = "permission_denied"
        message = str(exc) or _("You do not have permission to do this.")
    elif isinstance(exc, exceptions.APIException):
        detail = exc.detail
        code = exc.get_codes() if isinstance(exc.get_codes(), str) else exc.default_code
        message = str(detail) if not isinstance(detail, dict | list) else str(exc.default_detail)
    else:  # pragma: no cover - DRF handles only the kinds above
        code, message = "error", str(exc)
    response.data = error_body(str(code), message)
    return response


def api_not_found(request: HttpRequest, exception=None) -> JsonResponse:
    """An address under /api/ that does not exist: the API's format, not an HTML page."""
    return JsonResponse(error_body("not_found", _("Not found.")), status=404)


def api_bad_request(request: HttpRequest, exception=None) -> JsonResponse:
    return JsonResponse(error_body("bad_request", _("The request could not be read.")), status=400)


def api_permission_denied(request: HttpRequest, exception=None) -> JsonResponse:
    message = _("You do not have permission to do this.")
    return JsonResponse(error_body("permission_denied", message), status=403)


def api_server_error(request: HttpRequest) -> JsonResponse:
    return JsonResponse(
        error_body("server_error", _("Something went wrong on our side. Try again later.")),
        status=500,
    )
