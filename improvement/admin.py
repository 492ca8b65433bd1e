"""The admin shows the actions; they are recorded and moved on in Heed's own pages, where the
rules are enforced (``improvement.services``)."""

from django.contrib import admin

from complaints.admin import ReadOnly

from .models import Action, ActionCase, ActionEscalation, ActionEvent, Verification


class LinkInline(ReadOnly, admin.TabularInline):
    model = ActionCase
    fields = ["case", "linked_by", "linked_at"]
    readonly_fields = fields
    extra = 0


class EventInline(ReadOnly, admin.TabularInline):
    model = ActionEvent
    fields = ["at", "actor", "kind", "from_status", "to_status", "changes", "note"]
    readonly_fields = fields
    extra = 0
    ordering = ["at", "pk"]


class VerificationInline(ReadOnly, admin.StackedInline):
    model = Verification
    fields = list(Verification.EVIDENCE_FIELDS)
    readonly_fields = fields
    extra = 0


@admin.register(Action)
class ActionAdmin(ReadOnly, admin.ModelAdmin):
    list_display = ["__str__", "kind", "status", "owner", "department", "due_on", "tier"]
    list_filter = ["status", "kind", "root_cause", "department", "tier"]
    search_fields = ["title", "cause", "links__case__reference"]
    list_select_related = ["owner", "department"]
    date_hierarchy = "recorded_at"
    inlines = [LinkInline, VerificationInline, EventInline]


@admin.register(ActionEscalation)
class ActionEscalationAdmin(ReadOnly, admin.ModelAdmin):
    list_display = ["action", "round", "from_tier", "to_tier", "due_at", "at", "acknowledged_at"]
    list_filter = ["to_tier"]
    list_select_related = ["action"]
