"""The crontab block deploy.sh installs, rendered from the job registry (`core/jobs.py`).

`cron/infra.crontab` is this block with `infra` on PATH; a test fails when they differ.
"""

from __future__ import annotations

from openclaw_infra.core.jobs import JOBS, SERVICE_ARGS

CRON_BEGIN = "# >>> openclaw-infra (managed by deploy.sh; edit cron/infra.crontab instead) >>>"
CRON_END = "# <<< openclaw-infra <<<"


def render_crontab(infra_bin: str = "infra") -> str:
    """The crontab block deploy.sh installs; cron/infra.crontab is this with `infra` on PATH."""
    lines = [CRON_BEGIN, "SHELL=/bin/sh", "PATH=/opt/homebrew/bin:/usr/local/bin:/usr/bin:/bin"]
    for spec in JOBS:
        lines.append(f"# {spec.name}: {spec.description}")
        argv = " ".join(spec.args)
        lines.append(f"{spec.schedule} {infra_bin} {argv} >/dev/null 2>&1")
    lines.append("# serve: the resident recall service (a second start exits 75 at once)")
    lines.append(f"@reboot {infra_bin} {' '.join(SERVICE_ARGS)} >/dev/null 2>&1")
    lines.append(CRON_END)
    return "\n".join(lines) + "\n"
