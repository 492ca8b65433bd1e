from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from complaints.admin import ReadOnly

from .models import RollupState, Spike


@admin.register(Spike)
class SpikeAdmin(ReadOnly, admin.ModelAdmin):
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


@admin.register(RollupState)
class RollupStateAdmin(ReadOnly, admin.ModelAdmin):
    """What the dashboard's daily rollup holds and since when (``reporting.rollup``): kept by
    Celery, shown so that an administrator can see it is being brought up to date."""

    list_display = ["time_zone", "definition", "built_at", "fresh_as_of"]
