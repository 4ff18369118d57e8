"""The job registry's cron expressions, turned into launchd LaunchAgents.

cron skips runs while a Mac sleeps; launchd's StartCalendarInterval runs a missed job once
at wake. Both are generated from the same registry, so they never disagree. Only the cron
forms the registry uses are accepted: `*/N * * * *`, and fixed minute/hour/weekday fields.
"""

from __future__ import annotations

import plistlib
from pathlib import Path

from openclaw_infra.core.jobs import JOBS, SERVICE_ARGS, SERVICE_NAME, JobSpec

LABEL_PREFIX = "ai.openclaw.infra."


def _field(text: str, name: str) -> list[int] | None:
    if text == "*":
        return None
    try:
        return [int(part) for part in text.split(",")]
    except ValueError:
        raise ValueError(f"unsupported {name} field {text!r} for launchd") from None


def launchd_schedule(schedule: str) -> dict[str, object]:
    """`StartInterval` for `*/N`, else a list of `StartCalendarInterval` dicts."""
    minute, hour, dom, month, dow = schedule.split()
    if dom != "*" or month != "*":
        raise ValueError(f"unsupported schedule {schedule!r} for launchd")
    if minute.startswith("*/") and hour == "*" and dow == "*":
        return {"StartInterval": int(minute[2:]) * 60}
    minutes = _field(minute, "minute")
    hours = _field(hour, "hour")
    days = _field(dow, "weekday")
    if minutes is None:
        raise ValueError(f"unsupported schedule {schedule!r} for launchd")
    intervals: list[dict[str, int]] = []
    for m in minutes:
        for h in hours or [None]:  # type: ignore[list-item]
            for d in days or [None]:  # type: ignore[list-item]
                entry = {"Minute": m}
                if h is not None:
                    entry["Hour"] = h
                if d is not None:
                    entry["Weekday"] = d
                intervals.append(entry)
    return {"StartCalendarInterval": intervals}


def render_plist(spec: JobSpec, infra_bin: str, log_dir: Path, env: dict[str, str]) -> bytes:
    body: dict[str, object] = {
        "Label": LABEL_PREFIX + spec.name,
        "ProgramArguments": [infra_bin, *spec.args],
        "EnvironmentVariables": env,
        "StandardOutPath": str(log_dir / f"launchd-{spec.name}.out"),
        "StandardErrorPath": str(log_dir / f"launchd-{spec.name}.err"),
        "ProcessType": "Background",
        "LowPriorityIO": True,
        **launchd_schedule(spec.schedule),
    }
    return plistlib.dumps(body, sort_keys=True)


def render_service_plist(infra_bin: str, log_dir: Path, env: dict[str, str]) -> bytes:
    """The recall service: started at login and restarted by launchd if it dies."""
    body: dict[str, object] = {
        "Label": LABEL_PREFIX + SERVICE_NAME,
        "ProgramArguments": [infra_bin, *SERVICE_ARGS],
        "EnvironmentVariables": env,
        "StandardOutPath": str(log_dir / f"launchd-{SERVICE_NAME}.out"),
        "StandardErrorPath": str(log_dir / f"launchd-{SERVICE_NAME}.err"),
        "RunAtLoad": True,
        "KeepAlive": True,
        "ThrottleInterval": 30,
    }
    return plistlib.dumps(body, sort_keys=True)


def write_launch_agents(
    target_dir: Path, infra_bin: str, log_dir: Path, env: dict[str, str]
) -> list[Path]:
    """Write one plist per registry job (atomically); returns their paths."""
    from openclaw_infra.core.fsio import atomic_write_bytes

    paths = []
    for spec in JOBS:
        path = target_dir / f"{LABEL_PREFIX}{spec.name}.plist"
        atomic_write_bytes(path, render_plist(spec, infra_bin, log_dir, env), mode=0o644)
        paths.append(path)
    path = target_dir / f"{LABEL_PREFIX}{SERVICE_NAME}.plist"
    atomic_write_bytes(path, render_service_plist(infra_bin, log_dir, env), mode=0o644)
    paths.append(path)
    return paths


def main() -> None:
    """`python -m openclaw_infra.ops.install.launchd DIR INFRA_BIN LOG_DIR [KEY=VALUE…]`."""
    import sys

    target, infra_bin, log_dir, *pairs = sys.argv[1:]
    env = dict(pair.split("=", 1) for pair in pairs)
    for path in write_launch_agents(Path(target), infra_bin, Path(log_dir), env):
        print(path)


if __name__ == "__main__":
    main()
