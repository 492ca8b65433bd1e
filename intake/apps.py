from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class IntakeConfig(AppConfig):
    name = "intake"
    verbose_name = _("Intake")

    def ready(self) -> None:
        from complaints import navigation

        from . import held, receivers  # noqa: F401  (receivers: connects to complaints.signals)

        navigation.counter_register(held.navigation_querysets)
