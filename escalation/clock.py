"""Counting time for deadlines: calendar time, or working time (working hours on working days,
public holidays and official working-day swaps from the maintained ``holidays`` package).

Everything is computed on aware datetimes. Working hours are wall-clock times in the policy's
time zone; each day's window is turned into UTC before any subtraction, so a day that changes
its UTC offset (DST) counts its real length. China's calendar (the default) comes with the
State Council's 调休: weekend days that are working days, and weekdays off around holidays."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo

import holidays
from django.conf import settings

# A policy whose calendar has no working day for this long is misconfigured, not slow.
_MAX_DAYS = 3 * 366


@cache
def _calendar(country: str) -> holidays.HolidayBase:
    # ``expand`` (the default) fills in each year on first use; one object per country.
    return holidays.country_holidays(country)


def is_working_day(day: date, *, country: str) -> bool:
    return _calendar(country).is_working_day(day)


class CalendarClock:
    """Plain elapsed time."""

    def add(self, start: datetime, amount: timedelta) -> datetime:
        return start + amount

    def between(self, start: datetime, end: datetime) -> timedelta:
        return max(end - start, timedelta(0))


@dataclass(frozen=True)
class WorkingClock:
    """Working hours from ``starts`` to ``ends`` on the working days of ``country``, in ``tz``."""

    starts: time
    ends: time
    country: str
    tz: ZoneInfo

    def _window(self, day: date) -> tuple[datetime, datetime] | None:
        if not is_working_day(day, country=self.country):
            return None
        opens = datetime.combine(day, self.starts, tzinfo=self.tz).astimezone(UTC)
        closes = datetime.combine(day, self.ends, tzinfo=self.tz).astimezone(UTC)
        return opens, closes

    def add(self, start: datetime, amount: timedelta) -> datetime:
        """The moment ``amount`` of working time after ``start``. A deadline that uses up the
        last minute of a day falls at that day's closing time, not the next morning."""
        start = start.astimezone(UTC)
        day = start.astimezone(self.tz).date()
        left = amount
        for _ in range(_MAX_DAYS):
            window = self._window(day)
            if window is not None:
                opens, closes = window
                begin = max(start, opens)
                if begin < closes:
                    available = closes - begin
                    if left <= available:
                        return begin + left
                    left -= available
            day += timedelta(days=1)
        raise ValueError(f"No working time within {_MAX_DAYS} days in {self.country}.")

    def between(self, start: datetime, end: datetime) -> timedelta:
        """Working time from ``start`` to ``end`` (zero if end is not after start)."""
        start, end = start.astimezone(UTC), end.astimezone(UTC)
        total = timedelta(0)
        day = start.astimezone(self.tz).date()
        last = end.astimezone(self.tz).date()
        while day <= last:
            window = self._window(day)
            if window is not None:
                begin, finish = max(start, window[0]), min(end, window[1])
                if begin < finish:
                    total += finish - begin
            day += timedelta(days=1)
        return total


def _time(value: time | str) -> time:
    # A policy built in code and not yet read back may hold its times as strings ("09:00").
    return time.fromisoformat(value) if isinstance(value, str) else value


def clock_for(policy) -> CalendarClock | WorkingClock:
    """The clock a policy counts in."""
    if policy.clock == "working":
        return WorkingClock(
            starts=_time(policy.workday_starts),
            ends=_time(policy.workday_ends),
            country=policy.holiday_country,
            tz=ZoneInfo(policy.time_zone or settings.TIME_ZONE),
        )
    return CalendarClock()
