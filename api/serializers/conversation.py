"""What the customer is told and how they want to be told: a case's notices (sent, failed, not
sent and why) and the customer's contact preferences."""

from __future__ import annotations

from django.conf import settings
from rest_framework import serializers

from complaints.models import ContactAttempt, Customer, FollowUpReview
from conversation.models import Channel, Notice, NoticeKind

from .common import StrictSerializerMixin


class NoticeSerializer(serializers.ModelSerializer):
    case = serializers.SlugRelatedField(
        slug_field="reference",
        read_only=True,
        help_text="The customer's own case (for a case merged into this one, theirs).",
    )
    event = serializers.PrimaryKeyRelatedField(
        read_only=True, help_text="The timeline event the notice tells of."
    )
    kind = serializers.ChoiceField(choices=NoticeKind.choices, help_text="What it tells.")
    channel = serializers.ChoiceField(
        choices=[("", "none"), *Channel.choices],
        help_text="email or sms; empty when it could not be sent anywhere.",
    )
    address = serializers.CharField(
        source="address_masked", help_text="Where it went, masked (l***@example.com)."
    )
    status = serializers.ChoiceField(
        choices=Notice.Status.choices,
        help_text="pending (waiting or being retried), sent, failed (given up) or skipped "
        "(not sent: see skipped_because).",
    )
    skipped_because = serializers.ChoiceField(
        choices=[("", "not skipped"), *Notice.Skip.choices],
        help_text="no_address or essential_only; empty unless skipped.",
    )

    class Meta:
        model = Notice
        fields = [
            "id",
            "case",
            "event",
            "kind",
            "channel",
            "address",
            "language",
            "status",
            "skipped_because",
            "created_at",
            "sent_at",
            "attempts",
            "last_error",
            "subject",
            "text",
        ]
        read_only_fields = fields
        extra_kwargs = {
            "last_error": {"help_text": "Why the last attempt failed."},
            "text": {"help_text": "What was sent, with the tracking link masked."},
        }


class ContactPreferencesSerializer(StrictSerializerMixin, serializers.Serializer):
    """How the case's customer hears from us; a PATCH changes the fields it names."""

    language = serializers.ChoiceField(
        choices=settings.LANGUAGES, required=False, help_text="What notices are written in."
    )
    preferred_channel = serializers.ChoiceField(
        choices=Customer.Channel.choices,
        required=False,
        allow_blank=True,
        help_text='email or sms; "" for automatic (email if we have an address, else SMS).',
    )
    essential_only = serializers.BooleanField(
        required=False,
        help_text="Only the acknowledgement, a decision waiting for an answer, the closing and "
        "new links.",
    )

    @classmethod
    def of(cls, customer: Customer) -> dict:
        return {
            "language": customer.language,
            "preferred_channel": customer.preferred_channel,
            "essential_only": bool(customer.essential_only_since),
        }


class ContactAttemptSerializer(StrictSerializerMixin, serializers.ModelSerializer):
    """An attempt to reach the customer: how, what came of it, a note; when, if earlier."""

    by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    at = serializers.DateTimeField(
        required=False, help_text="When it happened (default: now; not in the future)."
    )

    class Meta:
        model = ContactAttempt
        fields = ["id", "at", "by", "method", "result", "note", "step"]
        read_only_fields = ["id", "by", "step"]
        extra_kwargs = {
            "method": {"help_text": "phone, sms, email, visit or letter."},
            "result": {"help_text": "reached, no_answer, left_message or wrong_number."},
            "note": {"required": False, "default": ""},
            "step": {"help_text": "The step the case was at."},
        }


class FollowUpReviewSerializer(StrictSerializerMixin, serializers.ModelSerializer):
    """A supervisor's review of how a closed case was followed up (客户服务主管审阅)."""

    reviewed_by = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = FollowUpReview
        fields = ["id", "closed_at", "reviewed_at", "reviewed_by", "comment"]
        read_only_fields = ["id", "closed_at", "reviewed_at", "reviewed_by"]
        extra_kwargs = {
            "closed_at": {
                "help_text": "Which closing it reviews (a case reopened and closed again is "
                "followed up, and reviewed, again)."
            },
            "comment": {
                "required": False,
                "default": "",
                "help_text": "For the staff; the customer never sees it.",
            },
        }
