"""Corrective and preventive actions as the API reads and writes them."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.reverse import reverse

from complaints.forms import staff_who_work_cases
from complaints.models import Department, RootCause
from improvement.access import action_moves_for
from improvement.evidence import MAX_WINDOW_DAYS
from improvement.models import Action, ActionEvent, Kind, Status, Verification

from .common import BlankKeptMixin, DepartmentSerializer, PersonSerializer, StrictSerializerMixin

_ID = serializers.IntegerField()


def _reference(**kwargs) -> serializers.CharField:
    return serializers.CharField(max_length=20, help_text="A case reference.", **kwargs)


class VerificationSerializer(serializers.ModelSerializer):
    by = PersonSerializer(read_only=True)

    class Meta:
        model = Verification
        fields = list(Verification.EVIDENCE_FIELDS)
        read_only_fields = fields


class ActionMoveSerializer(serializers.Serializer):
    to = serializers.ChoiceField(choices=Status.choices)
    label = serializers.CharField()
    kind = serializers.ChoiceField(choices=["forward", "back", "cancel"])
    needs_note = serializers.BooleanField()


class ActionSummarySerializer(BlankKeptMixin, serializers.ModelSerializer):
    """An action in a list, in a fixed number of queries."""

    reference = serializers.CharField(read_only=True)
    url = serializers.SerializerMethodField()
    owner = PersonSerializer(read_only=True, allow_null=True)
    department = DepartmentSerializer(read_only=True, allow_null=True)
    cases = serializers.SerializerMethodField(
        help_text="The references of the cases it comes from."
    )
    overdue = serializers.BooleanField(
        source="is_overdue",
        read_only=True,
        help_text="Still to be carried out and past the end of its due date.",
    )

    class Meta:
        model = Action
        fields = [
            "id",
            "reference",
            "url",
            "kind",
            "root_cause",
            "title",
            "status",
            "owner",
            "department",
            "due_on",
            "due_at",
            "overdue",
            "tier",
            "cases",
            "recorded_at",
            "version",
        ]
        read_only_fields = fields

    def get_url(self, obj: Action) -> str:
        return reverse("api:action-detail", kwargs={"pk": obj.pk}, request=self.context["request"])

    def get_cases(self, obj: Action) -> list[str]:
        return [link.case.reference for link in obj.links.all()]


class ActionSerializer(ActionSummarySerializer):
    """The whole action, with the moves open from its status."""

    recorded_by = PersonSerializer(read_only=True)
    done_by = PersonSerializer(read_only=True, allow_null=True)
    verification = serializers.SerializerMethodField()
    moves = serializers.SerializerMethodField(
        help_text="The status changes you may make from here (verifying is the verify endpoint)."
    )

    class Meta(ActionSummarySerializer.Meta):
        fields = [
            *ActionSummarySerializer.Meta.fields,
            "cause",
            "plan",
            "recorded_by",
            "done_at",
            "done_by",
            "done_note",
            "closed_at",
            "cancel_reason",
            "verification",
            "moves",
            "updated_at",
        ]
        read_only_fields = fields

    @extend_schema_field(VerificationSerializer(allow_null=True))
    def get_verification(self, obj: Action) -> dict | None:
        if obj.status != Status.VERIFIED:
            return None
        return VerificationSerializer(obj.verification).data

    @extend_schema_field(ActionMoveSerializer(many=True))
    def get_moves(self, obj: Action) -> list[dict]:
        return [
            {
                "to": m.target,
                "label": str(m.label),
                "kind": m.kind,
                "needs_note": m.note_required is not None,
            }
            for m in action_moves_for(user=self.context["request"].user, action=obj)
        ]


class ActionInputSerializer(StrictSerializerMixin, serializers.Serializer):
    """A new action, from the cases named (each past Analyse and workable by you)."""

    kind = serializers.ChoiceField(choices=Kind.choices)
    root_cause = serializers.ChoiceField(choices=RootCause.choices)
    cause = serializers.CharField(max_length=2000, help_text="The cause it addresses.")
    title = serializers.CharField(max_length=200, help_text="What is to be done, in short.")
    plan = serializers.CharField(max_length=5000, required=False, allow_blank=True, default="")
    owner = serializers.PrimaryKeyRelatedField(
        queryset=staff_who_work_cases(), required=False, allow_null=True, default=None, pk_field=_ID
    )
    department = serializers.PrimaryKeyRelatedField(
        queryset=Department.objects.all(),
        required=False,
        allow_null=True,
        default=None,
        pk_field=_ID,
        help_text="The owner department (a person alone brings their own).",
    )
    due_on = serializers.DateField()
    cases = serializers.ListField(child=_reference(), min_length=1, max_length=100)


class ActionDetailsSerializer(StrictSerializerMixin, serializers.Serializer):
    """The details to change (any of them); a new due date needs ``note``, the reason."""

    kind = serializers.ChoiceField(choices=Kind.choices, required=False)
    root_cause = serializers.ChoiceField(choices=RootCause.choices, required=False)
    cause = serializers.CharField(max_length=2000, required=False)
    title = serializers.CharField(max_length=200, required=False)
    plan = serializers.CharField(max_length=5000, required=False, allow_blank=True)
    owner = serializers.PrimaryKeyRelatedField(
        queryset=staff_who_work_cases(), required=False, allow_null=True, pk_field=_ID
    )
    department = serializers.PrimaryKeyRelatedField(
        queryset=Department.objects.all(), required=False, allow_null=True, pk_field=_ID
    )
    due_on = serializers.DateField(required=False)
    note = serializers.CharField(max_length=5000, required=False, allow_blank=True, default="")
    version = serializers.IntegerField(
        required=False,
        min_value=1,
        help_text="The action's version as you read it: required, unless sent as If-Match (428 "
        "without either); 409 if it changed.",
    )


class ActionStatusSerializer(StrictSerializerMixin, serializers.Serializer):
    to = serializers.ChoiceField(
        choices=Status.choices, help_text="Not verified: that is the verify endpoint."
    )
    note = serializers.CharField(
        max_length=5000,
        required=False,
        allow_blank=True,
        default="",
        help_text="What was done (to done), what is missing (back to in progress), why "
        "(cancelled).",
    )
    version = serializers.IntegerField(
        required=False,
        min_value=1,
        help_text="The action's version as you read it: required, unless sent as If-Match (428 "
        "without either); 409 if it changed.",
    )


class ActionVerifyInputSerializer(StrictSerializerMixin, serializers.Serializer):
    note = serializers.CharField(max_length=5000, help_text="The evidence.")
    window_days = serializers.IntegerField(
        min_value=1,
        max_value=MAX_WINDOW_DAYS,
        required=False,
        allow_null=True,
        default=None,
        help_text="Check that no new case of the action's root cause arrived since the action "
        "was done, at least this many days ago (counted now, over [done, now]: window_start, "
        "window_end); refused with 409 if one did, or if the days have not passed yet, unless "
        "override_reason says why it is verified anyway.",
    )
    same_department = serializers.BooleanField(required=False, default=False)
    same_product = serializers.BooleanField(required=False, default=False)
    override_reason = serializers.CharField(
        max_length=2000, required=False, allow_blank=True, default=""
    )
    version = serializers.IntegerField(
        required=False,
        min_value=1,
        help_text="The action's version as you read it: required, unless sent as If-Match (428 "
        "without either); 409 if it changed.",
    )


class ActionLinkInputSerializer(StrictSerializerMixin, serializers.Serializer):
    case = _reference()
    version = serializers.IntegerField(
        required=False,
        min_value=1,
        help_text="The action's version as you read it: required, unless sent as If-Match (428 "
        "without either); 409 if it changed.",
    )


class ActionEventSerializer(BlankKeptMixin, serializers.ModelSerializer):
    actor = PersonSerializer(read_only=True, allow_null=True)
    changes = serializers.DictField(
        child=serializers.ListField(allow_null=True),
        help_text='What changed, as {"field": [old, new]} in machine values.',
    )

    class Meta:
        model = ActionEvent
        fields = ["id", "at", "kind", "actor", "from_status", "to_status", "changes", "note"]
        read_only_fields = fields
