"""The case's time-limit actions, as the escalation panel of the case page offers them:
stopping and restarting the clock, escalating by hand, asking for a remedy's approval, referring
to external review and recording its outcome. Mixed
into ``CaseViewSet`` (so they live under /api/v1/cases/{reference}/)."""

from __future__ import annotations

from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.response import Response

from complaints.errors import TransitionRefused
from escalation import approvals, services

from ..serializers import (
    ApprovalSerializer,
    EscalateInputSerializer,
    EscalationSerializer,
    ExternalReviewSerializer,
    NoteInputSerializer,
    OutcomeInputSerializer,
    PauseInputSerializer,
    PauseSerializer,
    ReferralInputSerializer,
)


class CaseEscalationActions:
    @extend_schema(
        summary="Stop the clock (waiting on the customer or a third party)",
        description="Only for the milestones the case's time-limit policy lets stop; the "
        "default limits are absolute and refuse (409).",
        request=PauseInputSerializer,
        responses={201: PauseSerializer},
    )
    @action(detail=True, methods=["post"], filter_backends=[])
    def pause(self, request, reference: str):
        case = self._case(write=True)
        serializer = PauseInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        pause = services.case_pause(case=case, by=request.user, **serializer.validated_data)
        return Response(PauseSerializer(pause).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Restart the clock",
        request=NoteInputSerializer,
        responses={200: PauseSerializer},
    )
    @action(detail=True, methods=["post"], filter_backends=[])
    def resume(self, request, reference: str):
        case = self._case(write=True)
        serializer = NoteInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        pause = services.case_resume(
            case=case, by=request.user, cause=serializer.validated_data["note"]
        )
        if pause is None:
            raise TransitionRefused(_("The clock is running."))
        return Response(PauseSerializer(pause).data)

    @extend_schema(
        summary="Escalate the case one tier up by hand",
        request=EscalateInputSerializer,
        responses={201: EscalationSerializer},
    )
    @action(detail=True, methods=["post"], filter_backends=[])
    def escalate(self, request, reference: str):
        case = self._case(write=True)
        serializer = EscalateInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        escalation = services.case_escalate_manually(
            case=case, by=request.user, note=serializer.validated_data["note"]
        )
        return Response(EscalationSerializer(escalation).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Ask a higher tier to approve the remedy (above your authority)",
        request=NoteInputSerializer,
        responses={201: ApprovalSerializer},
    )
    @action(detail=True, methods=["post"], url_path="approval", filter_backends=[])
    def approval_request(self, request, reference: str):
        case = self._case(write=True)
        serializer = NoteInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        approval = approvals.approval_request(
            case=case, by=request.user, note=serializer.validated_data["note"]
        )
        return Response(ApprovalSerializer(approval).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Refer the case to external review (tier 4; quality and general managers)",
        request=ReferralInputSerializer,
        responses={201: ExternalReviewSerializer},
    )
    @action(detail=True, methods=["post"], filter_backends=[])
    def referral(self, request, reference: str):
        case = self._case(write=True)
        serializer = ReferralInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        review = services.case_refer_external(
            case=case, by=request.user, **serializer.validated_data
        )
        return Response(ExternalReviewSerializer(review).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Record the external reviewer's outcome",
        request=OutcomeInputSerializer,
        responses={200: ExternalReviewSerializer},
    )
    @action(detail=True, methods=["post"], url_path="referral/outcome", filter_backends=[])
    def referral_outcome(self, request, reference: str):
        case = self._case(write=True)
        serializer = OutcomeInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        review = case.external_reviews.filter(outcome_at__isnull=True).order_by("-pk").first()
        if review is None:
            raise TransitionRefused(_("The case is not in external review."))
        review = services.external_review_record_outcome(
            review=review, by=request.user, outcome=serializer.validated_data["outcome"]
        )
        return Response(ExternalReviewSerializer(review).data)
