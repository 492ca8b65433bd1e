"""The escalation app's hooks for the other apps (webhooks). Escalation imports none of them;
they connect here, as they do to ``complaints.signals``.

Sent inside the transaction that escalates the case, with the case row locked (for rows that
must commit or roll back with the escalation; a receiver that raises undoes the whole change):

- ``case_escalated_in_transaction(case, escalation)``: the ``Escalation`` row is written and the
  case's tier raised (its timeline event written, ``case.tier`` is the new tier). Sent by
  ``escalation.services.case_escalate`` for every escalation: overdue, dissatisfied customer,
  above authority, manual, referral to external review. Not sent when a breach that was
  already escalated is escalated again (nothing changes then).

For the managers' escalation queue (``escalation.views.queue``; the apps that register their
own escalations in ``escalation.sources``):

- ``queue_sections(request, now)``: receivers return HTML (already rendered and escaped) to
  show on the queue page below the cases escalated to the reader, or ``None``. Sent for the
  page and for its htmx refresh alike.
- The navigation's queue count adds what other apps register as ``queue_*`` counts with
  ``complaints.navigation.counter_register``.
"""

from django.dispatch import Signal

case_escalated_in_transaction = Signal()

queue_sections = Signal()
