"""Time-limit policies, each case's deadlines, pauses, escalations, approvals, external reviews,
and the outbox of notifications they send."""

from __future__ import annotations

from datetime import time, timedelta

import holidays
from django.conf import settings
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from complaints.models import Case, Category, Step, Tier, Urgency


class Milestone(models.TextChoices):
    """The domain's 1/3/7-day limits (DOMAIN.md, "Time limits"), counted from receipt, and the
    first response: the customer hears from a person (a message from staff, or a contact that
    reached them), not only the automatic acknowledgement — the urgency grading's red at once,
    yellow within 24 hours, green within 48."""

    RESPONDED = "responded", _("First response")
    DECIDED = "decided", _("Decide finished")
    ACTED = "acted", _("Act finished")
    CLOSED = "closed", _("Closed")


# The step a case must have finished (moved beyond) to meet each milestone.
MILESTONE_STEP: dict[str, str] = {
    # Met by a message or a contact (``deadlines.deadlines_respond``), or by finishing Listen,
    # whose record is the customer confirming we understood them: someone spoke with them.
    Milestone.RESPONDED: Step.LISTEN,
    Milestone.DECIDED: Step.DECIDE,
    Milestone.ACTED: Step.ACT,
    Milestone.CLOSED: Step.FOLLOW_UP,
}


class Policy(models.Model):
    """How long a case may take to reach each milestone. The default policy applies unless one
    for the case's urgency and/or category matches (``escalation.policies.policy_for``).

    Every change to a saved policy raises its ``version``; deadlines already computed keep the
    version they came from and do not move."""

    class Clock(models.TextChoices):
        CALENDAR = "calendar", _("Calendar time")
        WORKING = "working", _("Working time")

    name = models.CharField(_("name"), max_length=100, unique=True)
    is_default = models.BooleanField(
        _("default policy"), default=False, help_text=_("Used when no other policy matches.")
    )
    active = models.BooleanField(_("active"), default=True)
    urgency = models.CharField(
        _("for urgency"),
        max_length=10,
        choices=Urgency.choices,
        blank=True,
        help_text=_("Leave empty for any urgency."),
    )
    category = models.CharField(
        _("for category"),
        max_length=30,
        choices=Category.choices,
        blank=True,
        help_text=_("Leave empty for any category."),
    )
    clock = models.CharField(
        _("counted in"), max_length=10, choices=Clock.choices, default=Clock.CALENDAR
    )
    # The first response (a message from staff to the customer, or a contact that reached
    # them) by the case's urgency: the domain's grading, red at once, yellow within 24 hours,
    # green within 48. Empty: no first-response limit for that urgency.
    responded_red_within = models.DurationField(
        _("first response within, red urgency"),
        null=True,
        blank=True,
        default=timedelta(hours=2),
        help_text=_("A message from staff to the customer, or a contact that reached them."),
    )
    responded_yellow_within = models.DurationField(
        _("first response within, yellow urgency"),
        null=True,
        blank=True,
        default=timedelta(hours=24),
    )
    responded_green_within = models.DurationField(
        _("first response within, green urgency"),
        null=True,
        blank=True,
        default=timedelta(hours=48),
    )
    decided_within = models.DurationField(
        _("Decide finished within"),
        default=timedelta(days=1),
        help_text=_("In working time, one working day is the length of the working hours."),
    )
    acted_within = models.DurationField(_("Act finished within"), default=timedelta(days=3))
    closed_within = models.DurationField(_("closed within"), default=timedelta(days=7))
    workday_starts = models.TimeField(_("working day starts"), default=time(9, 0))
    workday_ends = models.TimeField(_("working day ends"), default=time(18, 0))
    holiday_country = models.CharField(
        _("public holidays of"),
        max_length=2,
        default="CN",
        help_text=_("ISO country code; China includes its official working-day swaps."),
    )
    time_zone = models.CharField(
        _("time zone of the working hours"),
        max_length=60,
        blank=True,
        help_text=_("Leave empty for the deployment's time zone."),
    )
    warn_at_percent = models.PositiveSmallIntegerField(
        _("warn at (percent of the window)"),
        default=75,
        validators=[MinValueValidator(1), MaxValueValidator(99)],
        null=True,
        blank=True,
    )
    warn_before = models.DurationField(
        _("also warn this long before"),
        null=True,
        blank=True,
        default=timedelta(hours=2),
        help_text=_("Calendar time before the deadline; empty for no such warning."),
    )
    renotify_every = models.DurationField(
        _("remind the tier every"),
        default=timedelta(hours=4),
        validators=[MinValueValidator(timedelta(minutes=5))],
        help_text=_("Until someone of the tier acknowledges the escalation."),
    )
    pausable_milestones = models.JSONField(
        _("milestones whose clock may stop"),
        default=list,
        blank=True,
        help_text=_(
            "While waiting on the customer or a third party. Empty: the limits are absolute."
        ),
    )
    version = models.PositiveIntegerField(_("version"), default=1, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-is_default", "name"]
        verbose_name = _("time-limit policy")
        verbose_name_plural = _("time-limit policies")
        constraints = [
            models.UniqueConstraint(
                fields=["is_default"], condition=Q(is_default=True), name="policy_one_default"
            ),
            models.UniqueConstraint(
                fields=["urgency", "category"],
                condition=Q(active=True, is_default=False),
                name="policy_one_per_match",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} (v{self.version})"

    def save(self, *args, **kwargs):
        changing = not self._state.adding
        if changing:
            self.version = models.F("version") + 1
        super().save(*args, **kwargs)
        if changing:
            self.refresh_from_db(fields=["version"])

    def clean(self) -> None:
        errors = {}
        if self.is_default and (self.urgency or self.category):
            errors["is_default"] = _("The default policy applies to every urgency and category.")
        if not self.is_default and not (self.urgency or self.category):
            errors["urgency"] = _("Choose the urgency and/or category this policy is for.")
        if not (timedelta(0) < self.decided_within <= self.acted_within <= self.closed_within):
            errors["closed_within"] = _(
                "The limits must be positive and in the order Decide ≤ Act ≤ closed."
            )
        for urgency in ("red", "yellow", "green"):
            field = f"responded_{urgency}_within"
            limit = getattr(self, field)
            if limit is not None and limit <= timedelta(0):
                errors[field] = _("The first-response limit must be positive.")
        if self.renotify_every is not None and self.renotify_every < timedelta(minutes=5):
            errors["renotify_every"] = _("Remind at most every five minutes.")
        if self.clock == self.Clock.WORKING and self.workday_starts >= self.workday_ends:
            errors["workday_ends"] = _("The working day must end after it starts.")
        if self.holiday_country not in holidays.list_supported_countries():
            errors["holiday_country"] = _("No public-holiday calendar for this country code.")
        if not isinstance(self.pausable_milestones or [], list):
            self.pausable_milestones = []
        unknown = set(self.pausable_milestones or []) - set(Milestone.values)
        if unknown:
            errors["pausable_milestones"] = _("Unknown milestones: %(names)s") % {
                "names": ", ".join(sorted(unknown))
            }
        if self.time_zone:
            from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

            try:
                ZoneInfo(self.time_zone)
            except (ZoneInfoNotFoundError, ValueError):
                errors["time_zone"] = _("Unknown time zone.")
        if errors:
            raise ValidationError(errors)

    def within(self, milestone: str, urgency: str = "green") -> timedelta | None:
        """The limit of a milestone (the first response's by the case's urgency); None when the
        policy sets none."""
        if milestone == Milestone.RESPONDED:
            return getattr(self, f"responded_{urgency}_within")
        return getattr(self, f"{milestone}_within")


class Deadline(models.Model):
    """One milestone of one round of a case (round 0 from receipt, one more per reopening)."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="deadlines")
    round = models.PositiveSmallIntegerField(_("round"), default=0)
    milestone = models.CharField(_("milestone"), max_length=10, choices=Milestone.choices)
    policy = models.ForeignKey(Policy, on_delete=models.PROTECT, related_name="+")
    policy_version = models.PositiveIntegerField()
    clock = models.CharField(max_length=10, choices=Policy.Clock.choices)
    starts_at = models.DateTimeField(_("counted from"))
    due_at = models.DateTimeField(_("due"))
    warn_at = models.DateTimeField(_("warning"), null=True, blank=True)
    warn_before_at = models.DateTimeField(_("last warning"), null=True, blank=True)
    warned_at = models.DateTimeField(null=True, blank=True)
    warned_before_at = models.DateTimeField(null=True, blank=True)
    met_at = models.DateTimeField(_("met"), null=True, blank=True)
    breached_at = models.DateTimeField(_("breached"), null=True, blank=True)
    # A reopening starts a new round; what the old round had not met no longer counts.
    superseded_at = models.DateTimeField(null=True, blank=True)
    pausable = models.BooleanField(default=False)
    paused_since = models.DateTimeField(null=True, blank=True)
    paused_total = models.DurationField(_("time paused"), default=timedelta)
    # When the sweep must next look at this row (the earliest warning or the due time still to
    # come); null once there is nothing left to do. The sweep's one query reads this, through
    # the partial index below, so it never scans open cases that are not due.
    next_check_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["round", "due_at"]
        verbose_name = _("deadline")
        verbose_name_plural = _("deadlines")
        constraints = [
            models.UniqueConstraint(
                fields=["case", "round", "milestone"], name="deadline_one_per_milestone"
            ),
        ]
        indexes = [
            models.Index(
                fields=["next_check_at"],
                condition=Q(next_check_at__isnull=False),
                name="deadline_sweep_due",
            ),
            # The queues' "at risk" lists: unmet deadlines by due time.
            models.Index(
                fields=["due_at"],
                condition=Q(met_at__isnull=True, superseded_at__isnull=True),
                name="deadline_unmet_due",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.case_id} {self.milestone} r{self.round} due {self.due_at:%Y-%m-%d %H:%M}"

    @property
    def is_open(self) -> bool:
        return self.met_at is None and self.superseded_at is None

    @property
    def met_in_time(self) -> bool | None:
        if self.met_at is None:
            return None
        return self.met_at <= self.due_at


class Pause(models.Model):
    """The clock stopped while waiting on the customer or a third party."""

    class Reason(models.TextChoices):
        CUSTOMER = "customer", _("Waiting for the customer")
        THIRD_PARTY = "third_party", _("Waiting for a third party")

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="pauses")
    reason = models.CharField(_("reason"), max_length=20, choices=Reason.choices)
    note = models.CharField(_("note"), max_length=500, blank=True)
    started_at = models.DateTimeField(default=timezone.now)
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    ended_at = models.DateTimeField(null=True, blank=True)
    ended_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["-started_at"]
        verbose_name = _("clock stop")
        verbose_name_plural = _("clock stops")
        constraints = [
            models.UniqueConstraint(
                fields=["case"], condition=Q(ended_at__isnull=True), name="pause_one_running"
            )
        ]

    def __str__(self) -> str:
        return f"{self.case_id} {self.reason} {self.started_at:%Y-%m-%d %H:%M}"


class Escalation(models.Model):
    """A case handed to a higher tier, and why."""

    class Reason(models.TextChoices):
        OVERDUE = "overdue", _("Overdue")
        DISSATISFIED = "dissatisfied", _("Customer dissatisfied")
        AUTHORITY = "authority", _("Above authority")
        MANUAL = "manual", _("Manual")

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="escalations")
    deadline = models.ForeignKey(
        Deadline, null=True, blank=True, on_delete=models.CASCADE, related_name="escalations"
    )
    milestone = models.CharField(
        _("milestone"), max_length=10, choices=Milestone.choices, blank=True
    )
    round = models.PositiveSmallIntegerField(default=0)
    from_tier = models.PositiveSmallIntegerField(_("from tier"), choices=Tier.choices)
    to_tier = models.PositiveSmallIntegerField(_("to tier"), choices=Tier.choices)
    reason = models.CharField(_("reason"), max_length=20, choices=Reason.choices)
    note = models.TextField(_("note"), max_length=2000, blank=True)
    at = models.DateTimeField(_("when"), default=timezone.now)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    previous_owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
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
        verbose_name = _("escalation")
        verbose_name_plural = _("escalations")
        constraints = [
            # Each breach escalates exactly once, however many sweeps overlap or a task is
            # redelivered: the second insert fails and its transaction changes nothing.
            models.UniqueConstraint(
                fields=["deadline"],
                condition=Q(reason="overdue"),
                name="escalation_once_per_breach",
            ),
            models.UniqueConstraint(
                fields=["case", "round"],
                condition=Q(reason="dissatisfied"),
                name="escalation_once_per_reopening",
            ),
            models.CheckConstraint(
                condition=Q(to_tier__gte=models.F("from_tier")), name="escalation_goes_up"
            ),
        ]
        indexes = [
            models.Index(
                fields=["next_notify_at"],
                condition=Q(next_notify_at__isnull=False),
                name="escalation_renotify_due",
            ),
            models.Index(fields=["to_tier", "acknowledged_at"], name="escalation_queue"),
        ]

    def __str__(self) -> str:
        return f"{self.case_id} {self.from_tier}→{self.to_tier} {self.reason}"


class AuthorityLimit(models.Model):
    """The highest remedy value each tier may decide on its own (处置权限)."""

    tier = models.PositiveSmallIntegerField(_("tier"), choices=Tier.choices[:4], unique=True)
    ceiling = models.DecimalField(
        _("highest remedy value"),
        max_digits=12,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(0)],
        help_text=_("Empty: no limit."),
    )

    class Meta:
        ordering = ["tier"]
        verbose_name = _("authority limit")
        verbose_name_plural = _("authority limits")

    def __str__(self) -> str:
        return f"{Tier(self.tier).label}: {self.ceiling if self.ceiling is not None else '∞'}"


class Approval(models.Model):
    """A remedy above the decider's authority, waiting for (or given) a higher tier's approval."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting")
        APPROVED = "approved", _("Approved")
        DECLINED = "declined", _("Declined")
        # The case left Decide (or was reopened) before anyone decided.
        WITHDRAWN = "withdrawn", _("Withdrawn")

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="approvals")
    round = models.PositiveSmallIntegerField(default=0)
    value = models.DecimalField(_("remedy value"), max_digits=12, decimal_places=2)
    remedy_types = models.JSONField(default=list)
    tier = models.PositiveSmallIntegerField(_("needs tier"), choices=Tier.choices)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.PENDING
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    requested_at = models.DateTimeField(default=timezone.now)
    note = models.CharField(_("note"), max_length=1000, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.CharField(_("reason"), max_length=1000, blank=True)

    class Meta:
        ordering = ["-requested_at"]
        verbose_name = _("approval")
        verbose_name_plural = _("approvals")
        constraints = [
            models.UniqueConstraint(
                fields=["case"], condition=Q(status="pending"), name="approval_one_pending"
            )
        ]
        indexes = [models.Index(fields=["tier", "status"], name="approval_queue")]

    def __str__(self) -> str:
        return f"{self.case_id} {self.value} {self.status}"


class ExternalReview(models.Model):
    """Tier 4: a manager referred the case to a neutral body (外部评审)."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="external_reviews")
    reviewer = models.CharField(_("referred to"), max_length=200)
    reason = models.TextField(_("why"), max_length=2000)
    referred_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    referred_at = models.DateTimeField(default=timezone.now)
    outcome = models.TextField(_("outcome"), max_length=5000, blank=True)
    outcome_at = models.DateTimeField(null=True, blank=True)
    outcome_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["-referred_at"]
        verbose_name = _("external review")
        verbose_name_plural = _("external reviews")
        constraints = [
            models.UniqueConstraint(
                fields=["case"], condition=Q(outcome_at__isnull=True), name="review_one_open"
            )
        ]

    def __str__(self) -> str:
        return f"{self.case_id} → {self.reviewer}"


class Notification(models.Model):
    """The outbox: an email to one person, written in the transaction that caused it and sent
    after commit by a task, or by the next sweep if the broker or mail server was down.

    About a case (``case``), or about something else the engine escalates (``subject``: a
    corrective action of ``improvement``, whose app renders the email, see
    ``escalation.sources``)."""

    class Kind(models.TextChoices):
        WARNING = "warning", _("Deadline approaching")
        ESCALATED = "escalated", _("Escalated")
        REMINDER = "reminder", _("Escalation not yet acknowledged")
        APPROVAL = "approval", _("Approval requested")
        APPROVAL_DECIDED = "approval_decided", _("Approval decided")
        CUSTOMER = "customer", _("Message from the customer")

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    kind = models.CharField(max_length=20, choices=Kind.choices)
    case = models.ForeignKey(
        Case, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    # A generic relation, so that this app imports none of the apps that plug into it.
    subject_type = models.ForeignKey(
        ContentType, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    subject_id = models.PositiveBigIntegerField(null=True, blank=True)
    subject = GenericForeignKey("subject_type", "subject_id")
    deadline = models.ForeignKey(Deadline, null=True, blank=True, on_delete=models.CASCADE)
    escalation = models.ForeignKey(Escalation, null=True, blank=True, on_delete=models.CASCADE)
    approval = models.ForeignKey(Approval, null=True, blank=True, on_delete=models.CASCADE)
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.CharField(max_length=500, blank=True)
    # Null once sent or given up; the partial index below lets the sweep find what is due.
    next_attempt_at = models.DateTimeField(null=True, blank=True, default=timezone.now)

    class Meta:
        ordering = ["created_at"]
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(next_attempt_at__isnull=False),
                name="notification_unsent",
            )
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(case__isnull=False)
                | Q(subject_type__isnull=False, subject_id__isnull=False),
                name="notification_about_something",
            )
        ]

    def __str__(self) -> str:
        about = self.case_id if self.case_id else f"{self.subject_type_id}:{self.subject_id}"
        return f"{self.kind} to {self.recipient_id} about {about}"


class ScheduledJob(models.Model):
    """A periodic Celery job whose schedule managers may change in the admin (beat reads these
    rows every 30 seconds: ``escalation.schedule.DatabaseScheduler``). The jobs and their
    default intervals are ``CELERY_BEAT_SCHEDULE`` in the settings; a row overrides one by name.
    (django-celery-beat would do this, but its releases do not support Django 6.1 yet.)"""

    name = models.SlugField(_("name"), max_length=100, unique=True)
    task = models.CharField(_("task"), max_length=200)
    every = models.DurationField(
        _("every"),
        null=True,
        blank=True,
        validators=[MinValueValidator(timedelta(seconds=1))],
        help_text=_("Empty: the deployment's default interval."),
    )
    enabled = models.BooleanField(_("enabled"), default=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("scheduled job")
        verbose_name_plural = _("scheduled jobs")

    def __str__(self) -> str:
        return self.name


class JobRun(models.Model):
    """The last run of each periodic job (a Celery task in ``CELERY_BEAT_SCHEDULE``), recorded by
    the worker (``escalation.schedule``, Celery's task signals): ``/readyz`` reads whether the
    sweep finished lately, ``/metrics`` how long it took. One row per task, overwritten."""

    task = models.CharField(_("task"), max_length=200, unique=True)
    started_at = models.DateTimeField(_("started"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    seconds = models.FloatField(_("seconds"), null=True, blank=True)
    succeeded = models.BooleanField(_("succeeded"), default=False)
    # The last one that finished without error (what the readiness check reads).
    succeeded_at = models.DateTimeField(_("last succeeded"), null=True, blank=True)
    error = models.CharField(_("error"), max_length=500, blank=True)

    class Meta:
        ordering = ["task"]
        verbose_name = _("job run")
        verbose_name_plural = _("job runs")

    def __str__(self) -> str:
        return self.task
