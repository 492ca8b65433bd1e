"""The handling knowledge base (受理知识库): how to handle each kind of complaint."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class KnowledgeConfig(AppConfig):
    name = "knowledge"
    verbose_name = _("Knowledge base")

    def ready(self) -> None:
        from . import receivers  # noqa: F401  (connects to complaints.signals)
