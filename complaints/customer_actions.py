"""What the customer does to their case, and the links they do it through: the public form's
complaint (waiting for an agent to take it), messages, the answer at Confirm, the ratings at
Follow up, and the tracking links (minted when shown or sent, only their SHA-256 kept).

The customer acts with no account: the views that call these have checked the tracking link.
Each move goes through the same guard as staff moves (``services._move``).

A link of a case merged into another acts on the survivor, which handles the complaint now
(``merging``). When the survivor's customer is someone else, the absorbed case's customer
writes on their own case (shown to staff with the survivor, never to the other customer) and
the survivor's answers at Confirm and Follow up remain its own customer's."""

from __future__ import annotations

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from . import attachments, lifecycle, signals
from .access import user_can_take_cases
from .errors import AccessDenied, CaseConflict, InvalidInput, TransitionRefused
from .models import (
    Case,
    CaseEvent,
    Channel,
    Customer,
    Step,
    TrackingToken,
    Urgency,
    User,
)
from .services import (
    Received,
    _apply,
    _attach,
    _event_note,
    _lock,
    _move,
    _receive,
    _save,
    case_awaiting_reply,
    jsonable,
    tracking_token_issue,
)

WEB_INTAKE_USERNAME = "heed-web-form"


def tracking_url(token: str) -> str:
    """The tracking link of a token, on ``SITE_URL`` (the customer's page: ``/t/<token>``)."""
    return settings.SITE_URL + reverse("tracking:open", kwargs={"token": token})


def web_intake_user() -> User:
    """The account that receives complaints customers send themselves (the public form): it
    cannot log in, and owns nothing; the agent who takes such a case becomes its owner."""
    user, created = User.objects.get_or_create(
        username=WEB_INTAKE_USERNAME, defaults={"first_name": "Web form", "is_active": False}
    )
    if created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
    return user


@transaction.atomic
def case_receive_from_customer(
    *,
    customer: Customer,
    category: str,
    description: str,
    desired_outcome: str,
    product: str = "",
    order_number: str = "",
    files: list[UploadedFile] | None = None,
    channel: str = Channel.WEB_FORM,
) -> Received:
    """A complaint the customer sends themselves (the public form), with any photos or
    documents. It waits without an owner until an agent takes it (``case_take``); its deadlines
    run from now all the same."""
    checked = attachments.validate(files or [], already=0)
    received = _receive(
        receiver=web_intake_user(),
        owner=None,
        actor=None,
        customer=customer,
        received_at=timezone.now(),
        data={
            "channel": channel,
            "category": category,
            "urgency": Urgency.GREEN,
            "product": product,
            "order_number": order_number,
            "description": description,
            "desired_outcome": desired_outcome,
        },
    )
    _attach(received.case, received.event, checked)
    return received


@transaction.atomic
def case_take(*, case: Case, by: User) -> CaseEvent:
    """An agent takes a case that has no owner (one the customer sent through the public form)
    and becomes accountable for it, as if they had received it."""
    if not user_can_take_cases(by):
        raise AccessDenied(_("You may not take complaints."))
    locked = Case.objects.select_for_update(of=("self",)).select_related("owner").get(pk=case.pk)
    if locked.merged_into_id is not None:
        raise TransitionRefused(_("This case was merged into another: take that one."))
    if locked.owner_id is not None:
        raise TransitionRefused(
            _("%(person)s has already taken this case.") % {"person": locked.owner}
        )
    if locked.step == Step.CLOSED:
        raise TransitionRefused(_("A closed case cannot be taken."))
    locked.owner = by
    _save(locked, ["owner"])
    event = CaseEvent.objects.create(
        case=locked, actor=by, kind=CaseEvent.Kind.ASSIGNED, changes={"owner": [None, by.pk]}
    )
    case.refresh_from_db()
    return event


def _lock_handling(case: Case) -> Case:
    """The case that handles what the customer does through a link of ``case`` (itself, or the
    case it was merged into), locked. Only that row is locked, never the merged one as well, so
    this cannot deadlock with a merge; if the case it found was merged meanwhile, the customer
    is asked to try again."""
    merged_into = Case.objects.filter(pk=case.pk).values_list("merged_into_id", flat=True).get()
    locked = (
        Case.objects.select_for_update(of=("self",))
        .select_related("customer")
        .get(pk=merged_into or case.pk)
    )
    if locked.merged_into_id is not None:
        raise CaseConflict()
    return locked


def _lock_for_customer(case: Case, step: str, refusal: str) -> Case:
    """The case that handles it, locked, if it waits at ``step`` for this customer's answer."""
    locked = _lock_handling(case)
    if locked.step != step or locked.customer_id != case.customer_id:
        raise TransitionRefused(refusal)
    return locked


@transaction.atomic
def case_customer_message(
    *, case: Case, body: str, files: list[UploadedFile] | None = None
) -> CaseEvent:
    """The customer writes on their case (the tracking page, an email answer, an SMS). It goes
    on the timeline for both sides, and ``customer_replied`` lets the other apps react in the
    same transaction (a stopped clock restarts). A case closed with the customer's rating takes
    no more messages; one closed without (``lifecycle.REOPENABLE``) is taken up again."""
    body = _event_note(body, field="body")
    if not body and not files:
        raise InvalidInput(fields={"body": [_("Write something first.")]})
    locked = _lock_handling(case)
    if locked.step == Step.CLOSED:
        taken_up = lifecycle.return_move(locked)
        if taken_up is None:
            raise TransitionRefused(
                _("This complaint is closed. To complain again, please contact us.")
            )
        # Closed without a rating (unreachable, withdrawn, not a complaint): the customer
        # writing again takes it up again where it ended.
        _move(locked, to=taken_up.target, by=None, data={}, note="", move=taken_up)
    # Another customer's words stay on their own case, out of the survivor customer's sight.
    target = locked if locked.customer_id == case.customer_id else case
    checked = attachments.validate(files or [], already=target.attachments.count())
    event = CaseEvent.objects.create(
        case=target,
        kind=CaseEvent.Kind.CUSTOMER_MESSAGE,
        by_customer=True,
        note=body,
        customer_visible=True,
    )
    _attach(target, event, checked)
    case_awaiting_reply(case=locked, since=event.at)
    signals.customer_replied.send(sender=Case, case=locked, event=event)
    return event


@transaction.atomic
def case_customer_answer(*, case: Case, agree: bool, reason: str = "") -> CaseEvent:
    """At Confirm, the customer agrees with the decision (on to Follow up) or does not, and
    says why (back to Decide, the reason on the timeline). Only while the case is at Confirm."""
    reason = _event_note(reason, field="reason")
    if not agree and not reason:
        raise InvalidInput(fields={"reason": [_("Please tell us why you do not agree.")]})
    locked = _lock_for_customer(
        case, Step.CONFIRM, _("We are not waiting for your answer to a decision now.")
    )
    event = _move(
        locked,
        to=Step.FOLLOW_UP if agree else Step.DECIDE,
        by=None,
        data={} if agree else {"agreement_note": reason},
        note=reason,
    )
    signals.customer_replied.send(sender=Case, case=locked, event=event)
    case.refresh_from_db()
    return event


@transaction.atomic
def case_customer_follow_up(
    *, case: Case, handling: int, outcome: int, satisfied: bool, comment: str = ""
) -> CaseEvent:
    """At Follow up, the customer rates the handling and the outcome (1 to 5 each) and says
    whether they are satisfied: satisfied closes the case; not satisfied reopens it (their
    appeal: back to Analyse, one tier up), and needs a word on why. Satisfied while a message of
    theirs still waits for our answer: the rating is recorded and the case waits at Follow up
    for the answer (nothing they asked is closed unanswered)."""
    comment = _event_note(comment, field="comment")
    if not satisfied and not comment:
        raise InvalidInput(fields={"comment": [_("Please tell us what is still wrong.")]})
    locked = _lock_for_customer(case, Step.FOLLOW_UP, _("We are not asking for your rating now."))
    if satisfied and locked.awaiting_reply_since is not None:
        if locked.follow_up_satisfied:
            raise TransitionRefused(_("We have your rating: we will answer your message first."))
        ratings = {
            "handling_rating": handling,
            "satisfaction_rating": outcome,
            "follow_up_comment": comment,
        }
        changes = _apply(locked, ratings, lifecycle.STEP_FIELDS[Step.FOLLOW_UP])
        changes["follow_up_satisfied"] = [locked.follow_up_satisfied, True]
        locked.follow_up_satisfied = True
        _save(locked, list(changes))
        event = CaseEvent.objects.create(
            case=locked,
            by_customer=True,
            kind=CaseEvent.Kind.UPDATED,
            changes={k: [jsonable(a), jsonable(b)] for k, (a, b) in changes.items()},
            note=comment,
            customer_visible=True,
        )
        signals.customer_replied.send(sender=Case, case=locked, event=event)
        case.refresh_from_db()
        return event
    event = _move(
        locked,
        to=Step.CLOSED if satisfied else Step.ANALYSE,
        by=None,
        data={
            "handling_rating": handling,
            "satisfaction_rating": outcome,
            "follow_up_comment": comment,
        },
        note=comment,
    )
    signals.customer_replied.send(sender=Case, case=locked, event=event)
    case.refresh_from_db()
    return event


@transaction.atomic
def case_link_request(*, case: Case, channel: str) -> CaseEvent:
    """Someone gave the case's reference and its customer's email address or phone number at
    "Lost your link?": a new link goes to that contact (``channel``: email or sms; the notice is
    ``conversation``'s), and the timeline says it was asked for."""
    if channel not in ("email", "sms"):
        raise ValueError(channel)
    return CaseEvent.objects.create(
        case=case,
        kind=CaseEvent.Kind.LINK_REQUESTED,
        by_customer=True,
        changes={"contact": [None, channel]},
    )


@transaction.atomic
def case_tracking_renew(*, case: Case, by: User) -> str:
    """Revoke every tracking link of the case and issue a new one (a link forwarded or sent to
    the wrong address). The links of the cases merged into it that belong to the same customer
    stop too: they open this case. Returns the new token, to be shown once."""
    locked = _lock(case, by=by, expected_version=None)
    TrackingToken.objects.filter(
        Q(case=locked) | Q(case__merged_into=locked, case__customer_id=locked.customer_id),
        revoked_at__isnull=True,
    ).update(revoked_at=timezone.now())
    token = tracking_token_issue(case=locked)
    CaseEvent.objects.create(case=locked, actor=by, kind=CaseEvent.Kind.LINK_RENEWED)
    return token


def case_takes_customer_messages(case: Case) -> bool:
    """Whether a message of the customer's reaches this case (for a merged case, the case
    handling it): it is open, or it was closed without their rating and is taken up again."""
    handling = case.survivor
    return handling.step != Step.CLOSED or handling.ending in lifecycle.REOPENABLE
