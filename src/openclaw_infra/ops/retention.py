"""Which snapshots to keep: the newest N, plus the newest of each of the last D days,
W ISO weeks and M months that have a snapshot (the rules of borg/restic `prune`).

Rules are independent and their union is kept, so a snapshot may satisfy several at once.
Periods are counted only where a snapshot exists: a Mac that was off for a week still keeps
D distinct days of history, never zero. Days, weeks and months are the user's (`tz`), so
"yesterday's backup" means the same thing to the operator and to this code.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass
from datetime import datetime, tzinfo


@dataclass(frozen=True)
class Policy:
    last: int
    daily: int
    weekly: int
    monthly: int


def _day(t: datetime) -> Hashable:
    return t.date()


def _week(t: datetime) -> Hashable:
    iso = t.isocalendar()
    return (iso.year, iso.week)


def _month(t: datetime) -> Hashable:
    return (t.year, t.month)


def _newest_per_period(
    ordered: list[tuple[str, datetime]], count: int, period: Callable[[datetime], Hashable]
) -> set[str]:
    keep: set[str] = set()
    seen: set[Hashable] = set()
    for snap_id, when in ordered:
        if len(seen) >= count:
            break
        key = period(when)
        if key not in seen:
            seen.add(key)
            keep.add(snap_id)
    return keep


def kept(snapshots: Iterable[tuple[str, datetime]], policy: Policy, tz: tzinfo) -> set[str]:
    """Ids to keep among `(id, aware creation time)` pairs; the rest may be pruned."""
    ordered = sorted(
        ((i, t.astimezone(tz)) for i, t in snapshots),
        key=lambda pair: (pair[1], pair[0]),
        reverse=True,
    )
    keep = {snap_id for snap_id, _ in ordered[: max(policy.last, 0)]}
    keep |= _newest_per_period(ordered, policy.daily, _day)
    keep |= _newest_per_period(ordered, policy.weekly, _week)
    keep |= _newest_per_period(ordered, policy.monthly, _month)
    return keep
