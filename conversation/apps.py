from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ConversationConfig(AppConfig):
    name = "conversation"
    verbose_name = _("Conversation with customers")

    def ready(self) -> None:
        from complaints import navigation
        from complaints.selectors import timeline_extras_register

        from . import receivers, selectors  # receivers connects to complaints.signals

        timeline_extras_register(receivers.timeline_notices)
        navigation.counter_register(selectors.navigation_querysets)
