"""What the escalation engine watches besides cases: the hook through which another app (the
corrective actions of ``improvement``) puts its own due rows into the same sweep, on the same
tier ladder (``escalation.tiers``) and through the same notification outbox. Escalation
imports none of those apps; they register here when they are ready (``AppConfig.ready``).

- ``register_pass(SweepPass)``: rows the sweep reads every run after the cases' deadlines and
  reminders, in batches locked with ``FOR UPDATE SKIP LOCKED`` (so that parallel sweeps never
  take the same row), each handled in a savepoint of its own (so that one failing row holds up
  no other). The registering app keeps the once-per-breach guarantee with a unique constraint
  of its own, as ``Escalation`` does for deadlines.
- ``register_subject(NotificationSubject)``: a model whose rows a ``Notification`` may be about
  (``Notification.subject``): how its rows are loaded for sending (one query per chunk of the
  outbox) and how its email reads.

The managers' queue page shows what the registering apps render for it through
``escalation.signals.queue_sections``; their ``queue_*`` counts join the navigation's queue
count (``complaints.navigation``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.db.models import Model, QuerySet

if TYPE_CHECKING:
    from .models import Notification
    from .sweep import Planned


@dataclass(frozen=True)
class SweepPass:
    """One kind of due row the sweep handles.

    ``due(now)``: the rows due at ``now``, ordered, read through a partial index (never a scan
    of rows that are not due); ``lock_of``: the tables of that query to lock. ``handle(row,
    now)`` does the work (in a savepoint, the row locked) and says what it did; a row it leaves
    due is read again by the next batch, so it must move the row's next check on. ``postpone
    (row, now)`` runs after ``handle`` failed: the row is looked at again later instead of
    coming first in every batch. ``forecast(row, now)`` says what ``handle`` would do and
    writes nothing (``sweep(dry_run=True)``)."""

    name: str
    due: Callable[[datetime], QuerySet]
    handle: Callable[[Any, datetime], Planned | None]
    postpone: Callable[[Any, datetime], None]
    forecast: Callable[[Any, datetime], Planned | None]
    lock_of: tuple[str, ...] = ("self",)


@dataclass(frozen=True)
class NotificationSubject:
    """``queryset()``: the model's rows with what its email reads (``select_related``), used to
    load the subjects of a chunk of the outbox in one query. ``email(row)``: the subject line
    and the body of the notification ``row`` (in the deployment's language, already set)."""

    model: type[Model]
    queryset: Callable[[], QuerySet]
    email: Callable[[Notification], tuple[str, str]]


_PASSES: dict[str, SweepPass] = {}
_SUBJECTS: dict[str, NotificationSubject] = {}


def register_pass(sweep_pass: SweepPass) -> None:
    """Idempotent: registering the same name again replaces it (a reloaded app)."""
    _PASSES[sweep_pass.name] = sweep_pass


def sweep_passes() -> list[SweepPass]:
    return list(_PASSES.values())


def register_subject(subject: NotificationSubject) -> None:
    _SUBJECTS[subject.model._meta.label_lower] = subject


def notification_subject(model: type[Model]) -> NotificationSubject:
    return _SUBJECTS[model._meta.label_lower]


def notification_subjects() -> list[NotificationSubject]:
    return list(_SUBJECTS.values())
