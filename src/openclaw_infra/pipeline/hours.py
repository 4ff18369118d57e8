"""Hours of the user's timezone: which hour an entry belongs to, and which hours are owed.

An hour is identified by the UTC instant its local wall-clock hour starts, never by the
wall-clock label: on the night clocks go back, 01:00–02:00 happens twice and those are two
different hours with two sections; on the night they go forward, 02:00 simply does not
exist. Zones with half-hour offsets (Asia/Kolkata) or half-hour DST shifts (Australia/
Lord_Howe) work the same way, because the floor is taken on the local clock.

Only hours that have ended are owed: the current hour is summarised by the next run, so a
section is written once, complete, and never amended by the run after.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

# an entry stamped further ahead than this is treated as undated (a skewed clock)
FUTURE_SKEW = timedelta(minutes=5)
_ONE_HOUR = timedelta(hours=1)


@dataclass(frozen=True, order=True)
class Hour:
    """One hour of the user's local clock, keyed by its first instant in UTC."""

    start: datetime  # aware, UTC

    @classmethod
    def of(cls, ts: datetime, tz: ZoneInfo) -> Hour:
        local = ts.astimezone(tz)
        # replace() keeps `fold`, so the repeated 01:00 of a fall-back night stays distinct
        floored = local.replace(minute=0, second=0, microsecond=0)
        return cls(floored.astimezone(UTC))

    def end(self, tz: ZoneInfo) -> datetime:
        """The next local hour's start (not always start + 60 min in every zone)."""
        following = Hour.of(self.start + _ONE_HOUR, tz).start
        return following if following > self.start else self.start + _ONE_HOUR

    def local_start(self, tz: ZoneInfo) -> datetime:
        return self.start.astimezone(tz)

    def day(self, tz: ZoneInfo) -> date:
        """The user's date this hour belongs to (names the hourly file)."""
        return self.local_start(tz).date()

    def label(self, tz: ZoneInfo) -> str:
        """`14:00–15:00 CET`; both zone names when the hour spans a clock change."""
        start, end = self.local_start(tz), self.end(tz).astimezone(tz)
        if start.tzname() == end.tzname():
            return f"{start:%H:%M}–{end:%H:%M} {start.tzname()}"
        return f"{start:%H:%M} {start.tzname()}–{end:%H:%M} {end.tzname()}"

    def key(self) -> str:
        return self.start.strftime("%Y-%m-%dT%H:%M:%SZ")

    @classmethod
    def from_key(cls, key: str) -> Hour:
        return cls(datetime.strptime(key, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC))


@dataclass(frozen=True)
class Placement:
    """The instant each entry is filed under, and why some were not their own stamp."""

    times: list[datetime]
    undated: int  # no timestamp: took a neighbour's
    future: int  # stamped in the future: took a neighbour's


def place(stamps: Sequence[datetime | None], *, now: datetime, fallback: datetime) -> Placement:
    """Fill missing or future stamps from the nearest earlier entry of the same transcript,
    else the nearest later one, else `fallback` (when the transcript file last changed).

    Neighbours, not "now": an entry is filed next to the conversation it was part of, and a
    run at 15:05 never invents a 15:00 hour for an entry written at 14:20.
    """
    limit = now + FUTURE_SKEW
    undated = sum(1 for s in stamps if s is None)
    future = sum(1 for s in stamps if s is not None and s > limit)
    usable: list[datetime | None] = [s if s is not None and s <= limit else None for s in stamps]
    filled = list(usable)
    previous: datetime | None = None
    for i, stamp in enumerate(filled):
        if stamp is None:
            filled[i] = previous
        else:
            previous = stamp
    following: datetime | None = None
    for i in range(len(filled) - 1, -1, -1):
        if usable[i] is not None:
            following = usable[i]
        if filled[i] is None:
            filled[i] = following
    base = min(fallback, now)
    return Placement([f if f is not None else base for f in filled], undated, future)


@dataclass(frozen=True)
class OwedHours:
    due: list[Hour]  # ended, not yet summarised, oldest first, within the cap
    deferred: list[Hour]  # ended and owed, beyond this run's cap
    pending: list[Hour]  # not ended yet: the next run's work


def owed_hours(hours: Iterable[Hour], *, now: datetime, tz: ZoneInfo, cap: int) -> OwedHours:
    """Split the hours that have unsummarised entries into due, deferred and pending."""
    distinct = set(hours)
    ended = sorted(h for h in distinct if h.end(tz) <= now)
    pending = sorted(h for h in distinct if h.end(tz) > now)
    return OwedHours(ended[:cap], ended[cap:], pending)
