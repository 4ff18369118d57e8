"""The job registry's schedules (each job's setting applied), turned into LaunchAgents.

cron skips runs while a Mac sleeps; launchd's StartCalendarInterval runs a missed job once
at wake. Both are generated from the same registry, settings and environment, so they never
disagree. `*/N` minutes become a StartInterval; any other schedule becomes the list of
calendar entries it means (cron's "day of month OR weekday" as two sets of entries).
"""

from __future__ import annotations

import itertools
import plistlib
from collections.abc import Mapping
from pathlib import Path

from openclaw_infra.core.config import Settings
from openclaw_infra.core.jobs import SERVICE_ARGS, SERVICE_NAME, JobSpec, cron_fields

LABEL_PREFIX = "ai.openclaw.infra."
MAX_ENTRIES = 1000
_KEYS = (("Minute", 60), ("Hour", 24), ("Day", 31), ("Month", 12), ("Weekday", 7))


def _entries(fields: list[frozenset[int] | None]) -> list[dict[str, int]]:
    """Every combination of the restricted fields (None = any, a key launchd leaves out)."""
    named = [(key, sorted(v)) for (key, _), v in zip(_KEYS, fields, strict=True) if v is not None]
    return [
        dict(zip([k for k, _ in named], combo, strict=True))
        for combo in itertools.product(*(v for _, v in named))
    ]


def launchd_schedule(schedule: str) -> dict[str, object]:
    """`StartInterval` for `*/N` minutes, else a list of `StartCalendarInterval` dicts; a
    ValueError for what is not a schedule (or would need over 1000 entries)."""
    parts = schedule.split()
    fields = cron_fields(schedule)
    if parts[0].startswith("*/") and parts[1:] == ["*"] * 4:
        return {"StartInterval": int(parts[0][2:]) * 60}
    any_of: list[frozenset[int] | None] = [
        None if len(v) == size else v for v, (_, size) in zip(fields, _KEYS, strict=True)
    ]
    dom, dow = any_of[2], any_of[4]
    if dom is not None and dow is not None:  # cron runs when either matches
        intervals = _entries([*any_of[:4], None]) + _entries([*any_of[:2], None, any_of[3], dow])
    else:
        intervals = _entries(any_of)
    if len(intervals) > MAX_ENTRIES:
        raise ValueError(f"schedule {schedule!r} needs {len(intervals)} launchd entries")
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
    target_dir: Path,
    jobs: tuple[JobSpec, ...],
    infra_bin: str,
    log_dir: Path,
    env: dict[str, str],
) -> list[Path]:
    """Write one plist per job and one for the service (atomically); returns their paths."""
    from openclaw_infra.core.fsio import atomic_write_bytes

    paths = []
    for spec in jobs:
        path = target_dir / f"{LABEL_PREFIX}{spec.name}.plist"
        atomic_write_bytes(path, render_plist(spec, infra_bin, log_dir, env), mode=0o644)
        paths.append(path)
    path = target_dir / f"{LABEL_PREFIX}{SERVICE_NAME}.plist"
    atomic_write_bytes(path, render_service_plist(infra_bin, log_dir, env), mode=0o644)
    paths.append(path)
    return paths


def install_launch_agents(
    settings: Settings, target_dir: Path, infra_bin: str, environ: Mapping[str, str]
) -> list[Path]:
    """The LaunchAgents `infra schedule --launchd` writes: the registry with each job's
    schedule setting, run with the same environment the crontab block would carry."""
    from openclaw_infra.core.fsio import ensure_private_dir
    from openclaw_infra.core.jobs import scheduled
    from openclaw_infra.ops.install.crontab import CRON_PATH
    from openclaw_infra.ops.install.environment import job_environment

    env = {"PATH": CRON_PATH, **job_environment(environ).values}
    jobs = scheduled(settings)  # a bad schedule setting fails before anything is written
    target_dir.mkdir(parents=True, exist_ok=True)
    ensure_private_dir(settings.logs_dir)
    return write_launch_agents(target_dir, jobs, infra_bin, settings.logs_dir, env)
