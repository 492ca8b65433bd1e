"""Every change to customers and cases. Views, the API, admin actions, tasks and commands call
these; nothing else writes the models. Each runs in one transaction and writes its event."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import phonenumbers
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files import File
from django.core.files.uploadedfile import UploadedFile
from django.core.validators import MaxLengthValidator, validate_email
from django.db import IntegrityError, connection, models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from . import attachments, lifecycle, repeats, search, signals
from .access import case_can_work
from .bulk import rows_update
from .contact import channel_unreachable
from .errors import AccessDenied, CaseConflict, InvalidInput, TransitionRefused
from .models import (
    Attachment,
    Case,
    CaseEvent,
    ContactAttempt,
    Customer,
    Department,
    Ending,
    FollowUpReview,
    ReferenceSequence,
    Remedy,
    Step,
    TrackingToken,
    Urgency,
    User,
    tracking_digest,
)

# ---------------------------------------------------------------- customers


def phone_normalize(raw: str) -> str:
    """A phone number in E.164 (+8613800138000), read in PHONE_REGION when it has no country
    code. Refuses what is not a possible number."""
    raw = (raw or "").strip()
    if not raw:
        return ""
    try:
        number = phonenumbers.parse(raw, settings.PHONE_REGION)
    except phonenumbers.NumberParseException:
        raise InvalidInput(fields={"phone": [_("This is not a phone number.")]}) from None
    if not phonenumbers.is_possible_number(number):
        raise InvalidInput(fields={"phone": [_("This is not a phone number.")]})
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def email_normalize(raw: str) -> str:
    email = (raw or "").strip().lower()
    if len(email) > Customer._meta.get_field("email").max_length:
        raise InvalidInput(fields={"email": [_("This email address is too long.")]})
    if email:
        try:
            validate_email(email)
        except ValidationError:
            raise InvalidInput(fields={"email": [_("This is not an email address.")]}) from None
    return email


def customer_find(*, phone: str = "", email: str = "") -> Customer | None:
    """The existing customer with this phone number, else with this email address."""
    phone, email = phone_normalize(phone), email_normalize(email)
    if phone and (found := Customer.objects.filter(phone=phone).first()):
        return found
    if email and (found := Customer.objects.filter(email=email).first()):
        return found
    return None


def customer_get_or_create(
    *,
    name: str,
    phone: str = "",
    email: str = "",
    type: str | None = None,
    language: str | None = None,
    preferred_channel: str | None = None,
    default_language: str | None = None,
    update_contact: bool = True,
) -> Customer:
    """An intake finds an existing customer by phone or email instead of adding a second one.
    A contact detail the customer did not have yet is added to them, but only by staff: with
    ``update_contact=False`` (the public form, email in: nobody checked who is writing) an
    existing customer is never changed, or anyone could add their own address to someone
    else's record and have that customer's tracking links sent to it. The same holds for how
    the customer hears from us (``language``, ``preferred_channel``): a new customer starts with
    them, an existing one is changed by staff only. ``default_language`` is a new customer's
    when ``language`` is not given (the language their complaint is written in)."""
    phone, email = phone_normalize(phone), email_normalize(email)
    name = (name or "").strip()
    if not (phone or email):
        raise InvalidInput(
            fields={"phone": [_("Give a phone number or an email address.")]},
        )
    if type is not None and type not in Customer.Type.values:
        raise InvalidInput(fields={"type": [_("Unknown customer type.")]})
    if default_language not in (None, *dict(settings.LANGUAGES)):
        raise ValueError(default_language)
    if language is not None and language not in dict(settings.LANGUAGES):
        raise InvalidInput(fields={"language": [_("Choose a language we write in.")]})
    if preferred_channel is not None and preferred_channel not in Customer.Channel.values:
        raise InvalidInput(fields={"preferred_channel": [_("Choose email or SMS.")]})
    for _attempt in range(3):
        customer = customer_find(phone=phone, email=email)
        if customer is None:
            if not name:
                raise InvalidInput(fields={"name": [_("Give the customer's name.")]})
            if len(name) > Customer._meta.get_field("name").max_length:
                raise InvalidInput(fields={"name": [_("The name is too long.")]})
            customer = Customer(
                name=name,
                phone=phone,
                email=email,
                type=type or Customer.Type.NEW,
                language=language or default_language or settings.LANGUAGE_CODE,
                preferred_channel=preferred_channel or "",
            )
            _channel_reachable(customer)
            try:
                with transaction.atomic():
                    customer.save(force_insert=True)
                    return customer
            except IntegrityError:
                continue  # another intake created them just now: find them on the next pass
        if not update_contact:
            return customer
        changed = []
        if phone and not customer.phone and not Customer.objects.filter(phone=phone).exists():
            customer.phone = phone
            changed.append("phone")
        if email and not customer.email and not Customer.objects.filter(email=email).exists():
            customer.email = email
            changed.append("email")
        for field, value in (
            ("type", type),
            ("language", language),
            ("preferred_channel", preferred_channel),
        ):
            if (
                value is not None
                and value != getattr(customer, field)
                and (value or field != "type")
            ):
                setattr(customer, field, value)
                changed.append(field)
        if changed:
            _channel_reachable(customer)
            customer.save(update_fields=changed)
        return customer
    raise CaseConflict()


def _channel_reachable(customer: Customer) -> None:
    """Refuse a preferred channel the customer has no address for."""
    problem = channel_unreachable(customer, customer.preferred_channel)
    if problem:
        raise InvalidInput(fields={"preferred_channel": [problem]})


# ---------------------------------------------------------------- intake


def _reference_next(at: datetime) -> str:
    """The month's next reference, C202611-00042. The counter row is locked by the UPDATE until
    the intake commits, so concurrent intakes get distinct numbers; a rolled-back intake may
    leave a gap, which is fine."""
    period = timezone.localtime(at).strftime("%Y%m")
    with connection.cursor() as cursor:
        # One statement (PostgreSQL and SQLite 3.35+ both return the row an UPDATE wrote).
        cursor.execute(
            "UPDATE complaints_referencesequence SET last = last + 1 WHERE period = %s "
            "RETURNING last",
            [period],
        )
        row = cursor.fetchone()
    if row is None:  # the month's first complaint
        ReferenceSequence.objects.get_or_create(period=period)
        return _reference_next(at)
    return f"C{period}-{row[0]:05d}"


@dataclass(frozen=True)
class Received:
    case: Case
    # The only time the plain token exists: shown to the agent and sent to the customer.
    tracking_token: str
    event: CaseEvent  # RECEIVED: what the complaint's files are attached to


def jsonable(value: Any) -> Any:
    """A value as an event's ``changes`` keep it (a machine value JSON can hold): a row as its
    primary key, a decimal as its text, a date or moment in ISO 8601. Other apps' history rows
    use it too (``improvement``)."""
    if isinstance(value, models.Model):
        return value.pk
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, date):  # and datetime, a date too
        return value.isoformat()
    return value


def _field_value(case: Case, name: str) -> Any:
    field = Case._meta.get_field(name)
    return getattr(case, field.attname)


def _apply(case: Case, data: dict[str, Any], allowed: tuple[str, ...]) -> dict[str, list[Any]]:
    """Set the given fields on the case, validated like the model's fields. Returns the changes
    as {"field": [old, new]} in machine values."""
    unknown = sorted(set(data) - set(allowed))
    if unknown:
        raise InvalidInput(
            _("These fields cannot be changed at this step: %(fields)s")
            % {"fields": ", ".join(unknown)},
            fields={name: [_("Not editable at this step.")] for name in unknown},
        )
    before = {name: _field_value(case, name) for name in data}
    for name, value in data.items():
        if isinstance(value, str):
            value = value.strip()
        setattr(case, name, value)
    errors: dict[str, list[str]] = {}
    if "remedy_types" in data:
        types = case.remedy_types
        if not isinstance(types, list) or any(t not in Remedy.values for t in types):
            errors["remedy_types"] = [_("Choose remedies from the list.")]
    for name in ("responsible_person", "remedy_approved_by"):
        person = data.get(name)
        if person is not None and (not isinstance(person, User) or not person.is_active):
            errors[name] = [_("Choose an active member of staff.")]
    if "department" in data and not (
        data["department"] is None or isinstance(data["department"], Department)
    ):
        errors["department"] = [_("Choose a department.")]
    # Django enforces max_length on CharFields only; a TextField's is a form hint, so check it.
    for name in data:
        field = Case._meta.get_field(name)
        value = getattr(case, field.attname)
        if isinstance(field, models.TextField) and field.max_length and isinstance(value, str):
            try:
                MaxLengthValidator(field.max_length)(value)
            except ValidationError as exc:
                errors.setdefault(name, []).extend(exc.messages)
    exclude = [f.name for f in Case._meta.get_fields() if f.name not in data] + ["remedy_types"]
    try:
        case.full_clean(exclude=exclude, validate_unique=False, validate_constraints=False)
    except ValidationError as exc:
        for name, messages in exc.message_dict.items():
            errors.setdefault(name, []).extend(messages)
    if errors:
        raise InvalidInput(fields=errors)
    return {
        name: [jsonable(old), jsonable(_field_value(case, name))]
        for name, old in before.items()
        if old != _field_value(case, name)
    }


@transaction.atomic
def case_receive(
    *,
    by: User,
    customer: Customer,
    channel: str,
    category: str,
    description: str,
    desired_outcome: str,
    urgency: str = "green",
    product: str = "",
    order_number: str = "",
    quantity: int | None = None,
    received_at: datetime | None = None,
) -> Received:
    """Log a complaint (step 1). Whoever receives it owns it (first-contact responsibility).
    The case gets its reference and a 256-bit tracking token, stored only as its SHA-256."""
    if not by.has_perm("complaints.add_case"):
        raise AccessDenied(_("You may not log complaints."))
    return _receive(
        receiver=by,
        owner=by,
        actor=by,
        customer=customer,
        received_at=received_at or timezone.now(),
        backdated=received_at is not None,
        data={
            "channel": channel,
            "category": category,
            "urgency": urgency,
            "product": product,
            "order_number": order_number,
            "quantity": quantity,
            "description": description,
            "desired_outcome": desired_outcome,
        },
    )


def _receive(
    *,
    receiver: User,
    owner: User | None,
    actor: User | None,
    customer: Customer,
    received_at: datetime,
    data: dict[str, Any],
    backdated: bool = False,
) -> Received:
    """``backdated``: received before now (``received_at`` given), so the customer may have
    later cases, whose repeat flags are then written again."""
    case = Case(customer=customer, receiver=receiver, owner=owner, received_at=received_at)
    _apply(case, data, lifecycle.STEP_FIELDS[Step.RECEIVE])
    missing = [str(r.message) for r in lifecycle.MOVES[(Step.RECEIVE, Step.LISTEN)].missing(case)]
    if missing:
        raise InvalidInput(*missing)
    changes = {}
    if customer.type == Customer.Type.VIP and case.urgency != Urgency.RED:
        # DOMAIN.md: VIP customers raise urgency one grade; the timeline shows the raise.
        raised = Urgency.RED if case.urgency == Urgency.YELLOW else Urgency.YELLOW
        changes["urgency"] = [case.urgency, raised]
        case.urgency = raised
    case.reference = _reference_next(received_at)
    case.search_vector = search.search_vector_of(case)
    # The customer's row lock serialises their intakes (and merges), so that each sees the
    # others' cases when it works out which are repeats.
    case.repeat_of_id = repeats.customer_lock_and_repeat_of(
        customer_id=customer.pk, received_at=received_at
    )
    case.save()
    del case.search_vector  # saved as an expression: left unloaded (a deferred field)
    if backdated:
        # The customer's cases received after this one may now be its repeats.
        repeats.repeats_refresh(customer_ids=[customer.pk], since=received_at)
    token = tracking_token_issue(case=case)
    event = CaseEvent.objects.create(
        case=case,
        actor=actor,
        by_customer=actor is None,
        kind=CaseEvent.Kind.RECEIVED,
        to_step=Step.RECEIVE,
        at=received_at,
        changes=changes,
        customer_visible=True,
    )
    # What the other apps write to the case row here they set on ``case`` too
    # (``case_record``): nothing to read back. Its customer is read again when next used, as
    # from a case read afresh (who holds the case later sees the customer as it is then).
    signals.case_received_in_transaction.send(sender=Case, case=case, event=event)
    Case.customer.field.delete_cached_value(case)
    transaction.on_commit(lambda: signals.case_received.send(sender=Case, case=case))
    return Received(case=case, tracking_token=token, event=event)


def tracking_token_issue(*, case: Case) -> str:
    """A new tracking link for the case, beside the ones it has: 256 bits from ``secrets``,
    of which only the SHA-256 is stored. The token is returned once, to be shown or sent."""
    token = secrets.token_urlsafe(32)
    TrackingToken.objects.create(case=case, digest=tracking_digest(token))
    return token


# ---------------------------------------------------------------- working the case


def _lock(case: Case, *, by: User, expected_version: int | None) -> Case:
    """The case row, locked until the transaction ends, after checking that nobody changed it
    since the caller read it and that the caller may change it."""
    locked = Case.objects.select_for_update(of=("self",)).select_related("customer").get(pk=case.pk)
    seen = case.version if expected_version is None else expected_version
    if locked.version != seen:
        raise CaseConflict()
    if not case_can_work(user=by, case=locked):
        raise AccessDenied()
    return locked


def _event_note(note: str, *, field: str = "note", limit: int | None = None) -> str:
    """A note for an event, refused when it is longer than the event (or ``limit``) holds."""
    note = (note or "").strip()
    limit = limit or CaseEvent._meta.get_field("note").max_length
    if len(note) > limit:
        raise InvalidInput(
            fields={field: [_("Keep it under %(limit)d characters.") % {"limit": limit}]}
        )
    return note


def _save(case: Case, fields: list[str]) -> None:
    case.version += 1
    searched = bool(set(fields) & set(search.SEARCHED_FIELDS))
    if searched:
        case.search_vector = search.search_vector_of(case)
        fields = [*fields, "search_vector"]
    case.save(update_fields=[*fields, "version", "updated_at"])
    if searched:
        del case.search_vector  # saved as an expression: left unloaded (a deferred field)


@transaction.atomic
def case_update(
    *, case: Case, by: User, data: dict[str, Any], expected_version: int | None = None
) -> CaseEvent | None:
    """Record data of the case's current step without moving it on."""
    locked = _lock(case, by=by, expected_version=expected_version)
    changes = _apply(locked, data, lifecycle.STEP_FIELDS[locked.step])
    if not changes:
        return None
    _save(locked, list(changes))
    event = CaseEvent.objects.create(
        case=locked, actor=by, kind=CaseEvent.Kind.UPDATED, changes=changes
    )
    case.refresh_from_db()
    return event


@transaction.atomic
def case_transition(
    *,
    case: Case,
    to: str,
    by: User,
    data: dict[str, Any] | None = None,
    note: str = "",
    expected_version: int | None = None,
    ending: str = "",
) -> CaseEvent:
    """Move the case from its step to ``to`` along one of ``lifecycle.MOVES`` — or, with
    ``ending``, close it by one of ``lifecycle.ENDINGS`` (``to`` is then "closed"): records the
    move's data, checks the step's required data, appends the event. Anything else is refused
    with the reasons, and nothing is saved."""
    if to not in Step.values:
        raise TransitionRefused(_("There is no step called “%(step)s”.") % {"step": to})
    note = _event_note(note)
    locked = _lock(case, by=by, expected_version=expected_version)
    event = _move(locked, to=to, by=by, data=data or {}, note=note, ending=ending)
    case.refresh_from_db()
    return event


# What the customer answered at Follow up, blank.
_FOLLOW_UP_ANSWER = {
    "satisfaction_rating": None,
    "handling_rating": None,
    "follow_up_comment": "",
    "follow_up_satisfied": None,
}


def _move_for(locked: Case, *, to: str, ending: str) -> lifecycle.Move:
    """The move from the case's step to ``to`` (an ending's, if one is named), or the refusal."""
    source = locked.step
    if ending:
        move = lifecycle.ENDINGS.get((source, ending))
        if move is None or to != Step.CLOSED:
            if ending not in Ending.values or ending == Ending.RATED:
                raise TransitionRefused(_("There is no such way to close a case."))
            raise TransitionRefused(
                _("A case at %(source)s cannot be closed as “%(ending)s”.")
                % {"source": Step(source).label, "ending": Ending(ending).label}
            )
        return move
    move = lifecycle.MOVES.get((source, to))
    if move is None:
        raise TransitionRefused(
            _("A case at %(source)s cannot move to %(target)s.")
            % {"source": Step(source).label, "target": Step(to).label}
        )
    return move


def _move(
    locked: Case,
    *,
    to: str,
    by: User | None,
    data: dict[str, Any],
    note: str,
    ending: str = "",
    move: lifecycle.Move | None = None,
) -> CaseEvent:
    """The one guard of the state machine, for staff (``case_transition``) and the customer
    (``case_customer_answer``, ``case_customer_follow_up``, a message that takes an ended case
    up again with ``move``; ``by`` None), on a locked case."""
    source = locked.step
    move = move or _move_for(locked, to=to, ending=ending)
    if move.permitted is not None and not (by is not None and move.permitted(by)):
        raise TransitionRefused(move.not_permitted_message)
    if move.note_required is not None and not note:
        raise TransitionRefused(move.note_required, fields={"note": [str(move.note_required)]})
    changes = _apply(locked, data, move.fields)
    for name, value in move.sets.items():
        old = getattr(locked, name)
        setattr(locked, name, value)
        if old != value:
            changes[name] = [old, value]
    if move.allowed is not None and not move.allowed(locked):
        raise TransitionRefused(move.not_allowed_message)
    missing = move.missing(locked)
    if missing:
        raise TransitionRefused(
            *[r.message for r in missing],
            fields={r.field: [str(r.message)] for r in missing},
        )
    objections = [
        reason
        for _receiver, reasons in signals.transition_checked.send(
            sender=Case, case=locked, move=move, by=by
        )
        for reason in reasons or ()
    ]
    if objections:
        raise TransitionRefused(*objections)
    locked.step = move.target
    updated = [*changes, "step"]
    if move.target == Step.CLOSED:
        locked.closed_at = timezone.now()
        updated.append("closed_at")
    elif source == Step.CLOSED:  # an ended case taken up again
        locked.closed_at = None
        updated.append("closed_at")
    if move.target == Step.FOLLOW_UP and move.kind != "return":
        # The follow-up of a new round asks anew: the last round's answer no longer stands
        # (it stays on the timeline, in the reopening's event).
        for name, blank in _FOLLOW_UP_ANSWER.items():
            if getattr(locked, name) != blank:
                changes[name] = [getattr(locked, name), blank]
                setattr(locked, name, blank)
                updated.append(name)
    if move.kind == "reopen":
        # A new round: the customer's agreement of the last one no longer stands.
        changes["reopen_count"] = [locked.reopen_count, locked.reopen_count + 1]
        if locked.customer_agreed is not None:
            changes["customer_agreed"] = [locked.customer_agreed, None]
        locked.reopen_count += 1
        locked.customer_agreed = None
        updated += ["reopen_count", "customer_agreed"]
    _save(locked, updated)
    event = CaseEvent.objects.create(
        case=locked,
        actor=by,
        by_customer=by is None,
        kind=CaseEvent.Kind.REOPENED if move.kind == "reopen" else CaseEvent.Kind.STEP,
        from_step=source,
        to_step=move.target,
        changes={k: [jsonable(a), jsonable(b)] for k, (a, b) in changes.items()},
        note=note,
        customer_visible=True,
    )
    signals.case_step_changed_in_transaction.send(sender=Case, case=locked, event=event, move=move)

    def _notify() -> None:
        signals.case_step_changed.send(sender=Case, case=locked, event=event)
        if move.kind == "reopen":
            signals.case_reopened.send(sender=Case, case=locked, event=event)
        if move.target == Step.CLOSED:
            signals.case_closed.send(sender=Case, case=locked, event=event)

    transaction.on_commit(_notify)
    return event


@transaction.atomic
def case_assign(
    *,
    case: Case,
    by: User,
    person: User | None = None,
    department: Department | None = None,
    note: str = "",
    expected_version: int | None = None,
) -> CaseEvent:
    """Hand the case over to a person (its new owner) and/or a department (responsible for
    it). A case handed to a department alone waits there without an owner, unless its owner
    belongs to that department."""
    if person is None and department is None:
        raise InvalidInput(_("Choose a person or a department to hand the case to."))
    note = _event_note(note)
    locked = _lock(case, by=by, expected_version=expected_version)
    if locked.step == Step.CLOSED:
        raise TransitionRefused(_("A closed case cannot be handed over."))
    if person is not None and not (person.is_active and person.has_perm("complaints.work_case")):
        raise InvalidInput(fields={"person": [_("This person cannot work cases.")]})
    before = {"owner": locked.owner_id, "department": locked.department_id}
    if department is not None:
        locked.department = department
        if person is None and locked.owner and locked.owner.department_id != department.pk:
            locked.owner = None
    if person is not None:
        locked.owner = person
    after = {"owner": locked.owner_id, "department": locked.department_id}
    changes = {k: [before[k], after[k]] for k in before if before[k] != after[k]}
    if not changes:
        raise InvalidInput(_("The case is already there."))
    _save(locked, list(changes))
    event = CaseEvent.objects.create(
        case=locked,
        actor=by,
        kind=CaseEvent.Kind.ASSIGNED,
        changes=changes,
        note=note,
    )
    case.refresh_from_db()
    return event


def _attach(case: Case, event: CaseEvent, checked: list) -> list[Attachment]:
    return [
        Attachment.objects.create(
            case=case,
            event=event,
            file=File(upload, name=upload.name),
            name=attachments.clean_name(upload.name or ""),
            content_type=content_type,
            size=upload.size,
        )
        for upload, content_type in checked
    ]


# Where the text of a note or message came from, named by another app as "<app>:<key>" (the
# knowledge base's reply templates: "knowledge:<article>:<version>"). A machine value, kept in
# the event's changes as {"source": [None, value]} for the timeline and for reporting.
SOURCE_PATTERN = re.compile(r"[a-z][a-z0-9_]{0,29}:[A-Za-z0-9_.:-]{1,60}")


@transaction.atomic
def case_add_note(
    *,
    case: Case,
    by: User,
    body: str,
    customer_visible: bool = False,
    files: list[UploadedFile] | None = None,
    source: str = "",
) -> CaseEvent:
    """An internal note, or a message the customer will see on their tracking page, with any
    files (checked by their content). A note with files may have no text. ``source`` says
    where its text came from (``SOURCE_PATTERN``)."""
    body = _event_note(body, field="body")
    if not body and not files:
        raise InvalidInput(fields={"body": [_("Write something first.")]})
    if source and not SOURCE_PATTERN.fullmatch(source):
        raise InvalidInput(fields={"source": [_("This is not where a text can come from.")]})
    if not case_can_work(user=by, case=case):
        raise AccessDenied()
    checked = attachments.validate(files or [], already=case.attachments.count())
    event = CaseEvent.objects.create(
        case=case,
        actor=by,
        kind=CaseEvent.Kind.MESSAGE if customer_visible else CaseEvent.Kind.NOTE,
        note=body,
        customer_visible=customer_visible,
        changes={"source": [None, source]} if source else {},
    )
    _attach(case, event, checked)
    if customer_visible:
        case_awaiting_reply(case=case, since=None)
    return event


def case_awaiting_reply(*, case: Case, since: datetime | None) -> None:
    """Keep "waiting on us" (``Case.awaiting_reply_since``): the first unanswered message of the
    customer's sets it (a second one does not move it), a message to the customer clears it.
    One conditional UPDATE, without a new ``version``: it is not what anyone is editing."""
    waiting = Case.objects.filter(pk=case.pk, awaiting_reply_since__isnull=since is not None)
    if waiting.update(awaiting_reply_since=since, updated_at=timezone.now()):
        case.awaiting_reply_since = since


@transaction.atomic
def case_contact_record(
    *,
    case: Case,
    by: User,
    method: str,
    result: str,
    note: str = "",
    at: datetime | None = None,
) -> ContactAttempt:
    """Record an attempt to reach the customer (a follow-up call, a visit …) and its result, on
    the timeline too. Attempts at Follow up that did not reach them count towards closing it as
    unreachable. ``at``: when it happened, if earlier (not in the future)."""
    note = _event_note(note)
    errors = {}
    if method not in ContactAttempt.Method.values:
        errors["method"] = [_("Choose how you tried to reach the customer.")]
    if result not in ContactAttempt.Result.values:
        errors["result"] = [_("Choose what came of it.")]
    now = timezone.now()
    if at is not None and at > now:
        errors["at"] = [_("It cannot have happened in the future.")]
    if errors:
        raise InvalidInput(fields=errors)
    locked = _lock(case, by=by, expected_version=None)
    if locked.step == Step.CLOSED or locked.merged_into_id is not None:
        raise TransitionRefused(_("The case is no longer open: there is no one to reach for it."))
    attempt = ContactAttempt.objects.create(
        case=locked, by=by, method=method, result=result, note=note, at=at or now, step=locked.step
    )
    CaseEvent.objects.create(
        case=locked,
        actor=by,
        kind=CaseEvent.Kind.CONTACTED,
        changes={"method": [None, method], "result": [None, result]},
        note=note,
        at=attempt.at,
    )
    case.refresh_from_db()
    return attempt


@transaction.atomic
def case_follow_up_review(*, case: Case, by: User, comment: str = "") -> FollowUpReview:
    """A supervisor reviews how a closed case was followed up (客户服务主管审阅), with a comment:
    once per closing (a case reopened and closed again is followed up again), by those
    who may review follow-ups (quality managers); on the timeline, never shown to the customer."""
    if not by.has_perm("complaints.add_followupreview"):
        raise AccessDenied(_("Only a customer-service supervisor reviews follow-ups."))
    comment = _event_note(
        comment, field="comment", limit=FollowUpReview._meta.get_field("comment").max_length
    )
    locked = Case.objects.select_for_update(of=("self",)).get(pk=case.pk)
    if locked.merged_into_id is not None:
        raise TransitionRefused(_("This case was merged: review the case it was merged into."))
    if locked.step != Step.CLOSED:
        raise TransitionRefused(_("Only a closed case's follow-up is reviewed."))
    if FollowUpReview.objects.filter(case=locked, closed_at=locked.closed_at).exists():
        raise TransitionRefused(_("This follow-up has been reviewed already."))
    review = FollowUpReview.objects.create(
        case=locked, closed_at=locked.closed_at, reviewed_by=by, comment=comment
    )
    CaseEvent.objects.create(case=locked, actor=by, kind=CaseEvent.Kind.REVIEWED, note=comment)
    return review


# ---------------------------------------------------------------- for the other apps

# The case fields the other apps keep (see the models' comments); no form ever edits them.
# Changing them does not bump ``version``: they are not what a person is editing, and an
# escalation must not make an agent's open form stale.
SYSTEM_FIELDS = frozenset({"tier", "due_at", "remedy_approved_by"})


@dataclass
class Record:
    """One change of ``case_record``'s kind: system fields set on a case, and the event that
    tells it (none when ``kind`` is None)."""

    case: Case
    kind: str | None
    by: User | None = None
    note: str = ""
    set_fields: dict[str, Any] | None = None
    changes: dict[str, list[Any]] | None = None
    customer_visible: bool = False
    at: datetime | None = None


def case_record(
    *,
    case: Case,
    kind: str | None,
    by: User | None = None,
    note: str = "",
    set_fields: dict[str, Any] | None = None,
    changes: dict[str, list[Any]] | None = None,
    customer_visible: bool = False,
    at: datetime | None = None,
) -> CaseEvent | None:
    """For the other apps (escalation): set the system fields they keep and append their event
    to the case's timeline, in the caller's transaction (the caller holds the case's lock or has
    just written its own rows). ``kind=None`` sets fields without an event (the next deadline
    moving is not news). Access is the caller's to check: the sweep acts with nobody's rights."""
    record = Record(case, kind, by, note, set_fields, changes, customer_visible, at)
    return cases_record([record])[0]


def cases_record(records: list[Record]) -> list[CaseEvent | None]:
    """``case_record`` for many changes at once (a batch of the sweep): the cases' fields in one
    UPDATE, the events in one INSERT, in the order given (two changes of one case: the second
    sees the first's values). Returns each record's event (None without a kind)."""
    events: list[CaseEvent | None] = []
    changed: dict[int, Case] = {}
    fields: set[str] = set()
    for record in records:
        case, set_fields = record.case, record.set_fields or {}
        unknown = set(set_fields) - SYSTEM_FIELDS
        if unknown:
            raise ValueError(f"Not a system field: {sorted(unknown)}")
        recorded = dict(record.changes or {})
        for name, value in set_fields.items():
            old = _field_value(case, name)
            setattr(case, name, value)
            new = _field_value(case, name)
            if old != new and record.kind is not None:
                recorded[name] = [jsonable(old), jsonable(new)]
        if set_fields:
            # updated_at as a save would: what changed lately is read from it (the rollup).
            case.updated_at = timezone.now()
            changed[case.pk] = case
            fields |= set(set_fields)
        events.append(
            None
            if record.kind is None
            else CaseEvent(
                case=case,
                actor=record.by,
                kind=record.kind,
                changes=recorded,
                note=_event_note(record.note),
                customer_visible=record.customer_visible,
                at=record.at or timezone.now(),
            )
        )
    if len(changed) == 1:
        [case] = changed.values()
        Case.objects.filter(pk=case.pk).update(
            updated_at=case.updated_at,
            **{Case._meta.get_field(name).attname: _field_value(case, name) for name in fields},
        )
    elif changed:
        rows_update(list(changed.values()), [*sorted(fields), "updated_at"])
    written = CaseEvent.objects.bulk_create([event for event in events if event is not None])
    for event in written:  # as CaseEvent.save does for one (bulk_create sends no signal)
        signals.case_event_written.send(sender=CaseEvent, event=event)
    return events
