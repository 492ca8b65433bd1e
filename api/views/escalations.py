"""/api/v1/escalations/: escalations of the cases the caller may see, filtered by tier, reason,
acknowledged or "my queue"; acknowledging one, taking its case."""

from __future__ import annotations

from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from complaints.access import cases_visible_to
from escalation import approvals, services
from escalation.models import Approval, Escalation

from ..filters import ApprovalFilter, EscalationFilter
from ..permissions import WorksWithCases
from ..serializers import (
    ApprovalSerializer,
    DecisionInputSerializer,
    EscalationSerializer,
    NoteInputSerializer,
)


@extend_schema(tags=["escalations"])
@extend_schema_view(
    list=extend_schema(summary="List escalations"),
    retrieve=extend_schema(summary="An escalation"),
)
class EscalationViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    permission_classes = [WorksWithCases]
    serializer_class = EscalationSerializer
    filter_backends = [DjangoFilterBackend]
    filterset_class = EscalationFilter

    def get_queryset(self):
        return (
            Escalation.objects.filter(case__in=cases_visible_to(user=self.request.user))
            .select_related("case", "by", "acknowledged_by")
            .order_by("-at", "-pk")
        )

    @extend_schema(
        summary="Acknowledge an escalation (its reminders stop)",
        request=NoteInputSerializer,
    )
    @action(detail=True, methods=["post"], filter_backends=[])
    def acknowledge(self, request, pk: str):
        serializer = NoteInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        escalation = services.escalation_acknowledge(
            escalation=self.get_object(), by=request.user, note=serializer.validated_data["note"]
        )
        return Response(EscalationSerializer(self._reloaded(escalation)).data)

    @extend_schema(summary="Take the escalated case (and acknowledge)", request=None)
    @action(detail=True, methods=["post"], filter_backends=[])
    def take(self, request, pk: str):
        escalation = services.escalation_take(escalation=self.get_object(), by=request.user)
        return Response(EscalationSerializer(self._reloaded(escalation)).data)

    def _reloaded(self, escalation: Escalation) -> Escalation:
        return self.get_queryset().get(pk=escalation.pk)


@extend_schema(tags=["escalations"])
@extend_schema_view(
    list=extend_schema(summary="List remedy approvals"),
    retrieve=extend_schema(summary="A remedy approval"),
)
class ApprovalViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Remedies above their decider's authority. ``?queue=true``: those waiting for my tier."""

    permission_classes = [WorksWithCases]
    serializer_class = ApprovalSerializer
    filter_backends = [DjangoFilterBackend]
    filterset_class = ApprovalFilter

    def get_queryset(self):
        return (
            Approval.objects.filter(case__in=cases_visible_to(user=self.request.user))
            .select_related("case", "requested_by", "decided_by")
            .order_by("-requested_at", "-pk")
        )

    @extend_schema(summary="Approve or decline a remedy", request=DecisionInputSerializer)
    @action(detail=True, methods=["post"], filter_backends=[])
    def decision(self, request, pk: str):
        serializer = DecisionInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        approval = approvals.approval_decide(
            approval=self.get_object(), by=request.user, **serializer.validated_data
        )
        return Response(ApprovalSerializer(self.get_queryset().get(pk=approval.pk)).data)
