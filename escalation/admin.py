from django import forms
from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from complaints.admin import ReadOnly

from .models import (
    Approval,
    AuthorityLimit,
    Deadline,
    Escalation,
    ExternalReview,
    JobRun,
    Milestone,
    Notification,
    Pause,
    Policy,
    ScheduledJob,
)

POLICY_FIELDSETS = [
    (None, {"fields": ["name", "is_default", "active", "urgency", "category"]}),
    (
        _("Limits"),
        {
            "fields": [
                "clock",
                "responded_red_within",
                "responded_yellow_within",
                "responded_green_within",
                "decided_within",
                "acted_within",
                "closed_within",
            ]
        },
    ),
    (
        _("Working time"),
        {"fields": ["workday_starts", "workday_ends", "holiday_country", "time_zone"]},
    ),
    (
        _("Warnings and reminders"),
        {"fields": ["warn_at_percent", "warn_before", "renotify_every"]},
    ),
    (_("Stopping the clock"), {"fields": ["pausable_milestones"]}),
]


class PolicyForm(forms.ModelForm):
    pausable_milestones = forms.TypedMultipleChoiceField(
        label=Policy._meta.get_field("pausable_milestones").verbose_name,
        help_text=Policy._meta.get_field("pausable_milestones").help_text,
        choices=Milestone.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )

    class Meta:
        model = Policy
        fields = [f for _title, options in POLICY_FIELDSETS for f in options["fields"]]


@admin.register(Policy)
class PolicyAdmin(admin.ModelAdmin):
    form = PolicyForm
    list_display = [
        "name",
        "is_default",
        "active",
        "urgency",
        "category",
        "clock",
        "decided_within",
        "acted_within",
        "closed_within",
        "version",
    ]
    list_filter = ["active", "clock", "urgency", "category"]
    readonly_fields = ["version", "updated_at"]
    fieldsets = [
        (None, {"fields": [*POLICY_FIELDSETS[0][1]["fields"], "version"]}),
        *POLICY_FIELDSETS[1:],
    ]


@admin.register(AuthorityLimit)
class AuthorityLimitAdmin(admin.ModelAdmin):
    list_display = ["tier", "ceiling"]


class ReadOnlyAdmin(ReadOnly, admin.ModelAdmin):
    """Written by the sweep and the services only; the admin shows them."""


@admin.register(Deadline)
class DeadlineAdmin(ReadOnlyAdmin):
    list_display = ["case", "round", "milestone", "due_at", "met_at", "breached_at", "policy"]
    list_filter = ["milestone"]
    search_fields = ["case__reference"]
    list_select_related = ["case", "policy"]


@admin.register(Escalation)
class EscalationAdmin(ReadOnlyAdmin):
    list_display = ["case", "from_tier", "to_tier", "reason", "milestone", "at", "acknowledged_at"]
    list_filter = ["reason", "to_tier"]
    search_fields = ["case__reference"]
    list_select_related = ["case"]


@admin.register(Approval)
class ApprovalAdmin(ReadOnlyAdmin):
    list_display = ["case", "value", "tier", "status", "requested_by", "decided_by"]
    list_filter = ["status", "tier"]
    list_select_related = ["case", "requested_by", "decided_by"]


@admin.register(ExternalReview)
class ExternalReviewAdmin(ReadOnlyAdmin):
    list_display = ["case", "reviewer", "referred_at", "outcome_at"]
    list_select_related = ["case"]


@admin.register(Pause)
class PauseAdmin(ReadOnlyAdmin):
    list_display = ["case", "reason", "started_at", "ended_at"]
    list_select_related = ["case"]


@admin.register(Notification)
class NotificationAdmin(ReadOnlyAdmin):
    list_display = ["recipient", "kind", "case", "created_at", "sent_at", "attempts", "last_error"]
    list_filter = ["kind"]
    list_select_related = ["recipient", "case"]


@admin.register(ScheduledJob)
class ScheduledJobAdmin(admin.ModelAdmin):
    list_display = ["name", "task", "every", "enabled", "updated_at"]
    # The interval and the switch are the editors'; which task runs is the code's.
    readonly_fields = ["name", "task", "updated_at"]


@admin.register(JobRun)
class JobRunAdmin(ReadOnly, admin.ModelAdmin):
    """Each periodic job's last run, as the worker recorded it (``escalation.schedule``)."""

    list_display = ["task", "started_at", "finished_at", "seconds", "succeeded", "succeeded_at"]
