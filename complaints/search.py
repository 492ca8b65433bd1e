"""Finding cases by what is typed in a case list's search box (the pages and the API).

On PostgreSQL a word is found through two GIN indexes, never by reading every case:

* the case's own text — reference, product, order number, what happened, what the customer
  wants — kept in ``Case.search_vector`` as its search terms (``complaints.text``: Latin words,
  and Chinese as character bigrams, which PostgreSQL cannot cut into words). The services write
  it with the fields (``search_vector_of``), in the same INSERT or UPDATE. Stored, not computed
  by an index expression: where the planner reads cases in date order rather than through the
  index (a prefix it takes for common), testing a case costs little (0.8 s → 41 ms for a term
  found in one case of 100,000);
* the customer's name, phone and email, indexed as they are (``to_tsvector('simple', …)`` over
  the columns): a name changed anywhere, the admin included, is found at once.

Every term typed must match (AND), each as a prefix ("refun" finds "refund" and "refunded"),
in the case's text or in its customer's details: the customers are found first (one small
query), and the cases whose text matches or whose customer was found are read through both
indexes at once. A phone number or an email address typed whole is looked up exactly (the
customers' unique indexes), and so is a whole reference. On SQLite (the embedded default, a few
cases) each field is compared with ``icontains``, as before.
"""

from __future__ import annotations

import re

from django.contrib.postgres.search import SearchQuery, SearchVector
from django.db import connection
from django.db.models import Q, QuerySet, Value

from . import text
from .errors import InvalidInput
from .languages import CJK
from .models import Case, Customer

# The case's fields whose terms ``search_vector`` holds; the services refresh it when one changes.
SEARCHED_FIELDS = ("reference", "product", "order_number", "description", "desired_outcome")
# The customer's indexed expression: migration 0019 builds its index from the same one.
CUSTOMER_VECTOR = SearchVector("name", "phone", "email", config="simple")

_CJK_RUN = re.compile(f"[{CJK}]+")
# A whole reference (C202612-00042), looked up exactly through its unique index.
_REFERENCE = re.compile(r"[A-Za-z]\d{6}-[A-Za-z0-9]+")
_LOOKS_LIKE_PHONE = re.compile(r"\+?[\d\s().-]{6,}")
# The most customers whose keys a search lists in its query (``_customer_keys``).
_KEYS_AT_MOST = 500


def search_document(case: Case) -> str:
    """The case's searched fields as the terms its vector holds, separated by spaces."""
    return text.bigram_document("\n".join(getattr(case, name) or "" for name in SEARCHED_FIELDS))


def search_vector_of(case: Case) -> SearchVector | None:
    """What ``Case.search_vector`` is to be set to, in the statement that saves the case's
    fields (None on SQLite, which keeps no vector)."""
    if not full_text():
        return None
    return SearchVector(Value(search_document(case)), config="simple")


def full_text() -> bool:
    """Whether the database searches full text (PostgreSQL; the knowledge base asks too)."""
    return connection.vendor == "postgresql"


def _query(terms: list[str]) -> SearchQuery:
    """Every term, each as a prefix. Terms are [a-z0-9]+ or Chinese characters only
    (``complaints.text``), so joining them cannot make a malformed raw query."""
    raw = " & ".join(f"{term}:*" for term in terms)
    return SearchQuery(raw, config="simple", search_type="raw")


def _customers_by_email(typed: str) -> QuerySet[Customer]:
    """A whole address exactly (its unique index), or the beginning of one (rare: no index
    serves it, the customers are read)."""
    # Imported here: the services import this module to keep the vector (a cycle otherwise).
    from .services import email_normalize

    try:
        return Customer.objects.filter(email=email_normalize(typed))
    except InvalidInput:
        return Customer.objects.filter(email__startswith=typed.lower())


def _customers_by_phone(typed: str) -> QuerySet[Customer] | None:
    """The customer of a phone number typed whole, in any way it is written (its unique index);
    None if the text is no phone number."""
    from .services import phone_normalize

    if not _LOOKS_LIKE_PHONE.fullmatch(typed):
        return None
    try:
        return Customer.objects.filter(phone=phone_normalize(typed))
    except InvalidInput:
        return None


def cases_search(qs: QuerySet[Case], typed: str) -> QuerySet[Case]:
    """The cases of ``qs`` that match what was typed."""
    typed = typed.strip()
    if not typed:
        return qs
    if not full_text():
        return qs.filter(
            Q(reference__icontains=typed)
            | Q(customer__name__icontains=typed)
            | Q(customer__phone__icontains=typed)
            | Q(customer__email__icontains=typed)
            | Q(description__icontains=typed)
            | Q(desired_outcome__icontains=typed)
            | Q(product__icontains=typed)
            | Q(order_number__icontains=typed)
        )
    if _REFERENCE.fullmatch(typed):
        return qs.filter(reference=typed.upper())
    if "@" in typed:
        return qs.filter(customer__in=_customer_keys(_customers_by_email(typed)))
    words, bigrams = text.terms(typed)
    customers = _customers_by_phone(typed)
    if customers is None:
        if not (words or bigrams):
            # Nothing to look up as words (punctuation, a single letter): the beginning of a
            # reference, through its index.
            return qs.filter(reference__startswith=typed.upper())
        # A name is indexed as written: a Chinese name is one token, found by its beginning.
        names = [*words, *_CJK_RUN.findall(typed)]
        customers = Customer.objects.alias(vector=CUSTOMER_VECTOR).filter(vector=_query(names))
    found = Q(customer__in=_customer_keys(customers))
    if words or bigrams:
        # Digits typed may be a phone number and an order number at once: either.
        found |= Q(search_vector=_query([*words, *bigrams]))
    return qs.filter(found)


def _customer_keys(customers: QuerySet[Customer]) -> list[int] | QuerySet[Customer]:
    """The customers found, as a list of keys when they are few: ``customer_id IN (1, 2, …)``
    beside the case's own text lets PostgreSQL combine both indexes (a BitmapOr) where a
    subquery would make it read every case. A name typed that begins hundreds of names stays
    a subquery (slower, but nothing is left out)."""
    keys = list(customers.values_list("pk", flat=True)[: _KEYS_AT_MOST + 1])
    return keys if len(keys) <= _KEYS_AT_MOST else customers.values("pk")
