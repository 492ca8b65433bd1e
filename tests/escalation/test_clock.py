"""Counting time for deadlines: calendar time, and working time (09:00 to 18:00 on China's working
days by default, with its public holidays and the official weekend working days, 调休).

All 2026 dates below are from the ``holidays`` package's China calendar. March 2026 is an
ordinary month: Monday the 2nd to Friday the 6th, then the weekend of the 7th and 8th."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import holidays
import pytest

from escalation.clock import CalendarClock, WorkingClock, clock_for, is_working_day
from escalation.models import Policy

SHANGHAI = ZoneInfo("Asia/Shanghai")
H = timedelta(hours=1)


def at(year, month, day, hour=0, minute=0, tz=SHANGHAI) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=tz)


@pytest.fixture
def clock() -> WorkingClock:
    """The default working time: 09:00 to 18:00, China's calendar, in Shanghai."""
    return WorkingClock(starts=time(9), ends=time(18), country="CN", tz=SHANGHAI)


# ------------------------------------------------------------------ calendar time


def test_calendar_time_is_plain_elapsed_time():
    clock = CalendarClock()
    friday_evening = at(2026, 3, 6, 17)

    assert clock.add(friday_evening, 8 * H) == at(2026, 3, 7, 1)
    assert clock.between(friday_evening, at(2026, 3, 9, 17)) == 72 * H


def test_calendar_time_between_a_later_start_and_an_earlier_end_is_zero():
    assert CalendarClock().between(at(2026, 3, 6, 17), at(2026, 3, 6, 9)) == timedelta(0)


# ------------------------------------------------------------------ working time: ordinary days


def test_working_time_within_one_day_is_elapsed_time(clock):
    assert clock.add(at(2026, 3, 3, 10), 3 * H) == at(2026, 3, 3, 13)
    assert clock.between(at(2026, 3, 3, 10), at(2026, 3, 3, 13)) == 3 * H


def test_working_time_is_exact_to_the_minute(clock):
    # 7 h 43 min are left on Tuesday; the remaining 16 minutes run from Wednesday's opening.
    assert clock.add(at(2026, 3, 3, 10, 17), timedelta(hours=7, minutes=59)) == at(
        2026, 3, 4, 9, 16
    )


def test_working_time_carries_over_the_night_to_the_next_morning(clock):
    assert clock.add(at(2026, 3, 3, 16), 4 * H) == at(2026, 3, 4, 11)
    assert clock.between(at(2026, 3, 3, 16), at(2026, 3, 4, 11)) == 4 * H


def test_working_time_skips_the_weekend(clock):
    assert clock.add(at(2026, 3, 6, 16), 4 * H) == at(2026, 3, 9, 11)
    assert clock.between(at(2026, 3, 6, 16), at(2026, 3, 9, 11)) == 4 * H


def test_a_weekend_has_no_working_time(clock):
    assert clock.between(at(2026, 3, 7, 9), at(2026, 3, 8, 18)) == timedelta(0)


def test_working_time_started_before_opening_counts_from_opening(clock):
    assert clock.add(at(2026, 3, 3, 7, 30), 1 * H) == at(2026, 3, 3, 10)
    assert clock.between(at(2026, 3, 3, 7, 30), at(2026, 3, 3, 10)) == 1 * H


def test_working_time_started_after_closing_counts_from_next_opening(clock):
    assert clock.add(at(2026, 3, 3, 20), 1 * H) == at(2026, 3, 4, 10)


def test_working_time_started_exactly_at_closing_counts_from_next_opening(clock):
    assert clock.add(at(2026, 3, 3, 18), 1 * H) == at(2026, 3, 4, 10)
    assert clock.between(at(2026, 3, 3, 18), at(2026, 3, 4, 9)) == timedelta(0)


def test_an_amount_that_ends_exactly_at_closing_stays_on_that_day(clock):
    assert clock.add(at(2026, 3, 3, 9), 9 * H) == at(2026, 3, 3, 18)
    assert clock.add(at(2026, 3, 3, 17), 1 * H) == at(2026, 3, 3, 18)
    # …and on a Friday it does not slip to Monday morning.
    assert clock.add(at(2026, 3, 6, 12), 6 * H) == at(2026, 3, 6, 18)


def test_working_time_from_a_later_start_to_an_earlier_end_is_zero(clock):
    assert clock.between(at(2026, 3, 4, 12), at(2026, 3, 3, 12)) == timedelta(0)


@pytest.mark.parametrize(
    "start",
    [
        at(2026, 3, 3, 10, 17),  # Tuesday morning
        at(2026, 3, 3, 7),  # before opening
        at(2026, 3, 3, 18),  # at closing
        at(2026, 3, 6, 17, 59),  # Friday, a minute before closing
        at(2026, 3, 7, 12),  # Saturday
        at(2026, 9, 30, 17),  # the eve of National Day
        at(2026, 2, 14, 17),  # a working Saturday before Spring Festival
    ],
)
@pytest.mark.parametrize(
    "amount", [timedelta(minutes=1), 1 * H, 9 * H, timedelta(hours=26, minutes=7), 45 * H]
)
def test_between_is_the_inverse_of_add(clock, start, amount):
    assert clock.between(start, clock.add(start, amount)) == amount


# ------------------------------------------------------------------ working time: China's calendar


def test_national_day_week_has_no_working_time(clock):
    # 1 to 7 October 2026 are off (three holidays, a weekend, two days swapped for weekends).
    assert clock.between(at(2026, 10, 1), at(2026, 10, 8)) == timedelta(0)


def test_working_time_skips_national_day(clock):
    # Wednesday 30 September, 17:00: one hour that day, seven on Thursday 8 October.
    assert clock.add(at(2026, 9, 30, 17), 8 * H) == at(2026, 10, 8, 16)
    assert clock.between(at(2026, 9, 30, 17), at(2026, 10, 8, 16)) == 8 * H


def test_working_time_skips_spring_festival(clock):
    # Saturday 14 February is worked; 15 Feb (Sunday) to 23 Feb (Monday) are not.
    assert clock.add(at(2026, 2, 14, 17), 8 * H) == at(2026, 2, 24, 16)


def test_a_weekday_swapped_for_a_weekend_is_not_worked(clock):
    # Tuesday 6 and Wednesday 7 October 2026 are off in exchange for 20 September and 10 October.
    assert not is_working_day(date(2026, 10, 6), country="CN")
    assert not is_working_day(date(2026, 10, 7), country="CN")
    assert clock.between(at(2026, 10, 7, 9), at(2026, 10, 7, 18)) == timedelta(0)


def test_chinas_calendar_names_its_2026_weekend_working_days():
    """What the library says, so that the tests below rest on the real swaps."""
    workdays = holidays.country_holidays("CN", years=2026).weekend_workdays
    in_2026 = {day for day in workdays if day.year == 2026}

    assert {date(2026, 2, 14), date(2026, 9, 20), date(2026, 10, 10)} <= in_2026
    assert all(day.weekday() >= 5 for day in in_2026)


def test_every_official_weekend_working_day_has_full_working_hours(clock):
    workdays = holidays.country_holidays("CN", years=2026).weekend_workdays
    in_2026 = sorted(day for day in workdays if day.year == 2026)
    assert in_2026

    for day in in_2026:
        assert is_working_day(day, country="CN")
        midnight = datetime.combine(day, time(0), tzinfo=SHANGHAI)
        assert clock.between(midnight, midnight + timedelta(days=1)) == 9 * H, day
        assert clock.add(midnight, 1 * H) == midnight + timedelta(hours=10), day


def test_working_time_counts_an_official_working_saturday(clock):
    # Friday 9 October, 17:00: one hour that day, seven on Saturday 10 October (调休).
    assert date(2026, 10, 10).weekday() == 5
    assert clock.add(at(2026, 10, 9, 17), 8 * H) == at(2026, 10, 10, 16)


def test_working_time_counts_an_official_working_sunday(clock):
    # Friday 18 September, 17:00: one hour that day, seven on Sunday 20 September (调休).
    assert date(2026, 9, 20).weekday() == 6
    assert clock.add(at(2026, 9, 18, 17), 8 * H) == at(2026, 9, 20, 16)


def test_an_ordinary_saturday_is_still_not_worked(clock):
    assert not is_working_day(date(2026, 10, 17), country="CN")
    assert clock.add(at(2026, 10, 16, 17), 8 * H) == at(2026, 10, 19, 16)


# ------------------------------------------------------------------ time zones


def test_working_hours_are_wall_clock_times_of_the_policys_zone(clock):
    # Stored in UTC: Friday 09:00 UTC is 17:00 in Shanghai; due Monday 16:00 Shanghai = 08:00 UTC.
    received = datetime(2026, 3, 6, 9, tzinfo=UTC)

    due = clock.add(received, 8 * H)

    assert due == datetime(2026, 3, 9, 8, tzinfo=UTC)
    assert due.astimezone(SHANGHAI) == at(2026, 3, 9, 16)


def test_a_working_day_in_shanghai_starts_the_previous_evening_in_utc(clock):
    # Monday 9 March 09:00 Shanghai is Monday 01:00 UTC; 00:30 UTC is before opening there.
    assert (
        clock.between(datetime(2026, 3, 9, 0, 30, tzinfo=UTC), datetime(2026, 3, 9, 2, tzinfo=UTC))
        == 1 * H
    )


def test_the_same_policy_without_a_zone_counts_in_the_deployments_zone(settings):
    settings.TIME_ZONE = "UTC"
    policy = Policy(clock=Policy.Clock.WORKING, time_zone="")
    received = datetime(2026, 3, 6, 9, tzinfo=UTC)

    assert clock_for(policy).add(received, 8 * H) == datetime(2026, 3, 6, 17, tzinfo=UTC)


def test_a_working_time_policy_gets_a_clock_with_its_hours_calendar_and_zone():
    policy = Policy(
        clock=Policy.Clock.WORKING,
        workday_starts=time(8, 30),
        workday_ends=time(17, 30),
        holiday_country="CN",
        time_zone="Asia/Shanghai",
    )

    assert clock_for(policy) == WorkingClock(
        starts=time(8, 30), ends=time(17, 30), country="CN", tz=SHANGHAI
    )


def test_a_calendar_policy_gets_the_calendar_clock():
    assert isinstance(clock_for(Policy(clock=Policy.Clock.CALENDAR)), CalendarClock)


def test_a_working_time_policy_counts_before_it_is_read_back_from_the_database():
    # A new Policy holds its default hours as the strings "09:00" and "18:00".
    policy = Policy(clock=Policy.Clock.WORKING, time_zone="Asia/Shanghai")

    assert clock_for(policy).add(at(2026, 3, 6, 17), 8 * H) == at(2026, 3, 9, 16)
