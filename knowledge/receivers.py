"""What the knowledge base does when the core's hooks fire (see ``complaints.signals``): its
panel on the case page, its label for the messages written from a template, its demo data."""

from __future__ import annotations

import re

from django.dispatch import receiver
from django.template.loader import render_to_string
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from complaints import selectors as case_selectors
from complaints import signals

from . import selectors
from .access import user_can_read_articles

_SOURCE = re.compile(r"knowledge:(\d+):(\d+)")


class _SourceLabels:
    """The timeline's words for a message's ``source`` when it is one of ours (no query: the
    article's number and version are in the value)."""

    def get(self, value, default=None):
        match = _SOURCE.fullmatch(value) if isinstance(value, str) else None
        if match is None:
            return default
        return gettext("the knowledge base's article %(article)s, version %(version)s") % {
            "article": match.group(1),
            "version": match.group(2),
        }


case_selectors.EXTRA_CHANGE_LABELS["source"] = (_("written from"), _SourceLabels())


@receiver(signals.case_page_sections, dispatch_uid="knowledge.case_panel")
def _case_panel(sender, request, case, **kwargs):
    if not user_can_read_articles(request.user):
        return None
    context = selectors.case_panel(case=case, user=request.user)
    if context is None:
        return None
    return render_to_string("knowledge/partials/case_panel.html", context, request=request)


@receiver(signals.demo_seeded, dispatch_uid="knowledge.demo")
def _demo(sender, users, **kwargs):
    from complaints.roles import Role

    from .seed import demo_articles_seed

    demo_articles_seed(by=users[Role.QUALITY_MANAGER])
