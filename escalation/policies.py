"""Which time-limit policy a case follows. One function; nothing else chooses."""

from __future__ import annotations

from django.core.exceptions import ImproperlyConfigured
from django.db.models import Q

from .defaults import defaults_seed
from .models import AuthorityLimit, Policy, ScheduledJob


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
    candidates = [p for p in rows if not p.is_default]
    if candidates:
        return min(
            candidates,
            key=lambda p: (-(bool(p.urgency) + bool(p.category)), p.closed_within, p.pk),
        )
    default = next((p for p in rows if p.is_default), None)
    if default is None:
        defaults_seed(policy_model=Policy, limit_model=AuthorityLimit, job_model=ScheduledJob)
        if not Policy.objects.filter(is_default=True).exists():
            # The seeded default's name is taken by a policy that is no longer the default.
            raise ImproperlyConfigured(
                "No default time-limit policy: mark one as the default in the admin."
            )
        return policy_for(urgency=urgency, category=category)
    return default
