"""Webhook subscriptions (edited by those with the model permissions; superusers by default)
and the delivery log (read-only; "retry now" sends rows again)."""

from __future__ import annotations

import json
import uuid

from django import forms
from django.contrib import admin, messages
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from complaints.admin import ReadOnly

from .models import Delivery, Event, Subscription
from .services import deliveries_retry_now, subscription_ping, subscription_secret_rotate


class SubscriptionForm(forms.ModelForm):
    events = forms.TypedMultipleChoiceField(
        label=Subscription._meta.get_field("events").verbose_name,
        help_text=Subscription._meta.get_field("events").help_text,
        choices=Event.choices,
        widget=forms.CheckboxSelectMultiple,
    )

    class Meta:
        model = Subscription
        fields = ["name", "url", "events", "is_active"]


@admin.register(Subscription)
class SubscriptionAdmin(admin.ModelAdmin):
    form = SubscriptionForm
    list_display = ["name", "url", "events_shown", "is_active", "created_at"]
    list_filter = ["is_active"]
    search_fields = ["name", "url"]
    readonly_fields = ["secret", "previous_secret_until", "created_at"]
    actions = ["rotate_secret", "send_ping"]

    def get_fieldsets(self, request, obj=None):
        fieldsets = [(None, {"fields": ["name", "url", "events", "is_active"]})]
        if obj is not None:  # the secret is made when the subscription is saved
            fieldsets.append(
                (_("Signing"), {"fields": ["secret", "previous_secret_until", "created_at"]})
            )
        return fieldsets

    @admin.display(description=_("events"))
    def events_shown(self, obj: Subscription) -> str:
        labels = dict(Event.choices)
        return ", ".join(str(labels.get(code, code)) for code in obj.events)

    @admin.action(description=_("Rotate the signing secret"), permissions=["change"])
    def rotate_secret(self, request, queryset):
        for subscription in queryset:
            subscription_secret_rotate(subscription=subscription)
        self.message_user(
            request,
            ngettext(
                "A new secret was made for %(count)d subscription; the old one keeps signing "
                "for a day. Give the receiver its new secret.",
                "New secrets were made for %(count)d subscriptions; the old ones keep signing "
                "for a day. Give each receiver its new secret.",
                len(queryset),
            )
            % {"count": len(queryset)},
            messages.SUCCESS,
        )

    @admin.action(description=_("Send a test ping"), permissions=["change"])
    def send_ping(self, request, queryset):
        for subscription in queryset:
            subscription_ping(subscription=subscription)
        self.message_user(
            request,
            ngettext(
                "A test ping was queued for %(count)d subscription; see the delivery log.",
                "Test pings were queued for %(count)d subscriptions; see the delivery log.",
                len(queryset),
            )
            % {"count": len(queryset)},
            messages.SUCCESS,
        )


@admin.register(Delivery)
class DeliveryAdmin(ReadOnly, admin.ModelAdmin):
    """The delivery log: written by the outbox and the senders only."""

    list_display = [
        "created_at",
        "event",
        "case_reference",
        "subscription",
        "status",
        "attempts",
        "last_status_code",
        "next_attempt_at",
        "delivered_at",
    ]
    list_filter = ["status", "event", "subscription"]
    search_fields = ["case__reference"]
    search_help_text = _("A case reference, or an event id (the Heed-Delivery header).")
    list_select_related = ["subscription", "case"]
    date_hierarchy = "created_at"
    fields = [
        "subscription",
        "event",
        "event_id",
        "case",
        "status",
        "attempts",
        "next_attempt_at",
        "last_status_code",
        "last_error",
        "created_at",
        "delivered_at",
        "payload_shown",
    ]
    readonly_fields = fields
    actions = ["retry_now"]

    def has_retry_permission(self, request):
        return request.user.has_perm("webhooks.change_delivery")

    def get_search_results(self, request, queryset, search_term):
        found, duplicates = super().get_search_results(request, queryset, search_term)
        try:
            event_id = uuid.UUID(search_term.strip())
        except ValueError:
            return found, duplicates
        # Within ``queryset``: the filters chosen beside the search still apply.
        return found | queryset.filter(event_id=event_id), duplicates

    @admin.display(description=_("case"), ordering="case__reference")
    def case_reference(self, obj: Delivery) -> str:
        return obj.case.reference if obj.case_id else "—"

    @admin.display(description=_("payload"))
    def payload_shown(self, obj: Delivery) -> str:
        return format_html(
            "<pre>{}</pre>", json.dumps(obj.payload, indent=2, sort_keys=True, ensure_ascii=False)
        )

    @admin.action(description=_("Retry now"), permissions=["retry"])
    def retry_now(self, request, queryset):
        count = deliveries_retry_now(deliveries=queryset)
        self.message_user(
            request,
            ngettext(
                "%(count)d delivery queued to be sent again.",
                "%(count)d deliveries queued to be sent again.",
                count,
            )
            % {"count": count},
            messages.SUCCESS,
        )
