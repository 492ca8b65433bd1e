"""What the API reads and writes. Output in machine values (step codes, ids); input checked for
types and lengths here, and for what the lifecycle allows by the services (one guard)."""

from __future__ import annotations

from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.reverse import reverse

from complaints import lifecycle
from complaints.forms import staff_who_work_cases
from complaints.models import (
    Attachment,
    Case,
    CaseEvent,
    Category,
    Channel,
    Customer,
    Department,
    Remedy,
    Step,
    Urgency,
    User,
)
from escalation.models import Approval, Escalation, Pause


class StrictSerializerMixin:
    """Refuses keys the serializer does not know, instead of silently ignoring them (a typo in
    a field name would otherwise look like a successful save)."""

    def to_internal_value(self, data):
        if hasattr(data, "keys"):
            unknown = sorted(set(data.keys()) - set(self.fields) - {"files"})
            if unknown:
                raise serializers.ValidationError({name: [_("Unknown field.")] for name in unknown})
        return super().to_internal_value(data)


class BlankKeptMixin:
    """A read-only field made from a model field with ``blank=True`` answers "" (a step not
    reached yet, an escalation without a milestone, a customer without an email address). DRF
    drops ``allow_blank`` from read-only fields, and without it the schema would say the value
    is one of the choices, or an email address."""

    def include_extra_kwargs(self, kwargs, extra_kwargs):
        blank = bool(kwargs.get("allow_blank"))
        kwargs = super().include_extra_kwargs(kwargs, extra_kwargs)
        if blank:
            kwargs["allow_blank"] = True
        return kwargs


class PersonSerializer(serializers.ModelSerializer):
    name = serializers.SerializerMethodField()

    class Meta:
        model = User
        fields = ["id", "username", "name"]

    def get_name(self, obj: User) -> str:
        return obj.get_full_name() or obj.username


class DepartmentSerializer(serializers.ModelSerializer):
    class Meta:
        model = Department
        fields = ["id", "code", "name"]


class CustomerSerializer(BlankKeptMixin, serializers.ModelSerializer):
    class Meta:
        model = Customer
        fields = ["id", "name", "phone", "email", "type", "created_at"]
        read_only_fields = fields


class CustomerInputSerializer(StrictSerializerMixin, serializers.Serializer):
    """Find the customer by phone or email, or add them (as the New complaint screen does)."""

    name = serializers.CharField(max_length=120, required=False, allow_blank=True, default="")
    phone = serializers.CharField(max_length=40, required=False, allow_blank=True, default="")
    email = serializers.CharField(max_length=254, required=False, allow_blank=True, default="")
    type = serializers.ChoiceField(choices=Customer.Type.choices, required=False)


class CaseSummarySerializer(BlankKeptMixin, serializers.ModelSerializer):
    """A case in a list: what a queue or a CRM shows, in a fixed number of queries."""

    customer = serializers.SerializerMethodField()
    owner = PersonSerializer(read_only=True, allow_null=True)
    department = DepartmentSerializer(read_only=True, allow_null=True)
    overdue = serializers.SerializerMethodField()
    url = serializers.SerializerMethodField()

    class Meta:
        model = Case
        fields = [
            "reference",
            "url",
            "step",
            "urgency",
            "channel",
            "category",
            "product",
            "customer",
            "owner",
            "department",
            "tier",
            "received_at",
            "due_at",
            "overdue",
            "closed_at",
            "version",
        ]
        read_only_fields = fields

    @extend_schema_field(
        {
            "type": "object",
            "properties": {"id": {"type": "integer"}, "name": {"type": "string"}},
            "required": ["id", "name"],
        }
    )
    def get_customer(self, obj: Case) -> dict:
        return {"id": obj.customer_id, "name": obj.customer.name}

    def get_overdue(self, obj: Case) -> bool:
        return bool(obj.is_open and obj.due_at and obj.due_at < timezone.now())

    def get_url(self, obj: Case) -> str:
        return reverse(
            "api:case-detail", kwargs={"reference": obj.reference}, request=self.context["request"]
        )


class MoveSerializer(serializers.Serializer):
    to = serializers.ChoiceField(choices=Step.choices)
    label = serializers.CharField()
    kind = serializers.ChoiceField(choices=["forward", "back", "reopen"])


class CaseSerializer(CaseSummarySerializer):
    """The whole case, with what may be done to it next."""

    customer = CustomerSerializer(read_only=True)
    receiver = PersonSerializer(read_only=True)
    responsible_person = PersonSerializer(read_only=True, allow_null=True)
    remedy_approved_by = PersonSerializer(read_only=True, allow_null=True)
    editable_fields = serializers.SerializerMethodField(
        help_text="The fields PATCH accepts at the case's current step."
    )
    moves = serializers.SerializerMethodField(help_text="The transitions open from this step.")

    class Meta(CaseSummarySerializer.Meta):
        fields = [
            *CaseSummarySerializer.Meta.fields,
            "receiver",
            "order_number",
            "quantity",
            "description",
            "desired_outcome",
            "customer_account",
            "emotion",
            "understanding_confirmed",
            "validity",
            "root_cause_category",
            "root_cause_analysis",
            "responsible_person",
            "remedy_types",
            "remedy_value",
            "remedy_plan",
            "remedy_approved_by",
            "actions_taken",
            "report",
            "customer_agreed",
            "agreement_note",
            "follow_up_satisfied",
            "satisfaction_rating",
            "handling_rating",
            "follow_up_comment",
            "reopen_count",
            "created_at",
            "updated_at",
            "editable_fields",
            "moves",
        ]
        read_only_fields = fields

    def get_editable_fields(self, obj: Case) -> list[str]:
        return list(lifecycle.STEP_FIELDS[obj.step])

    @extend_schema_field(MoveSerializer(many=True))
    def get_moves(self, obj: Case) -> list[dict]:
        return [
            {"to": m.target, "label": str(m.label), "kind": m.kind}
            for m in lifecycle.moves_from(obj.step)
        ]


class CaseCreateSerializer(StrictSerializerMixin, serializers.Serializer):
    """A new complaint (step 1, Receive), logged by the caller, who owns it."""

    customer = CustomerInputSerializer()
    channel = serializers.ChoiceField(choices=Channel.choices)
    category = serializers.ChoiceField(choices=Category.choices)
    urgency = serializers.ChoiceField(choices=Urgency.choices, default=Urgency.GREEN)
    description = serializers.CharField(max_length=5000)
    desired_outcome = serializers.CharField(max_length=2000)
    product = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    order_number = serializers.CharField(
        max_length=60, required=False, allow_blank=True, default=""
    )
    quantity = serializers.IntegerField(
        min_value=0, max_value=2_147_483_647, required=False, allow_null=True, default=None
    )
    received_at = serializers.DateTimeField(
        required=False,
        allow_null=True,
        default=None,
        help_text="When the complaint arrived (a call logged later); now if not given.",
    )

    def validate_received_at(self, value):
        if value is not None and value > timezone.now():
            raise serializers.ValidationError(_("This is in the future."))
        return value


class CaseCreatedSerializer(CaseSerializer):
    tracking_url = serializers.SerializerMethodField(
        help_text="The customer's tracking link. Returned once, here only: send it to them."
    )

    class Meta(CaseSerializer.Meta):
        fields = [*CaseSerializer.Meta.fields, "tracking_url"]
        read_only_fields = fields

    def get_tracking_url(self, obj: Case) -> str:
        return self.context["tracking_url"]


# An id is a whole number: without this, 6.5 or true would be read as int(6.5), int(true) and
# silently pick another department or person.
_ID = serializers.IntegerField()

_STEP_FIELD_NAMES = sorted({name for names in lifecycle.STEP_FIELDS.values() for name in names})


class CaseDataSerializer(StrictSerializerMixin, serializers.ModelSerializer):
    """A step's data. Which fields the current step accepts is the lifecycle's to say
    (``editable_fields`` on the case); any other is refused by the service."""

    version = serializers.IntegerField(
        required=False,
        min_value=1,
        help_text="The case's version as you read it: refused with 409 if someone changed the "
        "case since (or send it as If-Match).",
    )
    responsible_person = serializers.PrimaryKeyRelatedField(
        queryset=staff_who_work_cases(), required=False, allow_null=True, pk_field=_ID
    )
    department = serializers.PrimaryKeyRelatedField(
        queryset=Department.objects.all(), required=False, allow_null=True, pk_field=_ID
    )
    remedy_types = serializers.ListField(
        child=serializers.ChoiceField(choices=Remedy.choices), required=False, max_length=10
    )
    satisfaction_rating = serializers.IntegerField(
        min_value=1, max_value=5, required=False, allow_null=True
    )
    handling_rating = serializers.IntegerField(
        min_value=1, max_value=5, required=False, allow_null=True
    )

    class Meta:
        model = Case
        fields = ["version", *_STEP_FIELD_NAMES]
        extra_kwargs = {name: {"required": False} for name in _STEP_FIELD_NAMES}

    def step_data(self) -> dict:
        return {k: v for k, v in self.validated_data.items() if k in _STEP_FIELD_NAMES}


class TransitionSerializer(CaseDataSerializer):
    """``to`` the step to move to, the current step's data to record with the move, a note."""

    to = serializers.ChoiceField(choices=Step.choices)
    note = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")

    class Meta(CaseDataSerializer.Meta):
        fields = ["to", "note", *CaseDataSerializer.Meta.fields]


class AttachmentSerializer(serializers.ModelSerializer):
    url = serializers.SerializerMethodField()

    class Meta:
        model = Attachment
        fields = ["id", "name", "content_type", "size", "url"]

    def get_url(self, obj: Attachment) -> str:
        return reverse(
            "api:case-attachment",
            kwargs={"reference": self.context["reference"], "pk": obj.pk},
            request=self.context["request"],
        )


class EventSerializer(BlankKeptMixin, serializers.ModelSerializer):
    actor = PersonSerializer(read_only=True, allow_null=True)
    attachments = AttachmentSerializer(many=True, read_only=True)
    changes = serializers.DictField(
        child=serializers.ListField(allow_null=True),
        help_text='What changed, as {"field": [old, new]} in machine values.',
    )

    class Meta:
        model = CaseEvent
        fields = [
            "id",
            "at",
            "kind",
            "actor",
            "by_customer",
            "from_step",
            "to_step",
            "changes",
            "note",
            "customer_visible",
            "attachments",
        ]
        read_only_fields = fields


class MessageInputSerializer(StrictSerializerMixin, serializers.Serializer):
    body = serializers.CharField(max_length=5000, required=False, allow_blank=True, default="")
    customer_visible = serializers.BooleanField(
        default=False, help_text="True: a message shown on the customer's tracking page."
    )
    files = serializers.ListField(
        child=serializers.FileField(), required=False, default=list, max_length=10
    )


class AssignmentSerializer(StrictSerializerMixin, serializers.Serializer):
    person = serializers.PrimaryKeyRelatedField(
        queryset=staff_who_work_cases(),
        required=False,
        allow_null=True,
        default=None,
        pk_field=_ID,
    )
    department = serializers.PrimaryKeyRelatedField(
        queryset=Department.objects.all(),
        required=False,
        allow_null=True,
        default=None,
        pk_field=_ID,
    )
    note = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")
    version = serializers.IntegerField(required=False, min_value=1)


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


class TokenRequestSerializer(StrictSerializerMixin, serializers.Serializer):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(max_length=4096, style={"input_type": "password"})
    name = serializers.CharField(
        max_length=100,
        required=False,
        allow_blank=True,
        default="",
        help_text="What the token is for (shown in the admin).",
    )


class TokenSerializer(serializers.Serializer):
    token = serializers.CharField(help_text="Send as `Authorization: Bearer <token>`. Shown once.")
    name = serializers.CharField()
    created_at = serializers.DateTimeField()


# ---------------------------------------------------------------- the customer's tracking page


class TrackingStepSerializer(serializers.Serializer):
    code = serializers.ChoiceField(choices=Step.choices)
    label = serializers.CharField()
    state = serializers.ChoiceField(choices=["done", "current", "todo"])


class TrackingFileSerializer(serializers.Serializer):
    name = serializers.CharField()
    size = serializers.IntegerField()


class TrackingEventSerializer(serializers.Serializer):
    at = serializers.DateTimeField()
    who = serializers.CharField()
    what = serializers.CharField()
    message = serializers.CharField(allow_blank=True)
    files = TrackingFileSerializer(many=True)


class TrackingSerializer(serializers.Serializer):
    """Exactly what the tracking page shows (``intake.tracking.tracking_view``)."""

    reference = serializers.CharField(source="case.reference")
    step = serializers.ChoiceField(source="case.step", choices=Step.choices)
    step_label = serializers.CharField()
    step_meaning = serializers.CharField()
    steps = TrackingStepSerializer(many=True)
    promised = serializers.DateTimeField(
        allow_null=True, help_text="The next date promised to the customer, if any."
    )
    decision = serializers.ListField(child=serializers.CharField())
    plan = serializers.CharField(allow_blank=True)
    timeline = TrackingEventSerializer(many=True)
    can_write = serializers.BooleanField()


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


class TrackingLinkSerializer(serializers.Serializer):
    tracking_url = serializers.CharField(
        help_text="The new link (every earlier one stops working). Shown once."
    )
