"""The core's hooks for the other apps. The core imports none of them; they connect here.

Sent once the transaction has committed (for work outside the database):

- ``case_received(case)``: a new case was logged (any channel).
- ``case_step_changed(case, event)``: a case moved between steps (includes reopening and closing).
- ``case_reopened(case, event)``: the customer was not satisfied at follow-up; the case went back.
- ``case_closed(case, event)``: follow-up done, customer satisfied.

Sent inside the transaction that changes the case, with the case row locked (for rows that must
commit or roll back with the change; a receiver that raises undoes the whole change):

- ``transition_checked(case, move, by)``: before a move is applied, with the move's data already
  on ``case``. A receiver returns a list of reasons to refuse the move (empty: no objection).
- ``case_received_in_transaction(case, event)``: the case row and its first event are written.
- ``case_step_changed_in_transaction(case, event, move)``: a move is written.
- ``customer_replied(case, event)``: the customer's own message reached the case
  (``customer_actions``: a message, an answer, a rating); a stopped clock restarts, the
  owner is told. ``case`` is the case that handles it: for a case merged into another, the
  survivor (``event`` may then be on the merged case, when its customer is not the
  survivor's).
- ``case_merge_checked(survivor, absorbed, by)``: before ``absorbed`` is merged into
  ``survivor`` (``merging.case_merge``), both rows locked. A receiver returns a list of
  reasons to refuse the merge (empty: no objection).
- ``case_event_written(event)``: any event was appended to a case's timeline (sent by
  ``CaseEvent.save``, so every service's events, whoever wrote them, and by
  ``services.cases_record`` for each event it writes in bulk; not the ``merged`` copies that
  ``merging`` writes in bulk). ``conversation`` turns the ones the customer is told of
  into notices, in the same transaction.
- ``case_merged_in_transaction(survivor, absorbed, event)``: the merge is written:
  ``absorbed.merged_into`` is the survivor, both cases have their ``merged`` event (``event``
  is the survivor's). What the absorbed case still had running (deadlines, reminders,
  approvals) must stop here: it is no longer handled on its own.

For the case page (``complaints.views.case_detail``):

- ``case_page_sections(request, case)``: receivers return HTML (already rendered and escaped)
  to show below the step panel, or ``None``.

For ``manage.py seed_demo`` (inside its transaction, once the demo cases exist):

- ``demo_seeded(users, cases)``: ``users`` maps each ``Role`` to its demo user, ``cases`` are the
  demo cases; receivers add their app's demo rows through their services (the knowledge base:
  its articles; corrective actions: some of the analysed cases').

Not a signal: a page of another app that fills in the text of a note or message (the knowledge
base's reply templates) names itself in the form's hidden ``source`` field;
``services.case_add_note(source=...)`` keeps it in the event's ``changes`` and the app labels it
on the timeline through ``selectors.EXTRA_CHANGE_LABELS``.
"""

from django.dispatch import Signal

case_received = Signal()
case_step_changed = Signal()
case_reopened = Signal()
case_closed = Signal()

transition_checked = Signal()
case_received_in_transaction = Signal()
case_step_changed_in_transaction = Signal()
customer_replied = Signal()
case_event_written = Signal()
case_merge_checked = Signal()
case_merged_in_transaction = Signal()

case_page_sections = Signal()

demo_seeded = Signal()
