"""Escalations, the clock, approvals."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from complaints.forms import staff_who_work_cases
from complaints.models import Department
from escalation.models import Approval, Escalation, ExternalReview, Pause

from .common import BlankKeptMixin, PersonSerializer, StrictSerializerMixin


class EscalationSerializer(BlankKeptMixin, serializers.ModelSerializer):
    case = serializers.SlugRelatedField(slug_field="reference", read_only=True)
    by = PersonSerializer(read_only=True, allow_null=True)
    acknowledged_by = PersonSerializer(read_only=True, allow_null=True)
    acknowledged = serializers.SerializerMethodField()

    class Meta:
        model = Escalation
        fields = [
            "id",
            "case",
            "milestone",
            "round",
            "from_tier",
            "to_tier",
            "reason",
            "note",
            "at",
            "by",
            "acknowledged",
            "acknowledged_at",
            "acknowledged_by",
        ]
        read_only_fields = fields

    def get_acknowledged(self, obj: Escalation) -> bool:
        return obj.acknowledged_at is not None


class NoteInputSerializer(StrictSerializerMixin, serializers.Serializer):
    note = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")


class EscalateInputSerializer(StrictSerializerMixin, serializers.Serializer):
    note = serializers.CharField(
        max_length=2000,
        help_text="Why the case needs a higher tier (required).",
        error_messages={
            "required": _("Say why the case needs a higher tier."),
            "blank": _("Say why the case needs a higher tier."),
        },
    )


class PauseInputSerializer(StrictSerializerMixin, serializers.Serializer):
    reason = serializers.ChoiceField(choices=Pause.Reason.choices)
    note = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class PauseSerializer(serializers.ModelSerializer):
    started_by = PersonSerializer(read_only=True)
    ended_by = PersonSerializer(read_only=True, allow_null=True)

    class Meta:
        model = Pause
        fields = ["id", "reason", "note", "started_at", "started_by", "ended_at", "ended_by"]
        read_only_fields = fields


class ApprovalSerializer(serializers.ModelSerializer):
    case = serializers.SlugRelatedField(slug_field="reference", read_only=True)
    requested_by = PersonSerializer(read_only=True)
    decided_by = PersonSerializer(read_only=True, allow_null=True)

    class Meta:
        model = Approval
        fields = [
            "id",
            "case",
            "round",
            "value",
            "remedy_types",
            "tier",
            "status",
            "requested_by",
            "requested_at",
            "note",
            "decided_by",
            "decided_at",
            "decision_note",
        ]
        read_only_fields = fields


class DecisionInputSerializer(StrictSerializerMixin, serializers.Serializer):
    approve = serializers.BooleanField()
    note = serializers.CharField(max_length=1000, required=False, allow_blank=True, default="")


class ReferralInputSerializer(StrictSerializerMixin, serializers.Serializer):
    reviewer = serializers.CharField(max_length=200, help_text="The body the case goes to.")
    reason = serializers.CharField(max_length=2000, help_text="Why the internal route is blocked.")


class OutcomeInputSerializer(StrictSerializerMixin, serializers.Serializer):
    outcome = serializers.CharField(max_length=5000)


class ExternalReviewSerializer(serializers.ModelSerializer):
    case = serializers.SlugRelatedField(slug_field="reference", read_only=True)
    referred_by = PersonSerializer(read_only=True)
    outcome_by = PersonSerializer(read_only=True, allow_null=True)

    class Meta:
        model = ExternalReview
        fields = [
            "id",
            "case",
            "reviewer",
            "reason",
            "referred_by",
            "referred_at",
            "outcome",
            "outcome_at",
            "outcome_by",
        ]
        read_only_fields = fields


class ReassignInputSerializer(StrictSerializerMixin, serializers.Serializer):
    escalations = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=2**63 - 1),
        min_length=1,
        max_length=100,
        help_text="Ids of escalations in your queue; all are handed over, or none.",
    )
    person = serializers.PrimaryKeyRelatedField(
        queryset=staff_who_work_cases(), required=False, allow_null=True, default=None
    )
    department = serializers.PrimaryKeyRelatedField(
        queryset=Department.objects.all(), required=False, allow_null=True, default=None
    )
    instruction = serializers.CharField(
        max_length=2000, required=False, allow_blank=True, default=""
    )

    def validate(self, data):
        if data["person"] is None and data["department"] is None:
            raise serializers.ValidationError(_("Choose a person or a department."))
        return data


class ReassignedSerializer(serializers.Serializer):
    reassigned = serializers.IntegerField()
