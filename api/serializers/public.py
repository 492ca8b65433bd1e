"""What needs no staff session: signing in for a token, the customer's tracking JSON."""

from __future__ import annotations

from rest_framework import serializers

from complaints.models import Step

from .common import StrictSerializerMixin


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

    reference = serializers.CharField(
        source="complaint.reference",
        help_text="The customer's complaint. A link of a case merged into another shows the "
        "case that handles it now: its reference when it is the same customer's.",
    )
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
    delayed = serializers.BooleanField(
        help_text="A message we sent the customer about this case is late on its way (our "
        "sending is behind); what it tells is in the timeline already."
    )
    can_write = serializers.BooleanField()
    can_answer = serializers.BooleanField(
        help_text="Whether this customer answers at Confirm and rates at Follow up (not the "
        "customer of a case merged into another customer's)."
    )
    rated_waiting = serializers.BooleanField(
        help_text="The customer rated it and is satisfied while a message of theirs waited "
        "for our answer: the case closes once it is answered (they rate once)."
    )


class TrackingLinkSerializer(serializers.Serializer):
    tracking_url = serializers.CharField(
        help_text="The new link (every earlier one stops working). Shown once."
    )
