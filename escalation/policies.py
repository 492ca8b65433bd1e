"""Which time-limit policy a case follows. One rule (``_choose``); nothing else chooses."""

from __future__ import annotations

from django.core.exceptions import ImproperlyConfigured
from django.db.models import Q

from .defaults import defaults_seed
from .models import AuthorityLimit, Policy, ScheduledJob


def _applies(policy: Policy, urgency: str, category: str) -> bool:
    return (
        policy.active
        and not policy.is_default
        and policy.urgency in ("", urgency)
        and policy.category in ("", category)
    )


def _choose(rows: list[Policy], urgency: str, category: str) -> Policy | None:
    """Among ``rows`` (active policies and the default): the most specific that applies, the
    stricter by its closing limit between equals, else the default; None without one."""
    candidates = [p for p in rows if _applies(p, urgency, category)]
    if candidates:
        return min(
            candidates,
            key=lambda p: (-(bool(p.urgency) + bool(p.category)), p.closed_within, p.pk),
        )
    return next((p for p in rows if p.is_default), None)


def policy_for(*, urgency: str, category: str) -> Policy:
    """The most specific active policy for this urgency and category: one naming both, then one
    naming either (the stricter, by its closing limit, when a category policy and an urgency
    policy both match), then the default. Without a default the domain's defaults are seeded
    again (``escalation.defaults``), so a case can never be received without deadlines."""
    # One query: the policies that could apply and the default, chosen between here.
    rows = list(
        Policy.objects.filter(
            Q(is_default=True)
            | Q(
                Q(urgency="") | Q(urgency=urgency),
                Q(category="") | Q(category=category),
                active=True,
                is_default=False,
            )
        )
    )
    chosen = _choose(rows, urgency, category)
    if chosen is None:
        defaults_seed(policy_model=Policy, limit_model=AuthorityLimit, job_model=ScheduledJob)
        if not Policy.objects.filter(is_default=True).exists():
            # The seeded default's name is taken by a policy that is no longer the default.
            raise ImproperlyConfigured(
                "No default time-limit policy: mark one as the default in the admin."
            )
        return policy_for(urgency=urgency, category=category)
    return chosen


class PolicyBook:
    """Every active policy and the default, read once (one query), chosen among as
    ``policy_for`` chooses: for work on many cases in one transaction (a batch of the sweep)."""

    def __init__(self) -> None:
        self._rows = list(Policy.objects.filter(Q(is_default=True) | Q(active=True)))

    def policy_for(self, *, urgency: str, category: str) -> Policy:
        return _choose(self._rows, urgency, category) or policy_for(
            urgency=urgency, category=category
        )
