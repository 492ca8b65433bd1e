"""The escalation app's hooks for the other apps (webhooks). Escalation imports none of them;
they connect here, as they do to ``complaints.signals``.

Sent inside the transaction that escalates the case, with the case row locked (for rows that
must commit or roll back with the escalation; a receiver that raises undoes the whole change):

- ``cases_escalated_in_transaction(escalations)``: the ``Escalation`` rows are written and their
  cases' tiers raised (``escalation.case.tier`` is the new tier; the timeline events are
  written). Sent by ``escalation.batch.Batch.flush`` for every escalation — overdue,
  dissatisfied customer, above authority, manual, referral to external review — once for a
  whole batch of the sweep (a list of many) or for one escalation (a list of one). Not sent
  for a breach that was already escalated (nothing changes then).

For the managers' escalation queue (``escalation.views.queue``; the apps that register their
own escalations in ``escalation.sources``):

- ``queue_sections(request, now)``: receivers return HTML (already rendered and escaped) to
  show on the queue page below the cases escalated to the reader, or ``None``. Sent for the
  page and for its htmx refresh alike.
- The navigation's queue count adds what other apps register as ``queue_*`` counts with
  ``complaints.navigation.counter_register``.
"""

from django.dispatch import Signal

cases_escalated_in_transaction = Signal()

queue_sections = Signal()
