"""Days and ISO weeks of the user's timezone, and which of them daily-sync and
weekly-synthesis owe.

A day is owed once its sync time has passed (the daily-sync job's scheduled hour, read from
the job registry so cron and this rule cannot drift apart): at 21:00 the day becomes what
the user needs tomorrow. A week is owed once its Sunday's weekly sync time has passed and
daily-sync has done every day of it. Catch-up is from a watermark: every day (week) after
the last one done, oldest first, so a Mac that slept through three evenings gets three
digests on the next run. Day boundaries are local midnights built with `zoneinfo`, so a
day is 23 or 25 hours long on a DST night and a week 167 or 169 hours.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from openclaw_infra.core.jobs import job

DAILY_JOB = "daily-sync"
WEEKLY_JOB = "weekly-synthesis"
_ONE_DAY = timedelta(days=1)


def sync_time(job_name: str) -> time:
    """The local time of day a job's cron schedule (`M H * * …`) fires."""
    fields = job(job_name).schedule.split()
    return time(int(fields[1]), int(fields[0]))


def local_midnight(day: date, tz: ZoneInfo) -> datetime:
    """The instant `day` starts in `tz` (aware)."""
    return datetime.combine(day, time(0), tz)


def day_bounds(day: date, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """[start, end) of a local day: 23, 24 or 25 hours."""
    return local_midnight(day, tz), local_midnight(day + _ONE_DAY, tz)


def days_between(first: date, last: date) -> Iterator[date]:
    day = first
    while day <= last:
        yield day
        day += _ONE_DAY


def last_ready_day(now: datetime, tz: ZoneInfo, at: time) -> date:
    """The newest day whose sync time has passed at `now`."""
    local = now.astimezone(tz)
    today = local.date()
    return today if now >= datetime.combine(today, at, tz) else today - _ONE_DAY


def owed_days(
    last_done: date | None, first_input: date | None, *, now: datetime, tz: ZoneInfo, at: time
) -> list[date]:
    """Days after the watermark (or from the first day with input) up to the last ready one."""
    start = last_done + _ONE_DAY if last_done is not None else first_input
    if start is None:
        return []
    return list(days_between(start, last_ready_day(now, tz, at)))


@dataclass(frozen=True, order=True)
class IsoWeek:
    """An ISO 8601 week: Monday to Sunday; week 1 holds the year's first Thursday, so
    2026-W53 runs from 2026-12-28 to 2027-01-03."""

    year: int
    week: int

    @classmethod
    def of(cls, day: date) -> IsoWeek:
        iso = day.isocalendar()
        return cls(iso.year, iso.week)

    @classmethod
    def parse(cls, key: str) -> IsoWeek:
        year, _, week = key.partition("-W")
        parsed = cls(int(year), int(week))
        date.fromisocalendar(parsed.year, parsed.week, 1)  # ValueError for 2025-W53
        return parsed

    def key(self) -> str:
        return f"{self.year:04d}-W{self.week:02d}"

    @property
    def monday(self) -> date:
        return date.fromisocalendar(self.year, self.week, 1)

    @property
    def sunday(self) -> date:
        return date.fromisocalendar(self.year, self.week, 7)

    def days(self) -> list[date]:
        return list(days_between(self.monday, self.sunday))

    def next(self) -> IsoWeek:
        return IsoWeek.of(self.monday + timedelta(days=7))

    def bounds(self, tz: ZoneInfo) -> tuple[datetime, datetime]:
        """[Monday 00:00, next Monday 00:00) local."""
        return local_midnight(self.monday, tz), local_midnight(self.sunday + _ONE_DAY, tz)


@dataclass(frozen=True)
class OwedWeeks:
    due: list[IsoWeek]  # ready and all their days digested, oldest first
    waiting: list[IsoWeek]  # ready, but daily-sync has not done all their days yet


def owed_weeks(
    last_done: IsoWeek | None,
    first: IsoWeek | None,
    *,
    daily_done_through: date | None,
    now: datetime,
    tz: ZoneInfo,
    at: time,
) -> OwedWeeks:
    """Weeks after the watermark (or from `first`) whose Sunday sync time has passed."""
    start = last_done.next() if last_done is not None else first
    due: list[IsoWeek] = []
    waiting: list[IsoWeek] = []
    week = start
    while week is not None and now >= datetime.combine(week.sunday, at, tz):
        if daily_done_through is not None and daily_done_through >= week.sunday and not waiting:
            due.append(week)
        else:
            waiting.append(week)  # a later week never jumps an earlier one
        week = week.next()
    return OwedWeeks(due, waiting)
