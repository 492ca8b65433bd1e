"""Text messages in: a customer's SMS lands on their most recent open case as their message
(or on their latest case closed without a rating, which it takes up again)
(``customer_actions.case_customer_message``: it is waiting on us, the clock restarts, the
handlers are told); "STOP" (and its Chinese forms) asks for essential messages only, "START"
undoes it. A number we do not know, or a customer with no open case, starts a new case waiting
to be taken, as an email to the complaints address does: nothing a customer sends is lost.

Each provider message id is taken in once (``ReceivedSms``), in the transaction that posts it,
so a provider retrying its webhook never posts twice."""

from __future__ import annotations

import logging

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from complaints import contact, customer_actions, services
from complaints.errors import CaseError
from complaints.languages import language_guess
from complaints.models import Case, CaseEvent, Category, Channel, Customer, Step

from .models import ReceivedSms
from .sms import InboundSms

log = logging.getLogger(__name__)

# Replies that ask for no more messages, and for messages again (what carriers and providers
# honour: Twilio's standard keywords; 退订 and TD/T are what Chinese SMS use).
STOP_WORDS = frozenset(
    {"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "TD", "T", "退订"}
)
# ("YES" is no keyword here: it is what a customer answers to a question.)
START_WORDS = frozenset({"START", "UNSTOP", "订阅"})


def _case_for_text(customer: Customer) -> Case | None:
    """The case a customer's text goes to: their most recent case still being handled, else
    their most recent case if it was closed without their rating (taken up again by it);
    through the case_customer_received index."""
    cases = Case.objects.filter(customer=customer, merged_into__isnull=True).order_by(
        "-received_at"
    )
    latest_open = cases.exclude(step=Step.CLOSED).first()
    if latest_open is not None:
        return latest_open
    latest = cases.first()
    if latest is not None and customer_actions.case_takes_customer_messages(latest):
        return latest
    return None


def _latest_case(customer: Customer) -> Case | None:
    return Case.objects.filter(customer=customer).order_by("-received_at").first()


def sms_receive(*, sms: InboundSms, provider: str) -> Case | None:
    """Take one text message in. Returns the case it went to, or None (seen before; a STOP or
    START; or it could not be taken in: then it is logged)."""
    text = sms.text.strip()
    keyword = text.upper().rstrip(".!。！")  # noqa: RUF001  (Chinese punctuation)
    limit = CaseEvent._meta.get_field("note").max_length
    try:
        with transaction.atomic():
            received = ReceivedSms.objects.create(
                provider=provider, provider_id=sms.provider_id[:255], sender=sms.sender
            )
            customer = Customer.objects.filter(phone=sms.sender).first()
            if keyword in STOP_WORDS or keyword in START_WORDS:
                case = _latest_case(customer) if customer else None
                if case is not None:
                    contact.customer_preferences_set(
                        case=case, by=None, essential_only=keyword in STOP_WORDS
                    )
                return None
            case = _case_for_text(customer) if customer else None
            if case is not None:
                customer_actions.case_customer_message(case=case, body=text[:limit])
                case = case.survivor
            else:
                customer = customer or services.customer_get_or_create(
                    name=sms.sender,
                    phone=sms.sender,
                    default_language=language_guess(text),
                    update_contact=False,
                )
                case = customer_actions.case_receive_from_customer(
                    customer=customer,
                    channel=Channel.SMS,
                    category=Category.OTHER,
                    description=text[:5000] or _("(The text message was empty.)"),
                    desired_outcome=_("Not said yet: ask the customer."),
                ).case
            received.case = case
            received.save(update_fields=["case"])
            return case
    except IntegrityError:
        return None  # a provider's retry of a message taken in before
    except CaseError as exc:
        log.warning("Text message %s:%s not taken in: %s", provider, sms.provider_id, exc.messages)
        return None
