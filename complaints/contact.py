"""How a customer hears from us: their language, their preferred channel, and whether they want
essential messages only (``conversation`` sends by these). Changed by the customer (tracking
page, an SMS "STOP") or by staff who may work their case (case page, API); every change is on
the timeline of the case it was made from."""

from __future__ import annotations

import phonenumbers
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from .access import case_can_work
from .errors import AccessDenied, InvalidInput
from .models import Case, CaseEvent, Customer, User


def mobile_number(customer: Customer) -> str:
    """The customer's phone number if it can take a text message (a mobile number; a number
    that may be either, as the US and Canada's are), else ""."""
    if not customer.phone:
        return ""
    try:
        number = phonenumbers.parse(customer.phone)
    except phonenumbers.NumberParseException:
        return ""
    kinds = phonenumbers.PhoneNumberType
    mobile = {kinds.MOBILE, kinds.FIXED_LINE_OR_MOBILE}
    return customer.phone if phonenumbers.number_type(number) in mobile else ""


def channel_unreachable(customer: Customer, channel: str | None) -> str:
    """Why the customer cannot be told by ``channel`` (no email address, no mobile number), or
    "" when they can (and for automatic, or no channel asked)."""
    if channel == Customer.Channel.EMAIL and not customer.email:
        return str(_("We have no email address for this customer."))
    if channel == Customer.Channel.SMS and not mobile_number(customer):
        return str(
            _("We have no mobile number for this customer: text messages cannot reach them.")
        )
    return ""


@transaction.atomic
def customer_preferences_set(
    *,
    case: Case,
    by: User | None,
    language: str | None = None,
    preferred_channel: str | None = None,
    essential_only: bool | None = None,
) -> CaseEvent | None:
    """Change how the customer of ``case`` hears from us (None: leave as it is). ``by`` None:
    the customer themselves. Returns the timeline's event, or None when nothing changed."""
    if by is not None and not case_can_work(user=by, case=case):
        raise AccessDenied()
    errors = {}
    if language is not None and language not in dict(settings.LANGUAGES):
        errors["language"] = [_("Choose a language we write in.")]
    if preferred_channel is not None and preferred_channel not in Customer.Channel.values:
        errors["preferred_channel"] = [_("Choose email or SMS.")]
    if errors:
        raise InvalidInput(fields=errors)
    customer = Customer.objects.select_for_update().get(pk=case.customer_id)
    channel_problem = channel_unreachable(customer, preferred_channel)
    if channel_problem:
        raise InvalidInput(fields={"preferred_channel": [channel_problem]})
    changes = {}
    for field, value in (("language", language), ("preferred_channel", preferred_channel)):
        if value is not None and value != getattr(customer, field):
            changes[field] = [getattr(customer, field), value]
            setattr(customer, field, value)
    if essential_only is not None and essential_only != bool(customer.essential_only_since):
        changes["essential_only"] = [not essential_only, essential_only]
        customer.essential_only_since = timezone.now() if essential_only else None
    if not changes:
        return None
    fields = {"essential_only": "essential_only_since"}
    customer.save(update_fields=[fields.get(name, name) for name in changes])
    case.customer = customer
    return CaseEvent.objects.create(
        case=case,
        actor=by,
        by_customer=by is None,
        kind=CaseEvent.Kind.PREFERENCES,
        changes=changes,
    )
