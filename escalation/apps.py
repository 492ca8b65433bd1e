from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class EscalationConfig(AppConfig):
    name = "escalation"
    verbose_name = _("Time limits and escalation")

    def ready(self) -> None:
        from . import receivers  # noqa: F401  (connects to complaints.signals)
