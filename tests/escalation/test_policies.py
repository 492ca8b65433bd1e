"""Which time-limit policy a case follows (``policy_for``), and what a policy may say
(``Policy.clean``). Migration 0002 seeds the 1/3/7-day default and the "Red urgency" policy."""

from __future__ import annotations

from datetime import time, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from escalation.models import Deadline, Policy
from escalation.policies import policy_for

pytestmark = pytest.mark.django_db

D = timedelta(days=1)
H = timedelta(hours=1)


def policy(name: str, **fields) -> Policy:
    return Policy.objects.create(name=name, **fields)


def errors_of(candidate: Policy) -> dict[str, list[str]]:
    with pytest.raises(ValidationError) as raised:
        candidate.clean()
    return raised.value.message_dict


# ------------------------------------------------------------------ policy_for


def test_the_default_policy_applies_when_no_other_matches():
    chosen = policy_for(urgency="yellow", category="product_quality")

    assert chosen.is_default
    assert (chosen.decided_within, chosen.acted_within, chosen.closed_within) == (
        1 * D,
        3 * D,
        7 * D,
    )


def test_a_red_case_follows_the_red_urgency_policy():
    chosen = policy_for(urgency="red", category="product_quality")

    assert chosen.name == "Red urgency"
    assert (chosen.decided_within, chosen.acted_within, chosen.closed_within) == (
        8 * H,
        2 * D,
        5 * D,
    )


def test_a_category_policy_applies_to_its_category_at_any_urgency():
    safety = policy("Safety", category="safety", closed_within=4 * D)

    assert policy_for(urgency="yellow", category="safety") == safety
    assert policy_for(urgency="green", category="safety") == safety
    assert policy_for(urgency="green", category="other").is_default


def test_a_policy_naming_urgency_and_category_wins_over_one_naming_either():
    # Even though it is more lenient than both.
    both = policy("Red safety", urgency="red", category="safety", closed_within=6 * D)
    policy("Safety", category="safety", closed_within=3 * D)

    assert policy_for(urgency="red", category="safety") == both


def test_a_policy_naming_both_does_not_apply_when_only_one_matches():
    policy("Red safety", urgency="red", category="safety")

    assert policy_for(urgency="red", category="other").name == "Red urgency"
    assert policy_for(urgency="yellow", category="safety").is_default


def test_between_a_category_and_an_urgency_match_the_stricter_closing_limit_wins():
    stricter = policy("Safety", category="safety", closed_within=3 * D)

    assert policy_for(urgency="red", category="safety") == stricter  # 3 days < red's 5


def test_a_category_policy_more_lenient_than_the_urgency_policy_loses():
    policy("Safety", category="safety", closed_within=6 * D)

    assert policy_for(urgency="red", category="safety").name == "Red urgency"


def test_an_inactive_policy_is_ignored():
    policy("Safety", category="safety", closed_within=3 * D, active=False)
    Policy.objects.filter(name="Red urgency").update(active=False)

    assert policy_for(urgency="red", category="safety").is_default


def test_without_any_policy_the_domains_defaults_are_seeded_again():
    Deadline.objects.all().delete()
    Policy.objects.all().delete()

    chosen = policy_for(urgency="green", category="safety")

    assert set(Policy.objects.values_list("name", flat=True)) == {"1/3/7 days", "Red urgency"}
    assert chosen.is_default
    assert policy_for(urgency="red", category="safety").name == "Red urgency"
    assert (chosen.decided_within, chosen.acted_within, chosen.closed_within) == (
        1 * D,
        3 * D,
        7 * D,
    )
    assert chosen.clock == Policy.Clock.CALENDAR
    assert chosen.pausable_milestones == []


def test_only_one_default_policy_can_exist():
    with pytest.raises(IntegrityError), transaction.atomic():
        policy("Another default", is_default=True)


# ------------------------------------------------------------------ versions


def test_a_new_policy_is_version_one():
    assert policy("Safety", category="safety").version == 1


def test_every_save_of_a_policy_raises_its_version():
    safety = policy("Safety", category="safety")

    safety.closed_within = 5 * D
    safety.save()
    safety.acted_within = 2 * D
    safety.save()

    assert safety.version == 3
    assert Policy.objects.get(pk=safety.pk).version == 3
    assert str(safety) == "Safety (v3)"


# ------------------------------------------------------------------ what a policy may say


def valid(**fields) -> Policy:
    return Policy(**{"name": "Safety", "category": "safety", **fields})


def test_a_policy_for_a_category_is_valid():
    valid().clean()
    valid(category="", urgency="green", clock=Policy.Clock.WORKING).clean()
    valid(time_zone="Asia/Shanghai", pausable_milestones=["decided", "acted", "closed"]).clean()


def test_the_default_policy_names_no_urgency_or_category():
    assert "is_default" in errors_of(valid(is_default=True))
    assert "is_default" in errors_of(valid(is_default=True, category="", urgency="red"))
    valid(is_default=True, category="").clean()


def test_a_policy_other_than_the_default_says_what_it_is_for():
    assert "urgency" in errors_of(valid(category=""))


@pytest.mark.parametrize(
    ("decided", "acted", "closed"),
    [
        (2 * D, 1 * D, 7 * D),  # Decide after Act
        (1 * D, 8 * D, 7 * D),  # Act after closing
        (timedelta(0), 3 * D, 7 * D),  # no time at all
        (-1 * H, 3 * D, 7 * D),
    ],
)
def test_the_limits_are_positive_and_in_order(decided, acted, closed):
    candidate = valid(decided_within=decided, acted_within=acted, closed_within=closed)

    assert "closed_within" in errors_of(candidate)


def test_equal_limits_are_in_order():
    valid(decided_within=2 * D, acted_within=2 * D, closed_within=2 * D).clean()


def test_a_working_day_ends_after_it_starts():
    candidate = valid(clock=Policy.Clock.WORKING, workday_starts=time(18), workday_ends=time(9))

    assert "workday_ends" in errors_of(candidate)


def test_only_known_milestones_may_stop_their_clock():
    messages = errors_of(valid(pausable_milestones=["decided", "listened"]))

    assert messages["pausable_milestones"] == ["Unknown milestones: listened"]


@pytest.mark.parametrize("zone", ["Mars/Olympus_Mons", "../etc/passwd", "Asia/"])
def test_the_time_zone_must_exist(zone):
    assert "time_zone" in errors_of(valid(time_zone=zone))


def test_every_mistake_is_reported_at_once():
    candidate = valid(
        category="",
        decided_within=2 * D,
        acted_within=1 * D,
        pausable_milestones=["listened"],
        time_zone="Nowhere/At_All",
    )

    assert set(errors_of(candidate)) == {
        "urgency",
        "closed_within",
        "pausable_milestones",
        "time_zone",
    }


def test_a_policy_needs_a_holiday_calendar_the_library_knows():
    policy = Policy(name="Nowhere", category="safety", holiday_country="XX")

    with pytest.raises(ValidationError) as refused:
        policy.full_clean()

    assert "holiday_country" in refused.value.message_dict


def test_a_policy_may_not_remind_more_often_than_every_five_minutes():
    policy = Policy(name="Pester", category="safety", renotify_every=timedelta(seconds=0))

    with pytest.raises(ValidationError) as refused:
        policy.full_clean()

    assert "renotify_every" in refused.value.message_dict
