"""The admin site: everything registered, events read-only."""

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin
from django.utils.translation import gettext_lazy as _

from .models import Case, CaseEvent, Customer, Department, FollowUpReview, User


class ReadOnly:
    """For rows that only Heed's services write (events, deadlines, deliveries, the reports'
    records): the admin shows them and changes nothing. Mixed into a ModelAdmin or an inline of
    any app."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(User)
class StaffAdmin(UserAdmin):
    fieldsets = (*UserAdmin.fieldsets, (_("Heed"), {"fields": ("department",)}))
    list_display = ("username", "first_name", "last_name", "department", "is_active")
    list_filter = ("groups", "department", "is_active", "is_staff")


@admin.register(Department)
class DepartmentAdmin(admin.ModelAdmin):
    list_display = ("name", "code")
    search_fields = ("name", "code")
    prepopulated_fields = {"code": ("name",)}


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    list_display = ("name", "phone", "email", "type", "created_at")
    list_filter = ("type",)
    search_fields = ("name", "phone", "email")


class CaseEventInline(admin.TabularInline):
    model = CaseEvent
    fields = ("at", "actor", "kind", "from_step", "to_step", "changes", "note", "customer_visible")
    readonly_fields = fields
    extra = 0
    can_delete = False
    ordering = ("at", "pk")

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Case)
class CaseAdmin(admin.ModelAdmin):
    """Cases are read here and worked in Heed's own pages, where the lifecycle is enforced."""

    list_display = ("reference", "customer", "step", "urgency", "category", "owner", "received_at")
    list_filter = ("step", "urgency", "channel", "category", "department", "tier")
    search_fields = ("reference", "customer__name", "customer__phone", "customer__email")
    list_select_related = ("customer", "owner")
    date_hierarchy = "received_at"
    inlines = [CaseEventInline]

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in Case._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(CaseEvent)
class CaseEventAdmin(ReadOnly, admin.ModelAdmin):
    list_display = ("case", "at", "actor", "kind", "from_step", "to_step", "customer_visible")
    list_filter = ("kind", "customer_visible")
    search_fields = ("case__reference", "note")
    list_select_related = ("case", "actor")


@admin.register(FollowUpReview)
class FollowUpReviewAdmin(ReadOnly, admin.ModelAdmin):
    """Written on the supervisor's page (/follow-ups/) and the case page, never here."""

    list_display = ("case", "closed_at", "reviewed_by", "reviewed_at")
    search_fields = ("case__reference", "comment")
    list_select_related = ("case", "reviewed_by")
    date_hierarchy = "reviewed_at"
