from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class EscalationConfig(AppConfig):
    name = "escalation"
    verbose_name = _("Time limits and escalation")

    def ready(self) -> None:
        # receivers: connects to complaints.signals; schedule: records the periodic jobs' runs
        # (Celery's task signals).
        from complaints import navigation

        from . import receivers, schedule, selectors  # noqa: F401

        navigation.counter_register(selectors.queue_querysets)
