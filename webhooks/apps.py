from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WebhooksConfig(AppConfig):
    name = "webhooks"
    verbose_name = _("Webhooks")

    def ready(self) -> None:
        # Connects to complaints.signals and escalation.signals. Listed after "escalation" in
        # INSTALLED_APPS, so its receivers run after escalation's: a case's payload already
        # carries the deadline and tier those receivers have just set.
        from . import receivers  # noqa: F401
