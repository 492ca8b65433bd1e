"""What the improvement app does when the core's and the escalation app's hooks fire: the panel
on each case page (``complaints.signals.case_page_sections``), the escalated actions on the
managers' queue (``escalation.signals.queue_sections``), the demo data
(``complaints.signals.demo_seeded``)."""

from __future__ import annotations

from django.dispatch import receiver
from django.template.loader import render_to_string

from complaints import signals
from complaints.access import user_can_view_cases
from escalation import signals as escalation_signals
from escalation.selectors import queue_tiers

from . import demo, selectors
from .access import case_can_record_action


@receiver(signals.case_page_sections, dispatch_uid="improvement.case_panel")
def _case_panel(sender, request, case, **kwargs):
    if not user_can_view_cases(request.user):
        return None
    return render_to_string(
        "improvement/partials/case_panel.html",
        {
            "case": case,
            "actions": list(selectors.actions_of_case(user=request.user, case=case)),
            "can_record": case_can_record_action(user=request.user, case=case),
        },
        request=request,
    )


@receiver(escalation_signals.queue_sections, dispatch_uid="improvement.queue")
def _queue_section(sender, request, now, **kwargs):
    if not queue_tiers(request.user):
        return None
    return render_to_string(
        "improvement/partials/queue_section.html",
        {"escalations": list(selectors.action_escalation_queue(user=request.user)), "now": now},
        request=request,
    )


@receiver(signals.demo_seeded, dispatch_uid="improvement.demo")
def _demo(sender, users, cases=(), **kwargs):
    # Tolerant of a sender that has no demo cases (or no handler): then there is nothing to
    # record actions from.
    demo.actions_seed(users=users, cases=list(cases))
