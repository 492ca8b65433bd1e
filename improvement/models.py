"""Corrective and preventive actions (纠正和预防措施): what is done about the cause of
complaints so that it does not recur; the cases each comes from, its append-only history, its
escalations when overdue, and the evidence it was verified with."""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.db import models
from django.db.models import ExpressionWrapper, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from complaints.models import AppendOnlyModel, Case, Department, RootCause, Tier


class Kind(models.TextChoices):
    CORRECTIVE = "corrective", _("Corrective")
    PREVENTIVE = "preventive", _("Preventive")


class Status(models.TextChoices):
    OPEN = "open", _("Open")
    IN_PROGRESS = "in_progress", _("In progress")
    DONE = "done", _("Done")
    VERIFIED = "verified", _("Verified")
    CANCELLED = "cancelled", _("Cancelled")


# Not finished with: the actions list shows these by default.
OPEN_STATUSES = [Status.OPEN, Status.IN_PROGRESS, Status.DONE]
# Still to be carried out: only these can be overdue, warned about and escalated.
WORKING_STATUSES = [Status.OPEN, Status.IN_PROGRESS]


def overdue_q(now: datetime | None = None) -> Q:
    """The one rule of an overdue action: still to be carried out and past the end of its due
    date (``due_at``). The lists' filter; the lists, the action's page and the API read it as
    the ``is_overdue`` annotation (``overdue_flag``)."""
    return Q(status__in=WORKING_STATUSES, due_at__lte=now or timezone.now())


def overdue_flag() -> ExpressionWrapper:
    return ExpressionWrapper(overdue_q(), output_field=models.BooleanField())


class Action(models.Model):
    """One corrective or preventive action. Changed only through ``improvement.services``."""

    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices)
    root_cause = models.CharField(
        _("root-cause category"), max_length=20, choices=RootCause.choices
    )
    cause = models.TextField(_("the cause it addresses"), max_length=2000)
    title = models.CharField(_("what is to be done"), max_length=200)
    plan = models.TextField(_("how"), max_length=5000, blank=True)
    # A person and/or a department. Naming only a person makes their department the action's.
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=pgettext_lazy("action", "owner"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="actions_owned",
    )
    department = models.ForeignKey(
        Department,
        verbose_name=_("owner department"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="actions",
    )
    due_on = models.DateField(_("due date"))
    status = models.CharField(
        _("status"), max_length=12, choices=Status.choices, default=Status.OPEN
    )
    cases = models.ManyToManyField(
        Case, through="ActionCase", related_name="improvement_actions", verbose_name=_("cases")
    )

    # Kept by the services and the sweep (``improvement.overdue``), never by a form: the tier the
    # action has been escalated to; the round of its due date (a new due date is a new round,
    # whose breach escalates once more); the moment it is overdue (the end of the due date in
    # TIME_ZONE); the warning a day before; and when the sweep must next look at it.
    tier = models.PositiveSmallIntegerField(
        _("escalation tier"), choices=Tier.choices, default=Tier.HANDLER
    )
    round = models.PositiveSmallIntegerField(default=0, editable=False)
    due_at = models.DateTimeField(_("overdue from"), editable=False)
    warn_at = models.DateTimeField(null=True, blank=True, editable=False)
    warned_at = models.DateTimeField(null=True, blank=True, editable=False)
    breached_at = models.DateTimeField(null=True, blank=True, editable=False)
    next_check_at = models.DateTimeField(null=True, blank=True, editable=False)

    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recorded by"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    recorded_at = models.DateTimeField(_("recorded"), default=timezone.now)
    done_at = models.DateTimeField(_("done"), null=True, blank=True)
    # Whoever made the Done move: they do not verify their own work (improvement.access).
    done_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("done by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    done_note = models.TextField(_("what was done"), max_length=5000, blank=True)
    # Verified or cancelled.
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)
    cancel_reason = models.TextField(_("why it was cancelled"), max_length=2000, blank=True)
    # Bumped by every change; a write naming an older version is refused (no lost updates).
    version = models.PositiveIntegerField(default=1, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["due_on", "pk"]
        verbose_name = _("corrective or preventive action")
        verbose_name_plural = _("corrective and preventive actions")
        indexes = [
            # The sweep's one query for actions (improvement.overdue): only the rows due.
            models.Index(
                fields=["next_check_at"],
                condition=Q(next_check_at__isnull=False),
                name="action_sweep_due",
            ),
            # The actions list (open ones by default, by due date) and its filters.
            models.Index(fields=["status", "due_on"], name="action_status_due"),
            models.Index(fields=["department", "status"], name="action_department_status"),
            models.Index(fields=["owner", "status"], name="action_owner_status"),
            # The half-yearly summary: recorded, done or closed in a period.
            models.Index(fields=["recorded_at"], name="action_recorded"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(owner__isnull=False) | Q(department__isnull=False),
                name="action_has_owner",
            ),
            models.CheckConstraint(condition=Q(status__in=Status.values), name="action_status"),
            models.CheckConstraint(condition=Q(kind__in=Kind.values), name="action_kind"),
            models.CheckConstraint(
                condition=Q(tier__gte=0) & Q(tier__lte=3), name="action_tier_range"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.reference} {self.title}"

    def get_absolute_url(self) -> str:
        return reverse("improvement:action_detail", args=[self.pk])

    @property
    def reference(self) -> str:
        return f"CAPA-{self.pk:05d}"


class ActionCase(models.Model):
    """A case an action comes from. One action covers many cases; a case can have several."""

    action = models.ForeignKey(Action, on_delete=models.CASCADE, related_name="links")
    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="action_links")
    linked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    linked_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["linked_at", "pk"]
        verbose_name = _("linked case")
        verbose_name_plural = _("linked cases")
        constraints = [
            models.UniqueConstraint(fields=["action", "case"], name="action_case_once"),
        ]
        # The case page's panel: the actions of one case (the unique constraint's index leads
        # with the action).
        indexes = [models.Index(fields=["case"], name="action_case_by_case")]

    def __str__(self) -> str:
        return f"{self.action_id} ← {self.case_id}"


class ActionEvent(AppendOnlyModel):
    """One line of an action's history: who changed what, when. Append-only, like
    ``complaints.CaseEvent`` (the same guard); machine values (status codes, field names,
    references)."""

    class Kind(models.TextChoices):
        RECORDED = "recorded", _("Recorded")
        STATUS = "status", _("Status changed")
        UPDATED = "updated", _("Details updated")
        LINKED = "linked", _("Case linked")
        UNLINKED = "unlinked", _("Case unlinked")
        WARNED = "warned", _("Due date approaching")
        ESCALATED = "escalated", _("Escalated")
        ACKNOWLEDGED = "acknowledged", _("Escalation acknowledged")

    action = models.ForeignKey(Action, on_delete=models.PROTECT, related_name="events")
    at = models.DateTimeField(default=timezone.now)
    # None: Heed itself (the sweep).
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    kind = models.CharField(max_length=20, choices=Kind.choices)
    from_status = models.CharField(max_length=12, choices=Status.choices, blank=True)
    to_status = models.CharField(max_length=12, choices=Status.choices, blank=True)
    # {"field": [old, new], ...} in machine values.
    changes = models.JSONField(default=dict, blank=True)
    note = models.TextField(max_length=5000, blank=True)

    class Meta:
        ordering = ["at", "pk"]
        verbose_name = _("action event")
        verbose_name_plural = _("action events")
        indexes = [models.Index(fields=["action", "at"], name="action_event_at")]

    def __str__(self) -> str:
        return f"{self.action_id} {self.kind} {self.at:%Y-%m-%d %H:%M}"


class ActionEscalation(models.Model):
    """An overdue action handed one tier up by the sweep, on the cases' ladder (0 owner → 1
    department head → 2 quality manager → 3 general manager), reminded until acknowledged."""

    action = models.ForeignKey(Action, on_delete=models.CASCADE, related_name="escalations")
    round = models.PositiveSmallIntegerField(default=0)
    from_tier = models.PositiveSmallIntegerField(_("from tier"), choices=Tier.choices)
    to_tier = models.PositiveSmallIntegerField(_("to tier"), choices=Tier.choices)
    # The moment the action became overdue (the breach this escalation is for).
    due_at = models.DateTimeField(_("overdue from"))
    at = models.DateTimeField(_("when"), default=timezone.now)
    acknowledged_at = models.DateTimeField(_("acknowledged"), null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("acknowledged by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    # When the tier is reminded next, until someone acknowledges; null after that.
    next_notify_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-at"]
        verbose_name = _("action escalation")
        verbose_name_plural = _("action escalations")
        constraints = [
            # Each breach escalates exactly once, however many sweeps overlap or a task is
            # redelivered (as ``escalation_once_per_breach`` for a case's deadline): one row per
            # due date (round) of the action.
            models.UniqueConstraint(
                fields=["action", "round"], name="action_escalation_once_per_breach"
            ),
            models.CheckConstraint(
                condition=Q(to_tier__gte=models.F("from_tier")), name="action_escalation_goes_up"
            ),
        ]
        indexes = [
            # The sweep's reminder pass.
            models.Index(
                fields=["next_notify_at"],
                condition=Q(next_notify_at__isnull=False),
                name="action_escalation_renotify",
            ),
            # The managers' queue.
            models.Index(fields=["to_tier", "acknowledged_at"], name="action_escalation_queue"),
        ]

    def __str__(self) -> str:
        return f"{self.action_id} {self.from_tier}→{self.to_tier}"


class Verification(models.Model):
    """How a done action was verified: a note, and optionally the observation, counted by the
    database at that moment, that no new case of its root-cause category (of the same
    department or product as its cases, if asked) arrived between ``window_start`` (when the
    action was done) and ``window_end`` (the verification), at least ``window_days`` days."""

    action = models.OneToOneField(Action, on_delete=models.CASCADE, related_name="verification")
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("verified by"), on_delete=models.PROTECT
    )
    at = models.DateTimeField(_("verified"), default=timezone.now)
    note = models.TextField(_("evidence"), max_length=5000)
    window_days = models.PositiveSmallIntegerField(_("days without a new case"), null=True)
    # The window counted: from when the action was done to the verification.
    window_start = models.DateTimeField(_("counted from"), null=True, blank=True)
    window_end = models.DateTimeField(_("counted until"), null=True, blank=True)
    same_department = models.BooleanField(_("same department only"), default=False)
    same_product = models.BooleanField(_("same product only"), default=False)
    cases_found = models.PositiveIntegerField(_("new cases found"), null=True)
    # The first references found (at most 20), for the reader to look at.
    found = models.JSONField(default=list, blank=True)
    override_reason = models.TextField(_("verified anyway, because"), max_length=2000, blank=True)

    # What a reader of the verification is shown (the admin, the API).
    EVIDENCE_FIELDS = (
        "by",
        "at",
        "note",
        "window_days",
        "window_start",
        "window_end",
        "same_department",
        "same_product",
        "cases_found",
        "found",
        "override_reason",
    )

    class Meta:
        verbose_name = _("verification")
        verbose_name_plural = _("verifications")
        constraints = [
            models.CheckConstraint(
                condition=Q(window_days__isnull=True)
                | (
                    Q(window_days__gte=1)
                    & Q(cases_found__isnull=False)
                    & Q(window_start__isnull=False)
                    & Q(window_end__isnull=False)
                ),
                name="verification_window_counted",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.action_id} {self.at:%Y-%m-%d}"
