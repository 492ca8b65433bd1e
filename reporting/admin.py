from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from .models import RollupState, Spike


@admin.register(Spike)
class SpikeAdmin(admin.ModelAdmin):
    """Written by the early warning only (``reporting.early_warning``); the admin shows them."""

    list_display = [
        "week",
        "dimension",
        "shown_value",
        "count",
        "baseline",
        "threshold",
        "detected_at",
        "notified_at",
        "last_error",
    ]
    list_filter = ["dimension", "week"]
    date_hierarchy = "week"

    @admin.display(description=_("value"), ordering="value")
    def shown_value(self, spike: Spike):
        return spike.value_display

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(RollupState)
class RollupStateAdmin(admin.ModelAdmin):
    """What the dashboard's daily rollup holds and since when (``reporting.rollup``): kept by
    Celery, shown so that an administrator can see it is being brought up to date."""

    list_display = ["time_zone", "definition", "built_at", "fresh_as_of"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
