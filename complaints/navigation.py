"""The header's counts, read for every app in one query.

Each app that shows a count in the navigation registers what it counts (``counter_register``):
a function of the user that gives named querysets, none where the user has no such count.
``navigation_counts`` reads them all as scalar subqueries of one statement — six counts from
four apps cost one round trip, not six — once per request (``for_request``) and only when a
page shows the header (the context processors are lazy).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache

from django.db.models import F, Func, IntegerField, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce
from django.http import HttpRequest

from .models import User

Counter = Callable[[User], dict[str, QuerySet]]
_counters: list[Counter] = []


def counter_register(counter: Counter) -> Counter:
    """Add an app's counts to the navigation (from its ``AppConfig.ready``, or as a decorator)."""
    if counter not in _counters:
        _counters.append(counter)
    return counter


def _count(qs: QuerySet) -> Coalesce:
    """``SELECT COUNT(pk) FROM …`` of the queryset, as a value of the outer query (COUNT as a
    plain function, so that Django adds no GROUP BY)."""
    counted = qs.order_by().annotate(_n=Func(F("pk"), function="COUNT")).values("_n")
    return Coalesce(Subquery(counted[:1], output_field=IntegerField()), Value(0))


def counts_at_once(*, user: User, querysets: dict[str, QuerySet]) -> dict[str, int]:
    """How many rows each queryset has, in one query."""
    if not querysets:
        return {}
    row = User.objects.filter(pk=user.pk).values(
        **{name: _count(qs) for name, qs in querysets.items()}
    )
    return dict(row.get())


def navigation_counts(*, user: User) -> dict[str, int]:
    querysets: dict[str, QuerySet] = {}
    for counter in _counters:
        querysets |= counter(user)
    return counts_at_once(user=user, querysets=querysets)


def for_request(request: HttpRequest) -> Callable[[], dict[str, int]]:
    """The request's counts, read the first time a template asks (then kept for the request)."""
    if not hasattr(request, "_navigation_counts"):
        user = request.user
        request._navigation_counts = cache(lambda: navigation_counts(user=user))  # type: ignore[attr-defined]
    return request._navigation_counts  # type: ignore[attr-defined]
