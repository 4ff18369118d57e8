"""Retention: which snapshots survive a prune (ops/retention.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from openclaw_infra.ops.retention import Policy, kept

START = datetime(2026, 1, 1, tzinfo=UTC)


def _snaps(offsets_h: list[int]) -> list[tuple[str, datetime]]:
    return [(f"s{n:04d}", START + timedelta(hours=h)) for n, h in enumerate(sorted(offsets_h))]


def test_daily_weekly_monthly_keep_the_newest_of_each_period() -> None:
    """Sixty daily snapshots at 03:30 with 2 last, 7 daily, 4 weekly, 2 monthly keep the
    newest 7 days, the newest of the 4 newest ISO weeks and of the 2 newest months."""
    snaps = [(f"d{d:02d}", START + timedelta(days=d, hours=3, minutes=30)) for d in range(60)]
    keep = kept(snaps, Policy(last=2, daily=7, weekly=4, monthly=2), UTC)
    days = {f"d{d:02d}" for d in range(53, 60)}
    # 2026-03-01 (d59) is a Sunday: week ends fall on d59, d52, d45, d38
    weeks = {"d59", "d52", "d45", "d38"}
    months = {"d59", "d58"}  # newest of March (d59) and of February (d58)
    assert keep == days | weeks | months


def test_periods_are_the_users_days() -> None:
    """Two snapshots on the same UTC day but different local days both count as daily."""
    tz = ZoneInfo("America/Los_Angeles")
    snaps = [
        ("a", datetime(2026, 5, 2, 1, tzinfo=UTC)),
        ("b", datetime(2026, 5, 2, 20, tzinfo=UTC)),
    ]
    assert kept(snaps, Policy(last=1, daily=2, weekly=0, monthly=0), tz) == {"a", "b"}
    assert kept(snaps, Policy(last=1, daily=2, weekly=0, monthly=0), UTC) == {"b"}


policies = st.builds(
    Policy, st.integers(1, 5), st.integers(0, 10), st.integers(0, 6), st.integers(0, 4)
)
offsets = st.lists(st.integers(0, 24 * 200), min_size=1, max_size=60, unique=True)


@given(offsets, policies)
def test_prune_invariants(hours: list[int], policy: Policy) -> None:
    """Always the newest `last` are kept; every kept id exists; pruning is idempotent (the
    survivors of a prune survive the next one); each of the newest `daily` days that has a
    snapshot keeps its newest one."""
    snaps = _snaps(hours)
    keep = kept(snaps, policy, UTC)
    assert keep <= {i for i, _ in snaps}
    newest_first = sorted(snaps, key=lambda p: p[1], reverse=True)
    assert {i for i, _ in newest_first[: policy.last]} <= keep
    survivors = [s for s in snaps if s[0] in keep]
    assert kept(survivors, policy, UTC) == keep
    days: dict[object, str] = {}
    for snap_id, when in newest_first:
        days.setdefault(when.date(), snap_id)
    for day in sorted(days, reverse=True)[: policy.daily]:
        assert days[day] in keep
