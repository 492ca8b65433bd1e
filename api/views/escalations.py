"""/api/v1/escalations/: escalations of the cases the caller may see, filtered by tier, reason,
acknowledged or "my queue"; acknowledging one, taking its case."""

from __future__ import annotations

from django.utils.translation import gettext as _
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from complaints.access import cases_visible_to
from escalation import approvals, services
from escalation.models import Approval, Escalation
from escalation.selectors import escalation_queue

from ..filters import ApprovalFilter, EscalationFilter
from ..permissions import WorksWithCases
from ..serializers import (
    ApprovalSerializer,
    DecisionInputSerializer,
    EscalationSerializer,
    NoteInputSerializer,
    ReassignedSerializer,
    ReassignInputSerializer,
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

    @extend_schema(
        summary="Hand escalated cases of my queue to a person and/or department",
        description="As the queue's bulk action: every escalation must be in your queue; all "
        "are handed over and acknowledged, or none (409 with the reason).",
        request=ReassignInputSerializer,
        responses={200: ReassignedSerializer},
    )
    @action(detail=False, methods=["post"], filter_backends=[])
    def reassign(self, request):
        serializer = ReassignInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        mine = {e.pk: e for e in escalation_queue(user=request.user)}
        strangers = sorted(set(data["escalations"]) - set(mine))
        if strangers:
            raise ValidationError(
                {"escalations": [_("Not in your queue: %(ids)s") % {"ids": strangers}]}
            )
        done = services.escalations_reassign(
            escalations=[mine[pk] for pk in dict.fromkeys(data["escalations"])],
            by=request.user,
            person=data["person"],
            department=data["department"],
            instruction=data["instruction"],
        )
        return Response({"reassigned": done})

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
