"""Customers, departments, staff users, cases and their append-only event log."""

from __future__ import annotations

import functools
import hashlib
import uuid
from datetime import datetime

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.contrib.postgres.search import SearchVectorField
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Upper
from django.utils import timezone
from django.utils.encoding import force_str
from django.utils.translation import gettext_lazy as _


class Step(models.TextChoices):
    """The seven steps of complaint handling (投诉处理七步骤), then closed."""

    RECEIVE = "receive", _("Receive")
    LISTEN = "listen", _("Listen")
    ANALYSE = "analyse", _("Analyse")
    DECIDE = "decide", _("Decide")
    ACT = "act", _("Act")
    CONFIRM = "confirm", _("Confirm")
    FOLLOW_UP = "follow_up", _("Follow up")
    CLOSED = "closed", _("Closed")


class Channel(models.TextChoices):
    PHONE = "phone", _("Phone")
    WALK_IN = "walk_in", _("Walk-in")
    EMAIL = "email", _("Email")
    LETTER = "letter", _("Letter")
    WEB_FORM = "web_form", _("Web form")
    SOCIAL_MEDIA = "social_media", _("Social media")
    DEALER = "dealer", _("Dealer")
    SMS = "sms", _("Text message (SMS)")


class Category(models.TextChoices):
    PRODUCT_QUALITY = "product_quality", _("Product quality")
    SERVICE_ATTITUDE = "service_attitude", _("Service attitude")
    SERVICE_PROCESS = "service_process", _("Service process / delay")
    PRICE_BILLING = "price_billing", _("Price or billing")
    SAFETY = "safety", _("Safety")
    MISLEADING_PROMOTION = "misleading_promotion", _("Misleading promotion")
    CUSTOMER_MISUSE = "customer_misuse", _("Customer misuse")
    OTHER = "other", _("Other")


class Urgency(models.TextChoices):
    RED = "red", _("Red — handle immediately")
    YELLOW = "yellow", _("Yellow — within 24 hours")
    GREEN = "green", _("Green — within 48 hours")


class Validity(models.TextChoices):
    VALID = "valid", _("Valid")
    PARTLY = "partly", _("Partly valid")
    NOT_VALID = "not_valid", _("Not valid (misunderstanding)")


class RootCause(models.TextChoices):
    """Fishbone categories, plus a misunderstanding for complaints found not valid."""

    PEOPLE = "people", _("People")
    EQUIPMENT = "equipment", _("Equipment")
    PROCESS = "process", _("Process")
    ENVIRONMENT = "environment", _("Environment")
    MATERIALS = "materials", _("Materials")
    MISUNDERSTANDING = "misunderstanding", _("Misunderstanding / no fault found")


class Remedy(models.TextChoices):
    APOLOGY = "apology", _("Apology")
    EXPLANATION = "explanation", _("Explanation")
    REPAIR = "repair", _("Repair")
    REPLACEMENT = "replacement", _("Replacement")
    FULL_REFUND = "full_refund", _("Full refund")
    PARTIAL_REFUND = "partial_refund", _("Partial refund")
    COMPENSATION = "compensation", _("Compensation")
    VOUCHER = "voucher", _("Voucher or discount")
    SERVICE_EXTENSION = "service_extension", _("Free service extension")
    GIFT = "gift", _("Gift")


class Ending(models.TextChoices):
    """How a closed case ended (``Case.ending``): rated by the customer, or one of the honest
    endings when no rating can be had (``lifecycle.ENDINGS``). The reports count each apart, and
    only a rating is a satisfaction figure."""

    RATED = "rated", _("Rated by the customer")
    UNREACHABLE = "unreachable", _("Customer unreachable")
    WITHDRAWN = "withdrawn", _("Withdrawn by the customer")
    NOT_A_COMPLAINT = "not_a_complaint", _("Not a complaint (spam)")


class Tier(models.IntegerChoices):
    """Escalation tiers (升级处置): each overdue milestone moves a case one up; 4 is a
    manager's referral outside the organisation (外部评审)."""

    HANDLER = 0, _("Handler")
    DEPARTMENT_HEAD = 1, _("Department head")
    QUALITY_MANAGER = 2, _("Quality manager")
    GENERAL_MANAGER = 3, _("General manager")
    EXTERNAL_REVIEW = 4, _("External review")


@functools.cache
def _choice_labels(field: models.Field) -> dict:
    return dict(field.flatchoices)


class ChoiceLabels(models.Model):
    """``get_<field>_display`` from a dict made once per field. Django's makes every choice
    hashable again at each call, and hashing a lazily translated label translates it: a case
    list's hundred labels cost some 1,600 translations, a sixth of the page's time."""

    class Meta:
        abstract = True

    def _get_FIELD_display(self, field):
        value = getattr(self, field.attname)
        try:
            label = _choice_labels(field).get(value, value)
        except TypeError:  # a value that cannot be a key (a list): Django's own way
            return super()._get_FIELD_display(field)
        return force_str(label, strings_only=True)


class Department(models.Model):
    name = models.CharField(_("name"), max_length=100, unique=True)
    code = models.SlugField(_("code"), max_length=30, unique=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("department")
        verbose_name_plural = _("departments")

    def __str__(self) -> str:
        return self.name


class User(AbstractUser):
    """A member of staff. Roles are Django groups (see ``complaints.roles``)."""

    department = models.ForeignKey(
        Department,
        verbose_name=_("department"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="members",
    )

    class Meta(AbstractUser.Meta):
        verbose_name = _("staff user")
        verbose_name_plural = _("staff users")

    def __str__(self) -> str:
        return self.get_full_name() or self.username


class Customer(models.Model):
    class Type(models.TextChoices):
        NEW = "new", _("New")
        REGULAR = "regular", _("Regular")
        VIP = "vip", _("VIP")

    name = models.CharField(_("name"), max_length=120)
    # Phone in E.164 and email lower-cased, so intake finds an existing customer by either.
    phone = models.CharField(_("phone"), max_length=20, blank=True)
    email = models.EmailField(_("email"), blank=True)

    class Channel(models.TextChoices):
        """How the customer wants to hear from us (``conversation``)."""

        AUTOMATIC = "", _("Automatic: email if we have an address, else SMS")
        EMAIL = "email", _("Email")
        SMS = "sms", _("SMS")

    type = models.CharField(_("type"), max_length=10, choices=Type.choices, default=Type.NEW)
    # What every notice to the customer is written in and sent by (``conversation``).
    language = models.CharField(
        _("language"), max_length=10, choices=settings.LANGUAGES, default=settings.LANGUAGE_CODE
    )
    preferred_channel = models.CharField(
        _("preferred channel"), max_length=10, choices=Channel.choices, blank=True
    )
    # Set: the customer hears only what is essential (the acknowledgement, a decision waiting
    # for their agreement, the closing, their link); when and by whom it was asked.
    essential_only_since = models.DateTimeField(
        _("only essential messages since"), null=True, blank=True
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        ordering = ["name"]
        verbose_name = _("customer")
        verbose_name_plural = _("customers")
        # Lists sorted by customer read them in name order (search by name: migration 0019).
        indexes = [models.Index(fields=["name"], name="customer_name")]
        constraints = [
            models.UniqueConstraint(
                fields=["phone"], condition=~Q(phone=""), name="customer_phone_unique"
            ),
            models.UniqueConstraint(
                fields=["email"], condition=~Q(email=""), name="customer_email_unique"
            ),
            models.CheckConstraint(
                condition=~Q(phone="") | ~Q(email=""), name="customer_has_contact"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class ReferenceSequence(models.Model):
    """The running number of each month's references (C202611-00042)."""

    period = models.CharField(max_length=6, primary_key=True)  # YYYYMM
    last = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.period}: {self.last}"


def tracking_digest(token: str) -> str:
    """The only form in which a tracking token is stored and looked up."""
    return hashlib.sha256(token.encode()).hexdigest()


class Case(ChoiceLabels):
    """One complaint, from receipt to closed. Changed only through ``complaints.services``."""

    OPEN_STEPS = [s for s in Step.values if s != Step.CLOSED]

    reference = models.CharField(_("reference"), max_length=20, unique=True, editable=False)
    customer = models.ForeignKey(
        Customer, verbose_name=_("customer"), on_delete=models.PROTECT, related_name="cases"
    )
    # 1 Receive
    channel = models.CharField(_("channel"), max_length=20, choices=Channel.choices)
    category = models.CharField(_("category"), max_length=30, choices=Category.choices)
    product = models.CharField(_("product or service"), max_length=200, blank=True)
    order_number = models.CharField(_("order number"), max_length=60, blank=True)
    quantity = models.PositiveIntegerField(_("quantity"), null=True, blank=True)
    description = models.TextField(_("what happened"), max_length=5000)
    desired_outcome = models.TextField(_("what the customer wants"), max_length=2000)
    urgency = models.CharField(
        _("urgency"), max_length=10, choices=Urgency.choices, default=Urgency.GREEN
    )
    received_at = models.DateTimeField(_("received"), default=timezone.now)
    receiver = models.ForeignKey(
        User, verbose_name=_("receiver"), on_delete=models.PROTECT, related_name="cases_received"
    )
    owner = models.ForeignKey(
        User,
        verbose_name=_("owner"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="cases_owned",
    )
    # 2 Listen
    customer_account = models.TextField(
        _("the customer's account in their words"), max_length=5000, blank=True
    )
    emotion = models.CharField(_("emotion and expectation"), max_length=300, blank=True)
    understanding_confirmed = models.BooleanField(
        _("the customer confirmed we understood"), default=False
    )
    # 3 Analyse
    validity = models.CharField(_("validity"), max_length=10, choices=Validity.choices, blank=True)
    root_cause_category = models.CharField(
        _("root-cause category"), max_length=20, choices=RootCause.choices, blank=True
    )
    root_cause_analysis = models.TextField(_("root-cause analysis"), max_length=5000, blank=True)
    department = models.ForeignKey(
        Department,
        verbose_name=_("responsible department"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="cases",
    )
    responsible_person = models.ForeignKey(
        User,
        verbose_name=_("responsible person"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="cases_responsible",
    )
    # 4 Decide
    remedy_types = models.JSONField(_("remedies"), default=list, blank=True)
    remedy_value = models.DecimalField(
        _("remedy value"),
        max_digits=12,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(0)],
    )
    remedy_plan = models.TextField(_("plan"), max_length=5000, blank=True)
    remedy_approved_by = models.ForeignKey(
        User,
        verbose_name=_("approved by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    # 5 Act
    actions_taken = models.TextField(_("actions taken"), max_length=5000, blank=True)
    report = models.TextField(_("investigation report"), max_length=10000, blank=True)
    # 6 Confirm
    customer_agreed = models.BooleanField(_("the customer agreed"), null=True, blank=True)
    agreement_note = models.TextField(_("what the customer said"), max_length=2000, blank=True)
    # 7 Follow up
    follow_up_satisfied = models.BooleanField(_("satisfied"), null=True, blank=True)
    satisfaction_rating = models.PositiveSmallIntegerField(
        _("rating (1 to 5)"),
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(5)],
    )
    follow_up_comment = models.TextField(_("follow-up comment"), max_length=2000, blank=True)
    handling_rating = models.PositiveSmallIntegerField(
        _("rating of the handling (1 to 5)"),
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(5)],
    )

    step = models.CharField(_("step"), max_length=10, choices=Step.choices, default=Step.RECEIVE)
    # How it ended: set by the move that closes it, empty while open.
    ending = models.CharField(
        _("ending"), max_length=20, choices=Ending.choices, blank=True, editable=False
    )
    # Kept by the escalation app (through ``services.case_record``), never by a form: the tier
    # the case has been escalated to, and the earliest deadline of the current round that is
    # neither met nor paused (what "overdue" means, and the date the customer is promised).
    tier = models.PositiveSmallIntegerField(
        _("escalation tier"), choices=Tier.choices, default=Tier.HANDLER
    )
    due_at = models.DateTimeField(_("next deadline"), null=True, blank=True, editable=False)
    reopen_count = models.PositiveSmallIntegerField(_("times reopened"), default=0)
    # Kept by the core, never by a form: since when a message of the customer's waits for our
    # answer (a staff message to the customer answers it). Null: nothing waits. A case cannot
    # close while one does.
    awaiting_reply_since = models.DateTimeField(
        _("waiting on us since"), null=True, blank=True, editable=False
    )
    # Kept by the core (``complaints.repeats``), never by a form: the same customer's latest
    # earlier case received within the 90 days before this one (cases merged into another left
    # out). Null: not a repeat. No index of its own: reporting reads it through
    # ``case_repeat_received``, and cases are never deleted.
    repeat_of = models.ForeignKey(
        "self",
        verbose_name=_("repeat of"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="repeats",
        editable=False,
        db_index=False,
    )
    # Set by ``complaints.merging.case_merge``: this case turned out to be the same complaint as
    # ``merged_into``, which carries on with both (timelines, files, tracking links).
    merged_into = models.ForeignKey(
        "self",
        verbose_name=_("merged into"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="absorbed_cases",
        editable=False,
        db_index=False,
    )
    merged_at = models.DateTimeField(_("merged"), null=True, blank=True, editable=False)
    # Kept by the services, never by a form: the search terms of the case's own text
    # (``complaints.search``), on PostgreSQL only, indexed with GIN (migration 0019).
    search_vector = SearchVectorField(null=True, editable=False)
    # Bumped by every change; a write naming an older version is refused (no lost updates).
    version = models.PositiveIntegerField(default=1, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)

    class Meta:
        ordering = ["-received_at"]
        verbose_name = _("case")
        verbose_name_plural = _("cases")
        permissions = [
            ("work_case", _("Can work cases through the steps")),
            ("view_all_cases", _("Can see every case")),
            ("work_all_cases", _("Can work every case")),
        ]
        indexes = [
            # "My cases" and the navigation counts: open cases of an owner.
            models.Index(fields=["owner", "step"], name="case_owner_step"),
            models.Index(fields=["step", "received_at"], name="case_step_received"),
            models.Index(fields=["department", "step"], name="case_department_step"),
            # Reporting's period (every dashboard figure, the early warning's nine weeks).
            models.Index(fields=["received_at"], name="case_received"),
            # Reporting's rollup (reporting.rollup.changed_days): the cases changed lately.
            models.Index(fields=["updated_at"], name="case_updated"),
            # Reporting's repeat complainants: the same customer's cases in the 90 days before.
            models.Index(fields=["customer", "received_at"], name="case_customer_received"),
            # The supervisor's review of follow-ups: the cases closed lately.
            models.Index(fields=["closed_at"], condition=Q(step="closed"), name="case_closed"),
            # "Waiting on us": the cases with a customer message not answered yet (few rows).
            models.Index(
                fields=["awaiting_reply_since"],
                condition=Q(awaiting_reply_since__isnull=False),
                name="case_awaiting_reply",
            ),
            # Overdue counts and "sort by due": open cases past their next deadline (with the
            # step, so that a list's overdue count of open cases reads the index alone).
            models.Index(
                fields=["due_at", "step"], condition=Q(due_at__isnull=False), name="case_due_open"
            ),
            # The work lists' default order (``complaints.filters.sort_order``): the next
            # deadline first, cases without one (closed, merged) last, newest received first
            # among equals; an index scan reads a page of every case in that order.
            models.Index(fields=["due_at", "-received_at", "-id"], name="case_due_received"),
            # The lists' and the API's tier filter (tier 2 and above: a few cases of many).
            models.Index(fields=["tier"], name="case_tier"),
            # Reporting's repeat complainants from the stored flag: the repeats of a period (of
            # a department) and their customers, counted once each from the index alone
            # (merged cases, never repeats, are left out of the reports: the condition says so
            # to the planner).
            models.Index(
                fields=["received_at", "department", "customer"],
                condition=Q(repeat_of__isnull=False, merged_into__isnull=True),
                name="case_repeat_received",
            ),
            # The survivor's timeline, files and list of the cases merged into it (few rows:
            # only merged cases are indexed).
            models.Index(
                fields=["merged_into"],
                condition=Q(merged_into__isnull=False),
                name="case_merged_into",
            ),
            # Intake's hints (``complaints.repeats``): the other open complaints about the order
            # or the product the agent is typing (the product compared case-insensitively).
            models.Index(
                fields=["order_number"], condition=~Q(step="closed"), name="case_open_order"
            ),
            models.Index(Upper("product"), condition=~Q(step="closed"), name="case_open_product"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(step__in=Step.values), name="case_step_known"),
            # A closed case says how it ended; an open one has not ended.
            models.CheckConstraint(
                condition=(Q(step="closed") & ~Q(ending="")) | (~Q(step="closed") & Q(ending="")),
                name="case_ending_when_closed",
            ),
            models.CheckConstraint(
                condition=Q(tier__gte=0) & Q(tier__lte=4), name="case_tier_range"
            ),
            models.CheckConstraint(
                condition=Q(satisfaction_rating__isnull=True)
                | (Q(satisfaction_rating__gte=1) & Q(satisfaction_rating__lte=5)),
                name="case_rating_range",
            ),
            models.CheckConstraint(
                condition=Q(handling_rating__isnull=True)
                | (Q(handling_rating__gte=1) & Q(handling_rating__lte=5)),
                name="case_handling_rating_range",
            ),
            models.CheckConstraint(
                condition=~Q(merged_into=F("pk")), name="case_not_merged_into_itself"
            ),
            models.CheckConstraint(
                condition=Q(merged_into__isnull=True, merged_at__isnull=True)
                | Q(merged_into__isnull=False, merged_at__isnull=False),
                name="case_merged_at_with_merged_into",
            ),
        ]

    def __str__(self) -> str:
        return self.reference

    @property
    def is_open(self) -> bool:
        """Still being handled: not closed, and not merged into another case (which handles
        it from then on)."""
        return self.step != Step.CLOSED and self.merged_into_id is None

    def is_past_due(self, now: datetime | None = None) -> bool:
        """Open and past its next deadline (``due_at``): the one rule of "overdue" for a case,
        ``complaints.selectors.overdue_q`` in SQL (a case due this very moment is not late)."""
        return self.is_open and self.due_at is not None and self.due_at < (now or timezone.now())

    @property
    def survivor(self) -> Case:
        """The case that handles this complaint: the one it was merged into, or itself."""
        return self.merged_into if self.merged_into_id else self


def _attachments_storage():
    from django.core.files.storage import storages

    return storages["attachments"]


def _attachment_path(attachment: Attachment, filename: str) -> str:
    # A random name, grouped by case: the uploaded name is never part of a path.
    return f"{attachment.case_id}/{uuid.uuid4().hex}"


class Attachment(models.Model):
    """A file on a case, sent with a message of the customer's or of staff. Only the services
    create them (``complaints.attachments`` checks the content)."""

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="attachments")
    event = models.ForeignKey("CaseEvent", on_delete=models.PROTECT, related_name="attachments")
    file = models.FileField(storage=_attachments_storage, upload_to=_attachment_path)
    name = models.CharField(_("name"), max_length=120)
    content_type = models.CharField(max_length=60)
    size = models.PositiveIntegerField()
    uploaded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["uploaded_at", "pk"]
        verbose_name = _("attachment")
        verbose_name_plural = _("attachments")

    def __str__(self) -> str:
        return f"{self.case_id} {self.name}"


class TrackingToken(models.Model):
    """One tracking link of a case: the one the agent reads out at intake, the one in the
    acknowledgement email, one sent after the customer lost theirs. Only the token's SHA-256 is
    kept. Renewing a case's link revokes all of them."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="tracking_tokens")
    digest = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("tracking link")
        verbose_name_plural = _("tracking links")

    def __str__(self) -> str:
        return f"{self.case_id} {self.digest[:8]}…"


class AppendOnlyQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise TypeError(f"{self.model.__name__} rows are append-only.")

    def delete(self):
        raise TypeError(f"{self.model.__name__} rows are append-only.")


class AppendOnlyModel(ChoiceLabels):
    """A history row (the event log here; other apps' logs too): added, never updated or
    deleted, one by one or in bulk."""

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise TypeError(f"{type(self).__name__} rows are append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise TypeError(f"{type(self).__name__} rows are append-only.")


class CaseEvent(AppendOnlyModel):
    """One line of a case's timeline and audit trail. Append-only: never updated or deleted.

    Stores machine values (step codes, field names); templates translate them.
    """

    class Kind(models.TextChoices):
        RECEIVED = "received", _("Received")
        STEP = "step", _("Step changed")
        REOPENED = "reopened", _("Reopened")
        UPDATED = "updated", _("Details updated")
        ASSIGNED = "assigned", _("Assigned")
        NOTE = "note", _("Internal note")
        MESSAGE = "message", _("Message to the customer")
        # Written by the escalation app through ``services.case_record``.
        WARNED = "warned", _("Deadline warning")
        ESCALATED = "escalated", _("Escalated")
        ACKNOWLEDGED = "acknowledged", _("Escalation acknowledged")
        PAUSED = "paused", _("Clock stopped")
        RESUMED = "resumed", _("Clock restarted")
        APPROVAL_REQUESTED = "approval_requested", _("Approval requested")
        APPROVED = "approved", _("Remedy approved")
        DECLINED = "declined", _("Remedy declined")
        REFERRED = "referred", _("Referred to external review")
        REVIEW_OUTCOME = "review_outcome", _("External review outcome")
        LINK_RENEWED = "link_renewed", _("Tracking link renewed")
        CUSTOMER_MESSAGE = "customer_message", _("Message from the customer")
        # Someone gave the case's reference and its customer's contact at "Lost your link?"
        # (``intake``): a new link went to that contact.
        LINK_REQUESTED = "link_requested", _("Tracking link asked for again")
        # The customer changed what they hear from us (language, channel, essential only).
        PREFERENCES = "preferences", _("Contact preferences changed")
        # Staff tried to reach the customer (``ContactAttempt``): a follow-up call, a visit.
        CONTACTED = "contacted", _("Customer contacted")
        # A customer-service supervisor reviewed how the case was followed up (客户服务主管审阅).
        REVIEWED = "reviewed", _("Follow-up reviewed")
        # Written on both cases by ``complaints.merging.case_merge``.
        MERGED = "merged", _("Merged")

    # PROTECT: a case that has a history cannot be deleted, so neither can its events.
    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="events")
    at = models.DateTimeField(default=timezone.now, db_index=True)
    actor = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # The customer acted (tracking page, email); no actor and not by_customer: Heed itself.
    by_customer = models.BooleanField(default=False)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    from_step = models.CharField(max_length=10, choices=Step.choices, blank=True)
    to_step = models.CharField(max_length=10, choices=Step.choices, blank=True)
    # {"field": [old, new], ...} in machine values.
    changes = models.JSONField(default=dict, blank=True)
    note = models.TextField(max_length=5000, blank=True)
    customer_visible = models.BooleanField(default=False)

    class Meta:
        ordering = ["at", "pk"]
        verbose_name = _("case event")
        verbose_name_plural = _("case events")
        indexes = [
            models.Index(fields=["case", "at"], name="event_case_at"),
            # Reporting's time in each step (reporting.steps): the moves of each case in order,
            # read without touching notes and messages.
            models.Index(
                fields=["case", "at", "id"],
                condition=Q(kind__in=["received", "step", "reopened"]),
                name="event_moves",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.case_id} {self.kind} {self.at:%Y-%m-%d %H:%M}"

    def save(self, *args, **kwargs):
        adding = self._state.adding
        super().save(*args, **kwargs)
        if adding:
            from .signals import case_event_written

            case_event_written.send(sender=CaseEvent, event=self)


class ContactAttempt(models.Model):
    """One attempt of staff to reach the customer — a follow-up call, an SMS, a visit — with its
    result, recorded from the case page or the API (``services.case_contact_record``). Enough
    attempts that did not reach the customer at Follow up let the case close as unreachable
    (``lifecycle.ENDINGS``); one that reached them is a first response."""

    class Method(models.TextChoices):
        PHONE = "phone", _("Phone call")
        SMS = "sms", _("Text message")
        EMAIL = "email", _("Email")
        VISIT = "visit", _("Visit")
        LETTER = "letter", _("Letter")

    class Result(models.TextChoices):
        REACHED = "reached", _("Reached the customer")
        NO_ANSWER = "no_answer", _("No answer")
        LEFT_MESSAGE = "left_message", _("Left a message")
        WRONG_NUMBER = "wrong_number", _("Wrong number or address")

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="contact_attempts")
    at = models.DateTimeField(_("when"), default=timezone.now)
    by = models.ForeignKey(User, verbose_name=_("by"), on_delete=models.PROTECT, related_name="+")
    method = models.CharField(_("how"), max_length=10, choices=Method.choices)
    result = models.CharField(_("result"), max_length=15, choices=Result.choices)
    note = models.TextField(_("note"), max_length=2000, blank=True)
    # The step the case was at: attempts at Follow up are what "unreachable" counts.
    step = models.CharField(max_length=10, choices=Step.choices)

    class Meta:
        ordering = ["at", "pk"]
        verbose_name = _("contact attempt")
        verbose_name_plural = _("contact attempts")
        indexes = [models.Index(fields=["case", "step"], name="contact_case_step")]

    def __str__(self) -> str:
        return f"{self.case_id} {self.method} {self.result}"


class FollowUpReview(models.Model):
    """A customer-service supervisor's review of how a closed case was followed up (客户服务主管
    审阅): a quality manager reads a sample of the follow-ups and marks each reviewed, with a
    comment (``services.case_follow_up_review``). One per closing of the case: a case reopened
    or taken up again and closed again was followed up again, and that may be reviewed too."""

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="follow_up_reviews")
    # Which closing it reviews: ``Case.closed_at`` when it was reviewed.
    closed_at = models.DateTimeField(_("closed"))
    reviewed_by = models.ForeignKey(
        User, verbose_name=_("reviewed by"), on_delete=models.PROTECT, related_name="+"
    )
    reviewed_at = models.DateTimeField(_("reviewed"), default=timezone.now)
    comment = models.TextField(_("comment"), max_length=2000, blank=True)

    class Meta:
        verbose_name = _("follow-up review")
        verbose_name_plural = _("follow-up reviews")
        constraints = [
            models.UniqueConstraint(
                fields=["case", "closed_at"], name="follow_up_review_one_per_closing"
            )
        ]
        indexes = [
            # The supervisor's page: the reviews of lately, newest first.
            models.Index(fields=["-reviewed_at"], name="follow_up_review_latest"),
        ]

    def __str__(self) -> str:
        return f"{self.case_id} closed {self.closed_at:%Y-%m-%d %H:%M} reviewed"
