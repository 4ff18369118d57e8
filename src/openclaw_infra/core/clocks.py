"""The clocks a run records when it starts, so `infra health` can tell a machine that slept
from jobs that were simply not run.

Wall time alone cannot: a silent stretch in the ledger looks the same whether the Mac slept
or cron never started the jobs. Two clocks that start at boot can: one counts time asleep,
the other stops while the machine sleeps (macOS: CLOCK_MONOTONIC and CLOCK_UPTIME_RAW;
Linux: CLOCK_BOOTTIME and CLOCK_MONOTONIC). Between two runs of one boot, the difference of
their deltas is the time asleep; a run's own readings say how long ago its boot was and how
much of that was slept.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from pathlib import Path

_BOOT_ID = Path("/proc/sys/kernel/random/boot_id")  # Linux; macOS has none to read cheaply
# without a boot id, two runs share a boot when their boot's wall time agrees this closely
BOOT_TOLERANCE_S = 300.0


@dataclass(frozen=True)
class RunClocks:
    """A run's readings at its start; all None where the platform has no such clocks."""

    since_boot: float | None = None  # seconds since boot, sleep included
    awake: float | None = None  # seconds since boot, sleep excluded
    boot_id: str | None = None  # the kernel's id of this boot (Linux)


def _clock_ids() -> tuple[int, int] | None:
    """(counts sleep, stops in sleep) on this platform, or None."""
    if sys.platform == "darwin":
        return time.CLOCK_MONOTONIC, time.CLOCK_UPTIME_RAW
    if sys.platform.startswith("linux"):
        return time.CLOCK_BOOTTIME, time.CLOCK_MONOTONIC
    return None


def _boot_id() -> str | None:
    try:
        return _BOOT_ID.read_text(encoding="ascii").strip() or None
    except (OSError, UnicodeDecodeError):
        return None


def read_clocks() -> RunClocks:
    ids = _clock_ids()
    if ids is None:
        return RunClocks()
    total, awake = ids
    awake_s = time.clock_gettime(awake)  # first, so no sleep reads as a tiny negative
    return RunClocks(time.clock_gettime(total), awake_s, _boot_id())


def asleep_between(wall_a: float, a: RunClocks, wall_b: float, b: RunClocks) -> float:
    """Seconds the machine slept (or was off) between two run starts, `b` the later one;
    0 when either run recorded no clocks (rows from before they were recorded)."""
    gap = wall_b - wall_a
    if gap <= 0 or a.since_boot is None or a.awake is None:
        return 0.0
    if b.since_boot is None or b.awake is None:
        return 0.0
    if a.boot_id and b.boot_id:
        same_boot = a.boot_id == b.boot_id
    else:  # a reboot restarts both clocks, which moves the wall time the boot began at
        moved = abs((wall_b - b.since_boot) - (wall_a - a.since_boot))
        same_boot = b.since_boot >= a.since_boot and moved <= BOOT_TOLERANCE_S
    if same_boot:
        slept = (b.since_boot - a.since_boot) - (b.awake - a.awake)
    else:
        # off from the last run of the old boot until the new boot, then asleep since it
        slept = max(0.0, gap - b.since_boot) + (b.since_boot - b.awake)
    return min(max(slept, 0.0), gap)
