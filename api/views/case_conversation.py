"""What the case's customer is told: the notices (sent, failed, not sent and why) and how the
customer wants to hear from us. Mixed into ``CaseViewSet`` (under /api/v1/cases/{reference}/)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response

from complaints import contact, services
from conversation.selectors import case_notices

from ..serializers import (
    ContactAttemptSerializer,
    ContactPreferencesSerializer,
    FollowUpReviewSerializer,
    NoticeSerializer,
)


class CaseConversationActions:
    @extend_schema(
        summary="The notices sent to the customer",
        description="Every notice about the case and the cases merged into it, oldest first: "
        "what it told, by which channel to which (masked) address, and whether it was sent, "
        "is still being tried, failed, or was not sent and why.",
        responses=NoticeSerializer(many=True),
        filters=False,
    )
    @action(detail=True, methods=["get"], filter_backends=[])
    def notices(self, request, reference: str):
        case = self._case()
        page = self.paginate_queryset(case_notices(case=case).select_related("case"))
        return self.get_paginated_response(NoticeSerializer(page, many=True).data)

    @extend_schema(
        methods=["GET"],
        summary="How the customer hears from us",
        responses=ContactPreferencesSerializer,
        filters=False,
    )
    @extend_schema(
        methods=["PATCH"],
        summary="Change how the customer hears from us",
        description="As the customer asked (on the phone, in a letter); the change is on the "
        "case's timeline.",
        request=ContactPreferencesSerializer,
        responses=ContactPreferencesSerializer,
    )
    @action(
        detail=True,
        methods=["get", "patch"],
        url_path="customer-preferences",
        filter_backends=[],
    )
    def customer_preferences(self, request, reference: str):
        if request.method == "GET":
            case = self._case()
            return Response(ContactPreferencesSerializer.of(case.customer))
        case = self._case(write=True)
        serializer = ContactPreferencesSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        contact.customer_preferences_set(case=case, by=request.user, **serializer.validated_data)
        case.customer.refresh_from_db()
        return Response(ContactPreferencesSerializer.of(case.customer))

    @extend_schema(
        methods=["GET"],
        summary="The attempts to reach the customer",
        responses=ContactAttemptSerializer(many=True),
        filters=False,
    )
    @extend_schema(
        methods=["POST"],
        summary="Record an attempt to reach the customer",
        description="A follow-up call, an SMS, a visit … and its result. At Follow up, the "
        "attempts that did not reach the customer count towards closing the case as "
        "unreachable (transition with ending=unreachable).",
        request=ContactAttemptSerializer,
        responses={201: ContactAttemptSerializer},
    )
    @action(detail=True, methods=["get", "post"], filter_backends=[])
    def contacts(self, request, reference: str):
        if request.method == "GET":
            case = self._case()
            page = self.paginate_queryset(
                case.contact_attempts.select_related("by").order_by("at", "pk")
            )
            return self.get_paginated_response(ContactAttemptSerializer(page, many=True).data)
        case = self._case(write=True)
        serializer = ContactAttemptSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        attempt = services.case_contact_record(
            case=case, by=request.user, **serializer.validated_data
        )
        return Response(ContactAttemptSerializer(attempt).data, status=201)

    @extend_schema(
        methods=["GET"],
        summary="The supervisor's reviews of the case's follow-ups",
        description="One per closing of the case, oldest first. Read by those who may review "
        "follow-ups (quality managers).",
        responses=FollowUpReviewSerializer(many=True),
        filters=False,
    )
    @extend_schema(
        methods=["POST"],
        summary="Mark the follow-up reviewed",
        description="A customer-service supervisor (quality manager) marks how the closed case "
        "was followed up as reviewed, with a comment for the staff: once per closing. 403 for "
        "anyone else; 409 when the case is not closed, was merged, or this closing's "
        "follow-up was reviewed already.",
        request=FollowUpReviewSerializer,
        responses={201: FollowUpReviewSerializer},
    )
    @action(detail=True, methods=["get", "post"], url_path="follow-up-reviews", filter_backends=[])
    def follow_up_reviews(self, request, reference: str):
        case = self._case()
        if request.method == "GET":
            if not request.user.has_perm("complaints.view_followupreview"):
                raise PermissionDenied
            page = self.paginate_queryset(
                case.follow_up_reviews.select_related("reviewed_by").order_by("closed_at")
            )
            return self.get_paginated_response(FollowUpReviewSerializer(page, many=True).data)
        serializer = FollowUpReviewSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        review = services.case_follow_up_review(
            case=case, by=request.user, comment=serializer.validated_data["comment"]
        )
        return Response(FollowUpReviewSerializer(review).data, status=201)
