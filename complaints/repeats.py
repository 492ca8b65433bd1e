"""Repeat complaints: the stored repeat flag (``Case.repeat_of``), and what the agent is told of
a customer's other cases and of other open complaints about the same order or product.

The flag, exactly: ``repeat_of`` is the same customer's latest earlier case (by ``received_at``,
then the highest pk) received within ``REPEAT_WINDOW`` before the case, strictly before it and
at most 90 days earlier. Cases merged into another (``merged_into`` set) take no part: a merged
case is the same complaint as its survivor, not one of its own, so it is never a repeat (its
``repeat_of`` is null) and never makes another case one. Null: not a repeat. For cases not
merged this is reporting's ``repeat_q()`` (``reporting/filters.py``) stored, so
``repeat_of__isnull=False`` may replace it (index ``case_repeat_received``).

It is kept in the transaction of every change that can alter it: each intake, on every channel
(``services._receive``: a complaint backdated before the customer's later cases makes those
within 90 days after it repeats too), and each merge (``merging.case_merge``). Both lock the
customer's row first, so two intakes of the same customer at once see each other's case."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import OuterRef, Q, Subquery
from django.utils import timezone

from .access import cases_visible_to
from .models import Case, Customer, Step, User

# DOMAIN.md: a repeat complainant is the same customer again within 90 days (the window
# reporting uses, ``reporting.filters.REPEAT_WINDOW``).
REPEAT_WINDOW = timedelta(days=90)
# How many rows the hints show at most (the rest are a search away): the customer's own cases,
# and the other open complaints about the same order or product.
CUSTOMER_ROWS = 5
RELATED_ROWS = 10


def _latest_earlier_case() -> Subquery:
    """For the case of the outer query: the pk of its ``repeat_of``, or null."""
    return Subquery(
        Case.objects.filter(
            customer_id=OuterRef("customer_id"),
            merged_into__isnull=True,
            received_at__lt=OuterRef("received_at"),
            received_at__gte=OuterRef("received_at") - REPEAT_WINDOW,
        )
        .order_by("-received_at", "-pk")
        .values("pk")[:1]
    )


def customer_lock_and_repeat_of(*, customer_id: int, received_at: datetime) -> int | None:
    """Lock the customer's row (their intakes and merges one at a time) and read the
    ``repeat_of`` of a case about to be received — the same customer's latest earlier case
    within ``REPEAT_WINDOW``, as ``_latest_earlier_case`` — in one query, before the case is
    written, so that its row is written whole."""
    earlier = (
        Case.objects.filter(
            customer_id=customer_id,
            merged_into__isnull=True,
            received_at__lt=received_at,
            received_at__gte=received_at - REPEAT_WINDOW,
        )
        .order_by("-received_at", "-pk")
        .values("pk")[:1]
    )
    return (
        Customer.objects.select_for_update(of=("self",))
        .filter(pk=customer_id)
        .order_by()
        .values_list(Subquery(earlier), flat=True)
        .get()
    )


def repeats_refresh(*, customer_ids: Iterable[int], since: datetime) -> int:
    """Recompute ``repeat_of`` of these customers' cases received from ``since`` to
    ``REPEAT_WINDOW`` after it: the only cases whose earlier cases a case received (or merged
    away) at ``since`` can change. One UPDATE; the caller holds the customers' row locks."""
    return Case.objects.filter(
        customer_id__in=list(customer_ids),
        merged_into__isnull=True,
        received_at__gte=since,
        received_at__lte=since + REPEAT_WINDOW,
    ).update(
        repeat_of=_latest_earlier_case(),
        # As a save would: what changed lately is read from it (reporting's rollup).
        updated_at=timezone.now(),
    )


# ---------------------------------------------------------------- what the agent is told


def customer_cases_for_intake(
    *, user: User, customer: Customer, now: datetime | None = None
) -> list[Case]:
    """The customer's open cases and every case of theirs received in the last
    ``REPEAT_WINDOW``, latest first, at most ``CUSTOMER_ROWS``: one query. A merged case is shown
    with the case it went into."""
    since = (now or timezone.now()) - REPEAT_WINDOW
    return list(
        cases_visible_to(user=user)
        .filter(customer=customer)
        .filter(Q(received_at__gte=since) | (~Q(step=Step.CLOSED) & Q(merged_into__isnull=True)))
        .select_related("merged_into")
        .order_by("-received_at", "-pk")[:CUSTOMER_ROWS]
    )


@dataclass(frozen=True)
class Related:
    """An open case related to the one being logged or shown, and how."""

    case: Case
    same_customer: bool
    same_order: bool
    same_product: bool


def open_cases_related(
    *,
    user: User,
    order_number: str = "",
    product: str = "",
    customer: Customer | None = None,
    exclude: Case | None = None,
) -> list[Related]:
    """Open cases (not merged) of this customer, or about this order number (exactly) or this
    product (case-insensitively), latest first, at most ``RELATED_ROWS``: one query, nothing when
    nothing is given. Through the partial indexes ``case_open_order`` and ``case_open_product``."""
    order_number, product = (order_number or "").strip(), (product or "").strip()
    match = Q()
    if customer is not None:
        match |= Q(customer=customer)
    if order_number:
        match |= Q(order_number=order_number)
    if product:
        match |= Q(product__iexact=product)
    if not match:
        return []
    qs = (
        cases_visible_to(user=user)
        .exclude(step=Step.CLOSED)
        .filter(match, merged_into__isnull=True)
        .select_related("customer")
        .order_by("-received_at", "-pk")
    )
    if exclude is not None:
        qs = qs.exclude(pk=exclude.pk)
    return [
        Related(
            case=case,
            same_customer=customer is not None and case.customer_id == customer.pk,
            same_order=bool(order_number) and case.order_number == order_number,
            same_product=bool(product) and case.product.casefold() == product.casefold(),
        )
        for case in qs[:RELATED_ROWS]
    ]


def case_related(*, user: User, case: Case) -> list[Related]:
    """For the case page: the other open cases of its customer and about its order or product."""
    if not case.is_open:
        return []
    return open_cases_related(
        user=user,
        order_number=case.order_number,
        product=case.product,
        customer=case.customer,
        exclude=case,
    )
