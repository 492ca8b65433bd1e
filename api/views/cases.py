"""/api/v1/cases/: the case list and a case, its step data, its transitions, its timeline, its
messages and files, handing it over, taking it. Every write goes through the services the pages
use, with the same access check (``complaints.access.case_get_for_user``)."""

from __future__ import annotations

from django.db import transaction
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.response import Response

from complaints import customer_actions, merging, repeats, selectors, services
from complaints.access import case_can_work, case_get_for_user
from complaints.customer_actions import tracking_url
from complaints.errors import InvalidInput
from complaints.languages import language_guess
from complaints.models import Case, CaseEvent

from ..errors import PreconditionRequired
from ..filters import ApiCaseFilter
from ..idempotency import idempotent
from ..pagination import DeferredJoinPagination
from ..permissions import WorksWithCases
from ..serializers import (
    AssignmentSerializer,
    CaseCreatedSerializer,
    CaseCreateSerializer,
    CaseDataSerializer,
    CaseSerializer,
    CaseSummarySerializer,
    EventSerializer,
    MergeInputSerializer,
    MessageInputSerializer,
    TrackingLinkSerializer,
    TransitionSerializer,
)
from .case_actions import CaseActions
from .case_conversation import CaseConversationActions
from .case_escalation import CaseEscalationActions

_MESSAGE_KINDS = [CaseEvent.Kind.NOTE, CaseEvent.Kind.MESSAGE, CaseEvent.Kind.CUSTOMER_MESSAGE]

IDEMPOTENCY_KEY = OpenApiParameter(
    "Idempotency-Key",
    str,
    OpenApiParameter.HEADER,
    description="Any unique string (a UUID). Sending the same request again with the same key "
    "returns the first response and does nothing twice.",
    pattern=r"^[ -~]{1,255}$",
)
IF_MATCH = OpenApiParameter(
    "If-Match",
    str,
    OpenApiParameter.HEADER,
    description='The case\'s ETag as you read it ("<version>"). Required unless `version` is '
    "in the body (428 without either); refused with 412 if someone changed the case since.",
)


def _expected_version(request, data: dict) -> int:
    """The version the client read: ``version`` in the body, else the If-Match ETag. Required:
    without it a write is refused with 428 (a stale one: 409 for ``version``, 412 for If-Match,
    ``api.errors``)."""
    if data.get("version") is not None:
        return data["version"]
    header = request.headers.get("If-Match", "").strip()
    if not header or header == "*":
        raise PreconditionRequired
    value = header.removeprefix("W/").strip('"')
    if not value.isdigit() or len(value) > 9:
        raise exceptions.ValidationError({"If-Match": [_('Send the case\'s ETag, e.g. "3".')]})
    return int(value)


def _case_response(request, case: Case, status_code: int = 200) -> Response:
    data = CaseSerializer(case, context={"request": request}).data
    return Response(data, status=status_code, headers={"ETag": f'"{case.version}"'})


@extend_schema(tags=["cases"])
class CaseViewSet(
    CaseConversationActions, CaseEscalationActions, CaseActions, viewsets.GenericViewSet
):
    permission_classes = [WorksWithCases]
    lookup_field = "reference"
    lookup_value_regex = "[^/]+"
    filter_backends = [DjangoFilterBackend]
    filterset_class = ApiCaseFilter
    serializer_class = CaseSerializer
    # A replayed "new case" response gets a new tracking link: the first is never stored.
    idempotent_unstored = ("tracking_url",)

    def get_queryset(self):
        return selectors.case_list(user=self.request.user).order_by("-received_at", "-pk")

    def _case(self, *, write: bool = False) -> Case:
        case = case_get_for_user(
            user=self.request.user, reference=self.kwargs["reference"], write=write
        )
        self.check_object_permissions(self.request, case)
        return case

    @extend_schema(summary="List cases", responses=CaseSummarySerializer(many=True))
    def list(self, request):
        qs = self.filter_queryset(self.get_queryset())
        if request.query_params.get("ordering"):
            qs = qs.order_by(*qs.query.order_by, "-pk")
        # The page's cases found first, then read with their joins (complaints.paging); DRF
        # keeps a view's paginator in ``_paginator``, which get_paginated_response reads too.
        self._paginator = DeferredJoinPagination(
            rows=lambda keys: selectors.case_list(
                user=request.user, qs=Case.objects.filter(pk__in=keys)
            )
        )
        page = self.paginate_queryset(qs)
        data = CaseSummarySerializer(page, many=True, context={"request": request}).data
        return self.get_paginated_response(data)

    def _require_intake(self, request) -> None:
        if not request.user.has_perm("complaints.add_case"):
            raise exceptions.PermissionDenied(_("You may not log complaints."))

    def idempotent_allowed(self, request, *args, **kwargs) -> None:
        """Before a stored answer is replayed (``api.idempotency``): the caller may still log
        complaints, or still change the case (after a merge: the case that carries on)."""
        if self.action == "create":
            self._require_intake(request)
            return
        case = self._case()
        if not case_can_work(user=request.user, case=case.merged_into or case):
            raise exceptions.PermissionDenied

    @extend_schema(
        summary="Log a new complaint",
        request=CaseCreateSerializer,
        responses={201: CaseCreatedSerializer},
        parameters=[IDEMPOTENCY_KEY],
    )
    @idempotent
    def create(self, request):
        self._require_intake(request)
        serializer = CaseCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        person = data.pop("customer")
        with transaction.atomic():
            try:
                customer = services.customer_get_or_create(
                    name=person["name"],
                    phone=person["phone"],
                    email=person["email"],
                    type=person.get("type"),
                    language=person.get("language"),
                    preferred_channel=person.get("preferred_channel"),
                    default_language=language_guess(data["description"], data["desired_outcome"]),
                )
            except InvalidInput as exc:  # its fields are the customer's: say so
                fields = {f"customer.{name}": errors for name, errors in exc.fields.items()}
                raise InvalidInput(*exc.messages, fields=fields) from None
            received = services.case_receive(by=request.user, customer=customer, **data)
        # The customer as this request left them, and no case merged into one just received:
        # the answer reads neither again.
        received.case.customer = customer
        context = {
            "request": request,
            "tracking_url": tracking_url(received.tracking_token),
            "related": repeats.case_related(user=request.user, case=received.case),
            "merged_cases": [],
        }
        data = CaseCreatedSerializer(received.case, context=context).data
        return Response(
            data,
            status=status.HTTP_201_CREATED,
            headers={"ETag": f'"{received.case.version}"', "Location": data["url"]},
        )

    def idempotent_replayed(self, request, body: dict) -> dict:
        if self.action != "create" or "reference" not in body:
            return body
        case = Case.objects.get(reference=body["reference"])
        token = services.tracking_token_issue(case=case)
        return {**body, "tracking_url": tracking_url(token)}

    @extend_schema(summary="A case")
    def retrieve(self, request, reference: str):
        return _case_response(request, self._case())

    @extend_schema(
        summary="Record the current step's data",
        description="Only the fields of the case's current step (`editable_fields`).",
        request=CaseDataSerializer,
        parameters=[IF_MATCH],
    )
    def partial_update(self, request, reference: str):
        case = self._case(write=True)
        serializer = CaseDataSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        services.case_update(
            case=case,
            by=request.user,
            data=serializer.step_data(),
            expected_version=_expected_version(request, serializer.validated_data),
        )
        return _case_response(request, case)

    @extend_schema(
        summary="Move the case to another step",
        description="The same state machine as the case page: `to` a step open from the "
        "current one (`moves`), with the current step's data. A move that is not open, or "
        "whose data is missing, is refused with 409 and the reasons.",
        request=TransitionSerializer,
        parameters=[IDEMPOTENCY_KEY, IF_MATCH],
    )
    @action(detail=True, methods=["post"])
    @idempotent
    def transition(self, request, reference: str):
        case = self._case(write=True)
        serializer = TransitionSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.case_transition(
            case=case,
            to=serializer.validated_data["to"],
            by=request.user,
            data=serializer.step_data(),
            note=serializer.validated_data["note"],
            expected_version=_expected_version(request, serializer.validated_data),
            ending=serializer.validated_data["ending"],
        )
        return _case_response(request, case)

    @extend_schema(
        summary="The case's timeline",
        description="With the events of the cases merged into it (`case` says which).",
        responses=EventSerializer(many=True),
        filters=False,
    )
    @action(detail=True, methods=["get"], filter_backends=[])
    def events(self, request, reference: str):
        case = self._case()
        return self._events(request, case, selectors.case_events(case=case))

    def _events(self, request, case: Case, qs):
        page = self.paginate_queryset(
            qs.select_related("actor", "case").prefetch_related("attachments").order_by("at", "pk")
        )
        context = {"request": request, "reference": case.reference}
        return self.get_paginated_response(EventSerializer(page, many=True, context=context).data)

    @extend_schema(
        methods=["GET"],
        summary="Notes and messages",
        responses=EventSerializer(many=True),
        filters=False,
    )
    @extend_schema(
        methods=["POST"],
        summary="Add an internal note or a message to the customer",
        request={
            "application/json": MessageInputSerializer,
            "multipart/form-data": MessageInputSerializer,
        },
        responses={201: EventSerializer},
    )
    @action(
        detail=True,
        methods=["get", "post"],
        filter_backends=[],
        parser_classes=[JSONParser, MultiPartParser, FormParser],
    )
    def messages(self, request, reference: str):
        if request.method == "GET":
            case = self._case()
            messages = selectors.case_events(case=case).filter(kind__in=_MESSAGE_KINDS)
            return self._events(request, case, messages)
        case = self._case(write=True)
        serializer = MessageInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        files = request.FILES.getlist("files") if request.FILES else []
        event = services.case_add_note(
            case=case,
            by=request.user,
            body=serializer.validated_data["body"],
            customer_visible=serializer.validated_data["customer_visible"],
            files=files,
            source=serializer.validated_data["source"],
        )
        context = {"request": request, "reference": case.reference}
        return Response(EventSerializer(event, context=context).data, status=201)

    @extend_schema(
        summary="Hand the case to a person and/or a department",
        request=AssignmentSerializer,
        parameters=[IF_MATCH],
    )
    @action(detail=True, methods=["post"])
    def assignment(self, request, reference: str):
        case = self._case(write=True)
        serializer = AssignmentSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        services.case_assign(
            case=case,
            by=request.user,
            person=data["person"],
            department=data["department"],
            note=data["note"],
            expected_version=_expected_version(request, data),
        )
        return _case_response(request, case)

    @extend_schema(
        summary="Merge the case into another: the same complaint",
        description="The case named by `into` (received first) carries on with both: their "
        "timelines, messages, files and both customers' tracking links; this case stops "
        "(it leaves the open lists, its deadlines stop). You must be able to work both; "
        "refused with 409 and the reasons for a case already merged, a closed case, or a "
        "later case as `into`. Answers with the case that carries on.",
        request=MergeInputSerializer,
        responses={200: CaseSerializer},
        parameters=[IDEMPOTENCY_KEY, IF_MATCH],
    )
    @action(detail=True, methods=["post"], filter_backends=[])
    @idempotent
    def merge(self, request, reference: str):
        case = self._case(write=True)
        serializer = MergeInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        try:
            survivor = case_get_for_user(user=request.user, reference=data["into"].strip().upper())
        except Http404:
            raise InvalidInput(fields={"into": [_("No case has this reference.")]}) from None
        merging.case_merge(
            survivor=survivor,
            absorbed=case,
            by=request.user,
            note=data["note"],
            expected_version=_expected_version(request, data),
            survivor_version=data.get("into_version"),
        )
        return _case_response(request, survivor)

    @extend_schema(summary="Take a case no one owns yet", request=None)
    @action(detail=True, methods=["post"])
    def take(self, request, reference: str):
        case = self._case()
        customer_actions.case_take(case=case, by=request.user)  # refreshes ``case``
        return _case_response(request, case)

    @extend_schema(
        summary="Renew the customer's tracking link",
        description="Every earlier link stops working (a link forwarded or sent to the wrong "
        "address). The new one is returned once: send it to the customer.",
        request=None,
        responses={201: TrackingLinkSerializer},
    )
    @action(detail=True, methods=["post"], url_path="tracking-link", filter_backends=[])
    def tracking_link(self, request, reference: str):
        case = self._case(write=True)
        token = customer_actions.case_tracking_renew(case=case, by=request.user)
        return Response({"tracking_url": tracking_url(token)}, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Download a file of the case",
        responses={(200, "application/octet-stream"): OpenApiResponse(description="The file.")},
    )
    @action(detail=True, methods=["get"], url_path=r"attachments/(?P<pk>[0-9]{1,18})")
    def attachment(self, request, reference: str, pk: str):
        case = self._case()
        attachment = get_object_or_404(selectors.case_attachments(case=case), pk=int(pk))
        return FileResponse(
            attachment.file.open("rb"),
            as_attachment=True,
            filename=attachment.name,
            content_type=attachment.content_type,
        )
