"""Cases, customers, the timeline and messages as the API reads and writes them."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
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
    Ending,
    Remedy,
    Step,
    Urgency,
)
from complaints.services import SOURCE_PATTERN

from .common import BlankKeptMixin, DepartmentSerializer, PersonSerializer, StrictSerializerMixin

# How a case ended ("" while open), and the endings a transition may close a case by ("": a
# move of the lifecycle, not an ending).
CASE_ENDINGS = [("", "open"), *Ending.choices]
CLOSING_ENDINGS = [("", "none"), *[(v, label) for v, label in Ending.choices if v != Ending.RATED]]


class CustomerSerializer(BlankKeptMixin, serializers.ModelSerializer):
    class Meta:
        model = Customer
        fields = [
            "id",
            "name",
            "phone",
            "email",
            "type",
            "language",
            "preferred_channel",
            "essential_only",
            "created_at",
        ]
        read_only_fields = fields

    essential_only = serializers.SerializerMethodField(
        help_text="The customer asked for essential messages only."
    )

    def get_essential_only(self, obj: Customer) -> bool:
        return obj.essential_only_since is not None


class CustomerInputSerializer(StrictSerializerMixin, serializers.Serializer):
    """Find the customer by phone or email, or add them (as the New complaint screen does)."""

    name = serializers.CharField(max_length=120, required=False, allow_blank=True, default="")
    phone = serializers.CharField(max_length=40, required=False, allow_blank=True, default="")
    email = serializers.CharField(max_length=254, required=False, allow_blank=True, default="")
    type = serializers.ChoiceField(choices=Customer.Type.choices, required=False)
    language = serializers.ChoiceField(
        choices=settings.LANGUAGES,
        required=False,
        help_text="What the customer's notices are written in. Not given: an existing "
        "customer's is kept, a new customer's is the language the complaint is written in.",
    )
    preferred_channel = serializers.ChoiceField(
        choices=Customer.Channel.choices,
        required=False,
        allow_blank=True,
        help_text='email or sms; "" for automatic (email if we have an address, else SMS).',
    )


class CaseSummarySerializer(BlankKeptMixin, serializers.ModelSerializer):
    """A case in a list: what a queue or a CRM shows, in a fixed number of queries."""

    customer = serializers.SerializerMethodField()
    owner = PersonSerializer(read_only=True, allow_null=True)
    department = DepartmentSerializer(read_only=True, allow_null=True)
    overdue = serializers.SerializerMethodField()
    url = serializers.SerializerMethodField()
    repeat_of = serializers.SlugRelatedField(
        slug_field="reference",
        read_only=True,
        allow_null=True,
        help_text="A repeat complaint: the same customer's latest earlier case received within "
        "the 90 days before this one (cases merged into another left out); null if none.",
    )
    merged_into = serializers.SlugRelatedField(
        slug_field="reference",
        read_only=True,
        allow_null=True,
        help_text="The case this one was merged into, which handles it now; null if none.",
    )
    ending = serializers.ChoiceField(
        choices=CASE_ENDINGS,
        read_only=True,
        help_text='How a closed case ended: "rated" by the customer, or closed without a '
        'rating ("unreachable", "withdrawn", "not_a_complaint"); "" while it is open.',
    )

    class Meta:
        model = Case
        fields = [
            "reference",
            "url",
            "step",
            "ending",
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
            "awaiting_reply_since",
            "repeat_of",
            "merged_into",
            "version",
        ]
        read_only_fields = fields
        extra_kwargs = {
            "awaiting_reply_since": {
                "help_text": "Waiting on us: since when a message of the customer's has no "
                "answer (a message to the customer answers it; the case cannot close before). "
                "Null: nothing waits. Filter with ?waiting=true."
            }
        }

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
        return obj.is_past_due()

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
    merged_cases = serializers.SerializerMethodField(
        help_text="The references of the cases merged into this one (their events, messages and "
        "files are this case's now)."
    )

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
            "merged_cases",
        ]
        read_only_fields = fields

    def get_merged_cases(self, obj: Case) -> list[str]:
        if "merged_cases" in self.context:  # known to the caller: a case just received has none
            return self.context["merged_cases"]
        return list(
            obj.absorbed_cases.order_by("received_at", "pk").values_list("reference", flat=True)
        )

    def get_editable_fields(self, obj: Case) -> list[str]:
        return list(lifecycle.STEP_FIELDS[obj.step])

    @extend_schema_field(MoveSerializer(many=True))
    def get_moves(self, obj: Case) -> list[dict]:
        return [
            {"to": m.target, "label": str(m.label), "kind": m.kind}
            for m in lifecycle.moves_from(obj.step)
        ]


# How long ago a complaint logged through the API may have arrived.
BACKDATE_DAYS = 30


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
        help_text="When the complaint arrived (a call or letter logged later, at most "
        f"{BACKDATE_DAYS} days ago); now if not given.",
    )

    def validate_received_at(self, value):
        now = timezone.now()
        if value is not None and value > now:
            raise serializers.ValidationError(_("This is in the future."))
        if value is not None and value < now - timedelta(days=BACKDATE_DAYS):
            # Its deadlines would all be long breached the moment it is logged.
            raise serializers.ValidationError(
                _("A complaint is logged within %(days)d days of its arrival.")
                % {"days": BACKDATE_DAYS}
            )
        return value


class RelatedCaseSerializer(serializers.Serializer):
    """An open case related to another: the same customer's, or about the same order or
    product (``complaints.repeats``)."""

    reference = serializers.CharField(source="case.reference")
    url = serializers.SerializerMethodField()
    step = serializers.ChoiceField(source="case.step", choices=Step.choices)
    category = serializers.ChoiceField(source="case.category", choices=Category.choices)
    received_at = serializers.DateTimeField(source="case.received_at")
    same_customer = serializers.BooleanField()
    same_order = serializers.BooleanField()
    same_product = serializers.BooleanField()

    def get_url(self, obj) -> str:
        return reverse(
            "api:case-detail",
            kwargs={"reference": obj.case.reference},
            request=self.context["request"],
        )


class CaseCreatedSerializer(CaseSerializer):
    tracking_url = serializers.SerializerMethodField(
        help_text="The customer's tracking link. Returned once, here only: send it to them."
    )
    related_open_cases = serializers.SerializerMethodField(
        help_text="What the agent is told at intake: the customer's other open cases and other "
        "open complaints about the same order number or product (at most ten)."
    )

    class Meta(CaseSerializer.Meta):
        fields = [*CaseSerializer.Meta.fields, "tracking_url", "related_open_cases"]
        read_only_fields = fields

    def get_tracking_url(self, obj: Case) -> str:
        return self.context["tracking_url"]

    @extend_schema_field(RelatedCaseSerializer(many=True))
    def get_related_open_cases(self, obj: Case) -> list[dict]:
        return RelatedCaseSerializer(self.context["related"], many=True, context=self.context).data


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
        "case since. Required, unless sent as If-Match (428 without either).",
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
    """``to`` the step to move to, the current step's data to record with the move, a note;
    with ``ending``, ``to`` is "closed" and the case closes without the customer's rating."""

    to = serializers.ChoiceField(choices=Step.choices)
    note = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")
    ending = serializers.ChoiceField(
        choices=CLOSING_ENDINGS,
        required=False,
        default="",
        help_text="Close without the customer's rating (with to=closed and a note saying why): "
        "unreachable (at Follow up, after the attempts the deployment asks for, recorded with "
        "POST contacts/), withdrawn (any open step), not_a_complaint (Receive or Listen; a "
        "department head or above). Refused with 409 and the reasons otherwise.",
    )

    class Meta(CaseDataSerializer.Meta):
        fields = ["to", "note", "ending", *CaseDataSerializer.Meta.fields]


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
    case = serializers.SlugRelatedField(
        slug_field="reference",
        read_only=True,
        help_text="The case the event was written on: this one, or a case merged into it.",
    )
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
            "case",
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
    source = serializers.RegexField(
        SOURCE_PATTERN.pattern,
        max_length=100,
        required=False,
        allow_blank=True,
        default="",
        help_text="Where the text came from, e.g. a knowledge-base reply template's `source` "
        "(GET /cases/{reference}/articles/{id}/template/); its timeline entry names it.",
    )


class MergeInputSerializer(StrictSerializerMixin, serializers.Serializer):
    into = serializers.CharField(
        max_length=20,
        help_text="The reference of the case that carries on: the one received first.",
    )
    note = serializers.CharField(max_length=2000, help_text="Why they are the same complaint.")
    version = serializers.IntegerField(
        required=False,
        min_value=1,
        help_text="This case's version as you read it: required, unless sent as If-Match (428 "
        "without either); 409 if it changed.",
    )
    into_version = serializers.IntegerField(
        required=False,
        min_value=1,
        help_text="The other case's version as you read it: refused with 409 if it changed.",
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
    version = serializers.IntegerField(
        required=False,
        min_value=1,
        help_text="The case's version as you read it: required, unless sent as If-Match (428 "
        "without either); 409 if it changed.",
    )
