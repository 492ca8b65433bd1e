"""What intake shows on the agent's case page (``complaints.signals.case_page_sections``)."""

from django.dispatch import receiver
from django.template.loader import render_to_string

from complaints import signals
from complaints.access import case_can_work


@receiver(signals.case_page_sections, dispatch_uid="intake.tracking_link_panel")
def _tracking_link_panel(sender, request, case, **kwargs):
    if not case_can_work(user=request.user, case=case):
        return None
    return render_to_string(
        "intake/partials/tracking_link_panel.html", {"case": case}, request=request
    )
