"""What intake does when the core's hooks fire (``complaints.signals``): the agent's case page
shows the tracking-link panel; mail in through the provider's webhook is taken in. (The
acknowledgement every case gets is a notice of ``conversation``.)"""

from anymail import signals as anymail_signals
from django.dispatch import receiver
from django.template.loader import render_to_string

from complaints import signals
from complaints.access import case_can_work
from complaints.models import Step
from conversation.selectors import acknowledgement_notice

from .inbound import email_receive
from .tracking import acknowledgement_context


@receiver(signals.case_page_sections, dispatch_uid="intake.tracking_link_panel")
def _tracking_link_panel(sender, request, case, **kwargs):
    if not case_can_work(user=request.user, case=case):
        return None
    context = {"case": case, "read_out": case.step in (Step.RECEIVE, Step.LISTEN)}
    if context["read_out"]:
        context.update(acknowledgement_context(case=case))
        context["sent"] = acknowledgement_notice(case=case)
    return render_to_string("intake/partials/tracking_link_panel.html", context, request=request)


@receiver(anymail_signals.inbound, dispatch_uid="intake.email_in")
def _email_in(sender, event, esp_name, **kwargs):
    email_receive(message=event.message, message_id=event.event_id)
