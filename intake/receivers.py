"""What intake does when the core's hooks fire (``complaints.signals``): every case, from every
channel, gets its acknowledgement email; the agent's case page shows the tracking-link panel."""

from anymail import signals as anymail_signals
from django.dispatch import receiver
from django.template.loader import render_to_string
from django.utils import translation

from complaints import signals
from complaints.access import case_can_work
from complaints.models import Step

from .emails import ACKNOWLEDGEMENT, acknowledgement_context, tracking_link_email_queue
from .inbound import email_receive


@receiver(signals.case_received, dispatch_uid="intake.acknowledgement")
def _acknowledge(sender, case, **kwargs):
    if case.customer.email:
        # Sent after commit, still inside the request that logged the case: in the language
        # of the page the customer (public form) or the agent (intake) was using.
        tracking_link_email_queue(
            case=case, kind=ACKNOWLEDGEMENT, language=translation.get_language()
        )


@receiver(signals.case_page_sections, dispatch_uid="intake.tracking_link_panel")
def _tracking_link_panel(sender, request, case, **kwargs):
    if not case_can_work(user=request.user, case=case):
        return None
    context = {"case": case, "read_out": case.step in (Step.RECEIVE, Step.LISTEN)}
    if context["read_out"]:
        context.update(acknowledgement_context(case=case))
    return render_to_string("intake/partials/tracking_link_panel.html", context, request=request)


@receiver(anymail_signals.inbound, dispatch_uid="intake.email_in")
def _email_in(sender, event, esp_name, **kwargs):
    email_receive(message=event.message, message_id=event.event_id)
