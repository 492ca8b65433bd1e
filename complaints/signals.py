"""The core's hooks for the other apps. Each is sent once the transaction has committed.

- ``case_received(case)``: a new case was logged (any channel).
- ``case_step_changed(case, event)``: a case moved between steps (includes reopening and closing).
- ``case_reopened(case, event)``: the customer was not satisfied at follow-up; the case went back.
- ``case_closed(case, event)``: follow-up done, customer satisfied.
"""

from django.dispatch import Signal

case_received = Signal()
case_step_changed = Signal()
case_reopened = Signal()
case_closed = Signal()
