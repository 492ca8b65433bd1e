"""The customer's tracking link: checking a token, the cookie it is exchanged for, and what the
tracking page says in the customer's words (never staff jargon, never internal notes).

A token is 256 bits from ``secrets`` (43 URL-safe characters); only its SHA-256 is stored, and a
token is looked up by that digest alone. A malformed token is refused before any lookup;
unknown, renewed (old) and expired tokens get the same answer as malformed ones. The first visit
trades the token for a signed cookie scoped to ``/t/`` and redirects, so the token leaves the
address bar (and the browser's history, and any Referer).

A link of a case merged into another opens the survivor, which handles the complaint now
(``complaints.merging``): it lives as long as the survivor's links do. Its customer sees the
survivor's progress; when the survivor is another customer's, nothing of theirs — not their
complaint's words, messages, decision or plan — only the steps and what was said to and by
the customer of the link."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core import signing
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from complaints.customer_actions import case_takes_customer_messages
from complaints.errors import CaseError
from complaints.models import (
    Attachment,
    Case,
    CaseEvent,
    Ending,
    Remedy,
    Step,
    TrackingToken,
    User,
    tracking_digest,
)
from complaints.roles import Role, role_names
from complaints.selectors import case_events
from complaints.services import email_normalize, phone_normalize
from conversation.models import Notice, late_q
from escalation.models import Deadline, Milestone

TOKEN_PATTERN = re.compile(r"[A-Za-z0-9_-]{43}")
COOKIE_NAME = "heed_tracking"
COOKIE_PATH = "/t/"
COOKIE_MAX_AGE = 60 * 60 * 24 * 30  # a month; the link itself can always be used again
_SALT = "heed.tracking"


def token_wellformed(token: str) -> bool:
    return bool(TOKEN_PATTERN.fullmatch(token or ""))


def token_from_path(path: str) -> str:
    """The token of /t/<token>, forgiving the one slash a mail client may add at the end."""
    return path[:-1] if path.endswith("/") else path


def _expired(case: Case, now: datetime) -> bool:
    """A link expires some days after the complaint is closed: the survivor's closing, for a
    case merged into another."""
    closed_at = case.survivor.closed_at
    if closed_at is None:
        return False
    return now > closed_at + timedelta(days=settings.TRACKING_LINK_DAYS_AFTER_CLOSE)


def _by_digest(digest: str, now: datetime | None = None) -> Case | None:
    """The case of the link (not the survivor: the link's customer is that case's)."""
    link = (
        TrackingToken.objects.select_related("case__customer", "case__merged_into__customer")
        .filter(digest=digest, revoked_at__isnull=True)
        .first()
    )
    if link is None or _expired(link.case, now or timezone.now()):
        return None
    return link.case


def case_for_token(token: str) -> Case | None:
    """The case a tracking token opens, or None (malformed, unknown, renewed or expired)."""
    if not token_wellformed(token):
        return None
    return _by_digest(tracking_digest(token))


def cookie_value(token: str) -> str:
    """The cookie a good token is traded for: the token's digest, signed (so it cannot be
    made up), never the token itself. Revoking the link revokes the cookie."""
    return signing.dumps(tracking_digest(token), salt=_SALT)


def case_for_cookie(value: str | None) -> Case | None:
    """The case of a tracking cookie; None if it is missing, forged, too old, or the case's
    link has since been renewed or has expired."""
    if not value:
        return None
    try:
        digest = signing.loads(value, salt=_SALT, max_age=COOKIE_MAX_AGE)
    except signing.BadSignature:
        return None
    return _by_digest(digest) if isinstance(digest, str) else None


def attachment_for_customer(*, case: Case, pk: int) -> Attachment | None:
    """A file the customer of the link's case may download: sent with something they see."""
    if not isinstance(pk, int):
        return None
    return Attachment.objects.filter(
        pk=pk, event__in=_visible_events(shown=case.survivor, viewer=case)
    ).first()


def case_for_lost_link(*, reference: str, contact: str) -> Case | None:
    """The case whose reference this is, if the email or phone given is the customer's, and its
    link has not expired; else None (and nothing says which part did not match)."""
    contact = contact.strip()
    try:
        if "@" in contact:
            match = {"customer__email": email_normalize(contact)}
        else:
            match = {"customer__phone": phone_normalize(contact)}
    except CaseError:
        return None
    case = (
        Case.objects.select_related("customer", "merged_into")
        .filter(reference=reference, **match)
        .first()
    )
    if case is None or _expired(case, timezone.now()):
        return None
    return case


def acknowledgement_context(*, case: Case) -> dict:
    """What the acknowledgement says where it is read out (the agent's panel, the public form's
    thank-you page): the reference, what happens next and by when, from the case's deadlines.
    (The acknowledgement the customer is sent: ``conversation``.)"""
    due = {
        d.milestone: d.due_at
        for d in Deadline.objects.filter(case=case, round=case.reopen_count, superseded_at=None)
    }
    return {
        "case": case,
        "plan_by": due.get(Milestone.DECIDED),
        "handled_by": due.get(Milestone.CLOSED),
    }


# ---------------------------------------------------------------- the customer's words

CUSTOMER_STEPS: dict[str, tuple] = {
    Step.RECEIVE: (
        pgettext_lazy("tracking step", "Received"),
        _("We have your complaint and its reference number."),
    ),
    Step.LISTEN: (
        _("Listening"),
        _("We are making sure we understand what happened and what you would like."),
    ),
    Step.ANALYSE: (_("Looking into it"), _("We are checking the facts and finding the cause.")),
    Step.DECIDE: (_("Deciding"), _("We are deciding how to put things right.")),
    Step.ACT: (_("Putting it right"), _("We are carrying out what we decided.")),
    Step.CONFIRM: (
        _("Your agreement"),
        _("We are explaining our decision to you and asking whether you agree."),
    ),
    Step.FOLLOW_UP: (
        _("Checking with you"),
        _("We will ask you whether you are satisfied with how it was handled."),
    ),
    Step.CLOSED: (_("Closed"), _("Your complaint has been handled. Thank you for telling us.")),
}

# What a case closed without the customer's rating says to them.
ENDED = {
    Ending.UNREACHABLE: _(
        "We tried to reach you to check you are satisfied, and could not, so we closed your "
        "complaint. Write to us here and we will take it up again."
    ),
    Ending.WITHDRAWN: _(
        "You withdrew your complaint, so we closed it. Write to us here if you want us to take "
        "it up again."
    ),
    Ending.NOT_A_COMPLAINT: _("We did not record this as a complaint."),
}

_ROLE_ORDER = [
    Role.GENERAL_MANAGER,
    Role.QUALITY_MANAGER,
    Role.DEPARTMENT_HEAD,
    Role.HANDLER,
    Role.AGENT,
]


def staff_shown(user: User | None) -> str:
    """A member of staff as the customer sees them: first name and role, nothing more."""
    if user is None:
        return str(_("Customer service"))
    names = role_names(user)
    role = next((r for r in _ROLE_ORDER if str(r) in names), None)
    first = user.first_name or str(_("Our team"))
    return f"{first} ({role.label})" if role else first


@dataclass(frozen=True)
class TrackingStep:
    code: str
    label: str
    state: str  # done | current | todo


@dataclass(frozen=True)
class TrackingEvent:
    at: datetime
    who: str
    what: str
    message: str
    files: list


def _event_text(event: CaseEvent) -> str:
    if event.kind == CaseEvent.Kind.RECEIVED:
        if event.by_customer:
            return str(_("You sent us your complaint."))
        return str(_("We received your complaint."))
    if event.kind == CaseEvent.Kind.REOPENED:
        return str(_("You were not satisfied, so we are looking at your complaint again."))
    if event.kind == CaseEvent.Kind.STEP:
        return str(_("Now: %(step)s") % {"step": CUSTOMER_STEPS[event.to_step][0]})
    if event.kind == CaseEvent.Kind.MESSAGE:
        return str(_("A message for you"))
    if event.kind == CaseEvent.Kind.UPDATED and event.by_customer:
        return str(_("You rated how we handled it and told us you are satisfied."))
    if event.kind == CaseEvent.Kind.CUSTOMER_MESSAGE:
        return str(_("Your message"))
    if event.kind == CaseEvent.Kind.PAUSED:
        return str(_("We are waiting for information before we go on."))
    if event.kind == CaseEvent.Kind.RESUMED:
        return str(_("We are going on with your complaint."))
    if event.kind == CaseEvent.Kind.MERGED and "merged_into" in event.changes:
        return str(
            _(
                "Your complaint %(reference)s is about the same matter as another one: we "
                "handle them together, and you follow them here."
            )
            % {"reference": event.case.reference}
        )
    if event.kind == CaseEvent.Kind.MERGED:
        return str(_("Another complaint about the same matter was joined with yours."))
    return ""


_MESSAGES = {CaseEvent.Kind.MESSAGE, CaseEvent.Kind.CUSTOMER_MESSAGE}
# What the customer of a merged case sees of a survivor that is another customer's: its progress.
_PROGRESS = [CaseEvent.Kind.STEP, CaseEvent.Kind.PAUSED, CaseEvent.Kind.RESUMED]


def _visible_events(*, shown: Case, viewer: Case) -> QuerySet[CaseEvent]:
    """What the customer of ``viewer`` (the link's case) sees of ``shown`` (the case handling
    it): the customer-visible events of the complaint's cases that are theirs, and, if
    ``shown`` is another customer's, its progress."""
    theirs = Q(case__customer_id=viewer.customer_id)
    if shown.customer_id != viewer.customer_id:
        theirs |= Q(case_id=shown.pk, kind__in=_PROGRESS)
    return case_events(case=shown).filter(theirs, customer_visible=True)


def tracking_view(*, case: Case) -> dict:
    """Everything the tracking page of a link of ``case`` shows, in a fixed number of queries:
    never an internal note, never staff details beyond a first name and role, never another
    customer's case. ``case`` is the progress shown (the survivor, for a merged case),
    ``complaint`` the customer's own complaint (its reference and words)."""
    viewer, case = case, case.survivor
    own = case.customer_id == viewer.customer_id
    order = list(Step.values)
    current = order.index(case.step)
    now = timezone.now()
    # A message telling the customer of an event that is late on its way (the broker or the
    # mail service away): the page says so, and what it tells is on the page already.
    late = Notice.objects.filter(
        late_q(), status=Notice.Status.PENDING, event=OuterRef("pk"), customer=viewer.customer_id
    )
    events = (
        _visible_events(shown=case, viewer=viewer)
        .annotate(delayed=Exists(late))
        .select_related("actor", "case")
        .prefetch_related("actor__groups", "attachments")
        .order_by("at", "pk")
    )
    timeline = [
        TrackingEvent(
            at=event.at,
            who=str(_("You")) if event.by_customer else staff_shown(event.actor),
            what=_event_text(event),
            message=event.note if event.kind in _MESSAGES else "",
            files=list(event.attachments.all()),
        )
        for event in events
        if _event_text(event)
    ]
    label, meaning = CUSTOMER_STEPS[case.step]
    meaning = ENDED.get(case.ending, meaning)
    decided = own and current > order.index(Step.DECIDE) and case.remedy_types
    return {
        "case": case,
        "complaint": case if own else viewer,
        "steps": [
            TrackingStep(
                code=code,
                label=str(CUSTOMER_STEPS[code][0]),
                state="done" if i < current else "current" if i == current else "todo",
            )
            for i, code in enumerate(order)
        ],
        "step_label": label,
        "step_meaning": meaning,
        # A date already passed is no promise: the page then says only what is happening.
        "promised": case.due_at if case.is_open and case.due_at and case.due_at > now else None,
        "decision": [str(Remedy(r).label) for r in case.remedy_types if r in Remedy.values]
        if decided
        else [],
        # The decision as it was explained, once the case has reached Confirm.
        "plan": case.remedy_plan if own and current >= order.index(Step.CONFIRM) else "",
        "timeline": timeline,
        "delayed": any(event.delayed for event in events),
        "can_write": case.merged_into_id is None and case_takes_customer_messages(case),
        # The answers at Confirm and Follow up are the case's own customer's.
        "can_answer": own,
        # Rated satisfied while a message of theirs waited for our answer: the case closes
        # once we have answered (they rate once).
        "rated_waiting": own and case.step == Step.FOLLOW_UP and bool(case.follow_up_satisfied),
    }
