"""Hours of the user's timezone: DST-safe keys and labels, placement of undated or future
entries, and which hours are owed (oldest first, capped, the open hour held back)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from openclaw_infra.pipeline.hours import Hour, owed_hours, place

NY = ZoneInfo("America/New_York")


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_fall_back_night_has_two_one_oclock_hours() -> None:
    """On 2026-11-01 New York's 01:00 happens twice: two hours, two labels, one date."""
    first, second = Hour.of(utc(2026, 11, 1, 5, 30), NY), Hour.of(utc(2026, 11, 1, 6, 30), NY)
    assert first != second
    assert first.start == utc(2026, 11, 1, 5) and second.start == utc(2026, 11, 1, 6)
    assert first.label(NY) == "01:00 EDT–01:00 EST"
    assert second.label(NY) == "01:00–02:00 EST"
    assert first.day(NY) == second.day(NY) == datetime(2026, 11, 1).date()


def test_spring_forward_skips_two_oclock() -> None:
    """On 2026-03-08 02:00 does not exist in New York: 01:00 EST is followed by 03:00 EDT."""
    before, after = Hour.of(utc(2026, 3, 8, 6, 59), NY), Hour.of(utc(2026, 3, 8, 7, 0), NY)
    assert before.label(NY) == "01:00 EST–03:00 EDT"
    assert before.end(NY) == after.start
    assert after.label(NY) == "03:00–04:00 EDT"


def test_half_hour_zones() -> None:
    """Kolkata (+05:30): local hours start at :30 UTC. Lord Howe's 30-minute DST shift makes
    one local hour 30 minutes long, and the next hour starts where it ends."""
    kolkata = ZoneInfo("Asia/Kolkata")
    hour = Hour.of(utc(2026, 3, 2, 9, 10), kolkata)
    assert hour.start == utc(2026, 3, 2, 8, 30) and hour.label(kolkata) == "14:00–15:00 IST"
    lord_howe = ZoneInfo("Australia/Lord_Howe")
    # 2026-10-04 02:00 +10:30 jumps to 02:30 +11:00 (15:30 UTC on the 3rd)
    short = Hour.of(utc(2026, 10, 3, 15, 40), lord_howe)
    following = Hour.of(short.end(lord_howe), lord_howe)
    assert short.end(lord_howe) == utc(2026, 10, 3, 16, 0)
    assert following.start == short.end(lord_howe)


@given(
    st.datetimes(
        min_value=datetime(2020, 1, 1), max_value=datetime(2035, 1, 1), timezones=st.just(UTC)
    ),
    st.sampled_from(
        [
            "Europe/Berlin",
            "America/New_York",
            "Asia/Kolkata",
            "UTC",
            "Australia/Lord_Howe",
            "America/St_Johns",
        ]
    ),
)
def test_every_instant_falls_in_its_hour(ts: datetime, zone: str) -> None:
    """For any instant and zone: start <= instant < end, and the key round-trips."""
    tz = ZoneInfo(zone)
    hour = Hour.of(ts, tz)
    assert hour.start <= ts < hour.end(tz)
    assert Hour.from_key(hour.key()) == hour


def test_missing_and_future_stamps_take_neighbours() -> None:
    """Undated entries and entries stamped in the future are filed with the previous entry,
    else the next one; a transcript with no usable stamp uses the fallback (file mtime)."""
    now = utc(2026, 3, 2, 12)
    a, b = utc(2026, 3, 2, 9, 5), utc(2026, 3, 2, 10, 40)
    placed = place([None, a, None, utc(2099, 1, 1), b], now=now, fallback=now)
    assert placed.times == [a, a, a, a, b]
    assert (placed.undated, placed.future) == (2, 1)
    alone = place([None, utc(2099, 1, 1)], now=now, fallback=utc(2026, 3, 1, 8))
    assert alone.times == [utc(2026, 3, 1, 8)] * 2
    assert place([], now=now, fallback=now).times == []


def test_owed_hours_cap_and_open_hour() -> None:
    """Ended hours are due oldest first up to the cap, the rest deferred; the hour still
    running is pending (never summarised half-way)."""
    now = utc(2026, 3, 2, 12, 5)
    hours = [Hour.of(now - timedelta(hours=h), UTC) for h in (0, 3, 1, 9, 2, 1)]
    owed = owed_hours(hours, now=now, tz=UTC, cap=2)
    assert [h.start.hour for h in owed.due] == [3, 9]
    assert [h.start.hour for h in owed.deferred] == [10, 11]
    assert [h.start.hour for h in owed.pending] == [12]
