"""/api/v1/actions/: corrective and preventive actions — the list (open ones by default) with
the page's filters, one action, recording one from cases, changing its details, its status and
its cases, verifying it, its history. Every write goes through ``improvement.services`` with
the pages' access rules (``improvement.access``); ``version``/``If-Match`` against lost
updates, as for cases."""

from __future__ import annotations

from django.http import Http404
from django.shortcuts import get_object_or_404
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status as http
from rest_framework import viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from complaints.access import cases_visible_to
from improvement import selectors, services
from improvement.access import action_get_for_user

from ..errors import ErrorSerializer
from ..filters import ApiActionFilter
from ..permissions import WorksWithCases
from ..serializers.improvement import (
    ActionDetailsSerializer,
    ActionEventSerializer,
    ActionInputSerializer,
    ActionLinkInputSerializer,
    ActionSerializer,
    ActionStatusSerializer,
    ActionSummarySerializer,
    ActionVerifyInputSerializer,
)
from .cases import _expected_version

IF_MATCH = OpenApiParameter(
    "If-Match",
    str,
    OpenApiParameter.HEADER,
    description='The action\'s ETag as you read it ("<version>"). Required unless `version` is '
    "in the body (428 without either); refused with 412 if someone changed the action since.",
)


def _action_response(request, pk: int, status_code: int = 200) -> Response:
    # Read again with its cases, as the caller may see it now.
    found = (
        selectors.action_list(user=request.user).select_related("recorded_by", "done_by").get(pk=pk)
    )
    data = ActionSerializer(found, context={"request": request}).data
    return Response(data, status=status_code, headers={"ETag": f'"{found.version}"'})


@extend_schema(tags=["actions"])
class ActionViewSet(viewsets.GenericViewSet):
    permission_classes = [WorksWithCases]
    filter_backends = [DjangoFilterBackend]
    filterset_class = ApiActionFilter
    serializer_class = ActionSerializer
    lookup_value_regex = "[0-9]{1,18}"

    def get_queryset(self):
        return selectors.action_list(user=self.request.user)

    def _action(self, *, write: bool = False):
        return action_get_for_user(user=self.request.user, pk=int(self.kwargs["pk"]), write=write)

    def _input(self, serializer_class) -> tuple[dict, int | None]:
        """The request's data, checked, without ``version``; and the version the client read
        (``version`` or If-Match)."""
        serializer = serializer_class(data=self.request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        version = _expected_version(self.request, data)
        data.pop("version", None)
        return data, version

    @extend_schema(
        summary="List corrective and preventive actions",
        description="Without `status`, the open ones (open, in progress, done).",
        responses=ActionSummarySerializer(many=True),
    )
    def list(self, request):
        qs = self.filter_queryset(self.get_queryset())
        qs = qs.order_by(*qs.query.order_by or ["due_on"], "pk")
        page = self.paginate_queryset(qs)
        data = ActionSummarySerializer(page, many=True, context={"request": request}).data
        return self.get_paginated_response(data)

    @extend_schema(summary="An action")
    def retrieve(self, request, pk: str):
        return _action_response(request, self._action().pk)

    @extend_schema(
        summary="Record an action from cases",
        description="Each case must have finished Analyse (or be closed) and be one you may "
        "work. The owner is a person and/or a department; the due date today or later.",
        request=ActionInputSerializer,
        responses={201: ActionSerializer},
    )
    def create(self, request):
        serializer = ActionInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        cases = selectors.cases_by_reference(user=request.user, references=data.pop("cases"))
        recorded = services.action_record(by=request.user, cases=cases, **data)
        return _action_response(request, recorded.pk, http.HTTP_201_CREATED)

    @extend_schema(
        summary="Change an action's details",
        description="A new due date needs `note` (why) and starts a new round of its time "
        "limit; once the action is escalated, only its tier may move it.",
        request=ActionDetailsSerializer,
        parameters=[IF_MATCH],
    )
    def partial_update(self, request, pk: str):
        found = self._action(write=True)
        data, version = self._input(ActionDetailsSerializer)
        note = data.pop("note")
        services.action_update(
            action=found, by=request.user, data=data, note=note, expected_version=version
        )
        return _action_response(request, found.pk)

    @extend_schema(
        summary="Change an action's status",
        description="The moves open from its status (`moves`), by whom each allows; refused "
        "with 409 and the reason otherwise. Verifying is its own endpoint.",
        request=ActionStatusSerializer,
        parameters=[IF_MATCH],
    )
    @action(detail=True, methods=["post"], filter_backends=[])
    def status(self, request, pk: str):
        found = self._action()
        data, version = self._input(ActionStatusSerializer)
        services.action_transition(action=found, by=request.user, expected_version=version, **data)
        return _action_response(request, found.pk)

    @extend_schema(
        summary="Verify a done action, with evidence",
        description="Quality and general managers who neither own it nor marked it done. "
        "Optionally with the "
        "count, by the database now, of new cases of its root cause since it was done, at least "
        "`window_days` days ago.",
        request=ActionVerifyInputSerializer,
        parameters=[IF_MATCH],
    )
    @action(detail=True, methods=["post"], filter_backends=[])
    def verify(self, request, pk: str):
        found = self._action()
        data, version = self._input(ActionVerifyInputSerializer)
        services.action_verify(action=found, by=request.user, expected_version=version, **data)
        return _action_response(request, found.pk)

    @extend_schema(
        summary="Link one more case to the action",
        request=ActionLinkInputSerializer,
        parameters=[IF_MATCH],
    )
    @action(detail=True, methods=["post"], url_path="cases", filter_backends=[])
    def link(self, request, pk: str):
        found = self._action(write=True)
        data, version = self._input(ActionLinkInputSerializer)
        [case] = selectors.cases_by_reference(
            user=request.user, references=[data["case"]], field="case"
        )
        services.action_link_case(
            action=found, case=case, by=request.user, expected_version=version
        )
        return _action_response(request, found.pk)

    @extend_schema(
        summary="Take a case off the action",
        description="The action keeps at least one case (409 otherwise).",
        request=None,
        responses={200: ActionSerializer, 409: ErrorSerializer},
        parameters=[IF_MATCH],
    )
    @action(
        detail=True,
        methods=["delete"],
        url_path=r"cases/(?P<reference>[^/]{1,20})",
        filter_backends=[],
    )
    def unlink(self, request, pk: str, reference: str):
        found = self._action(write=True)
        if "\x00" in reference:  # no reference has one, and PostgreSQL refuses to compare it
            raise Http404
        case = get_object_or_404(cases_visible_to(user=request.user), reference=reference)
        services.action_unlink_case(
            action=found,
            case=case,
            by=request.user,
            expected_version=_expected_version(request, {}),
        )
        return _action_response(request, found.pk)

    @extend_schema(
        summary="The action's history", responses=ActionEventSerializer(many=True), filters=False
    )
    @action(detail=True, methods=["get"], filter_backends=[])
    def events(self, request, pk: str):
        found = self._action()
        page = self.paginate_queryset(found.events.select_related("actor").order_by("at", "pk"))
        return self.get_paginated_response(ActionEventSerializer(page, many=True).data)
