from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ImprovementConfig(AppConfig):
    name = "improvement"
    verbose_name = _("Corrective and preventive actions")

    def ready(self) -> None:
        from . import overdue, receivers  # noqa: F401  (connects to complaints.signals)

        overdue.register()  # the sweep's passes and the emails (escalation.sources)
        from complaints import navigation

        from . import selectors

        navigation.counter_register(selectors.queue_querysets)
