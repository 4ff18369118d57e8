"""Settings of the operations side: alerts, the service and the schedule, retention of
infra's own records, off-site copies and secrets in snapshots. A part of `Settings`
(core/config.py), which inherits these fields; kept apart only to keep each file small."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, Field


class OpsSettings(BaseModel):
    """Fields of `Settings` (env names `OPENCLAW_INFRA_<FIELD>`)."""

    # --- alerts ------------------------------------------------------------------------
    alert_command: str = Field(
        default="",
        description="Alert sender run by `infra health --notify` (the scheduled health job); "
        "empty = `openclaw message send` to the alert channel and target. A template is split "
        "like a shell would but run without one; {channel} {target} {message} {state} "
        "{previous} {host} are filled inside their own argument.",
    )
    alert_channel: str = Field(
        default="telegram", description="OpenClaw channel alerts go to (empty = its only one)."
    )
    alert_target: str = Field(
        default="", description="Alert target (Telegram chat id, @user, ...); empty = no alerts."
    )
    alert_remind_hours: float = Field(
        default=6.0, ge=0, description="Remind every N hours while CRITICAL lasts (0 = never)."
    )
    alert_quiet_hours: str = Field(
        default="",
        pattern=r"^$|^([01]\d|2[0-3]):[0-5]\d-([01]\d|2[0-3]):[0-5]\d$",
        description="Quiet hours in the user's timezone, e.g. 22:00-07:00: alerts wait until "
        "they end, except a change to CRITICAL, which is sent at once; empty = none.",
    )

    # --- service and schedule ----------------------------------------------------------
    schedule_serve: str | None = Field(
        default=None,
        description="Cron schedule (local time) of the line that starts the recall service "
        "when it is down (cron mode); empty = the default. Each OPENCLAW_INFRA_SCHEDULE_<JOB> "
        "takes effect at the next ./deploy.sh; `infra schedule` shows the result.",
    )
    schedule_health: str | None = Field(
        default=None, description="Cron schedule of health (local time); empty = default."
    )
    schedule_index: str | None = Field(
        default=None, description="Cron schedule of index (local time); empty = default."
    )
    schedule_backup: str | None = Field(
        default=None, description="Cron schedule of backup (local time); empty = default."
    )
    schedule_backup_drill: str | None = Field(
        default=None, description="Cron schedule of backup-drill (local time); empty = default."
    )
    schedule_summarize: str | None = Field(
        default=None, description="Cron schedule of summarize (local time); empty = default."
    )
    schedule_daily_sync: str | None = Field(
        default=None, description="Cron schedule of daily-sync (local time); empty = default."
    )
    schedule_lessons: str | None = Field(
        default=None, description="Cron schedule of lessons (local time); empty = default."
    )
    schedule_weekly_synthesis: str | None = Field(
        default=None, description="Cron schedule of weekly-synthesis (local time); empty = default."
    )
    schedule_transcribe: str | None = Field(
        default=None, description="Cron schedule of transcribe (local time); empty = default."
    )
    schedule_prune: str | None = Field(
        default=None, description="Cron schedule of prune (local time); empty = default."
    )
    schedule_signals: str | None = Field(
        default=None, description="Cron schedule of signals (local time); empty = default."
    )

    # --- retention of infra's own records ------------------------------------------------
    prune_runs_days: int = Field(
        default=180,
        ge=14,
        description="`infra prune` deletes run-ledger rows older than this (days); the newest "
        "50 runs and the newest success of every job are always kept (what health reads).",
    )
    prune_health_days: int = Field(
        default=30,
        ge=7,
        description="`infra prune` deletes health verdicts (runs of the health job, one per "
        "scheduled check) older than this (days); the newest ones are kept as for every job.",
    )
    prune_logs_days: int = Field(
        default=30,
        ge=1,
        description="`infra prune` deletes files in <data>/logs not written for this many "
        "days (rotated infra.log.N, launchd-*.out/err); the live infra.log is never deleted.",
    )
    prune_quarantine_days: int = Field(
        default=90,
        ge=0,
        description="`infra prune` deletes what was quarantined under <data>/quarantine/ this "
        "many days ago (a refused voice note may be its only copy); 0 = keep forever.",
    )
    data_warn_mb: int = Field(
        default=5120,
        ge=0,
        description="infra health warns when the data dir (without its backups folder) "
        "holds more than this (MiB); 0 = never.",
    )

    # --- off-site backup (restic) ----------------------------------------------------------
    restic_repository: str = Field(
        default="",
        description="restic repository that `infra backup` copies each snapshot into (a path "
        "on another drive, sftp:host:/path, s3:..., b2:..., rclone:...); empty = no off-site "
        "copies. Initialised on first use.",
    )
    restic_password_file: Path | None = Field(
        default=None,
        description="File holding the restic repository's password (keep a copy off this "
        "machine: without it the off-site copies cannot be read).",
    )
    restic_password_command: str = Field(
        default="",
        description="Command that prints the restic password, instead of a file (macOS "
        "keychain: security find-generic-password -s openclaw-infra-restic -w).",
    )
    restic_binary: str = Field(
        default="restic", description="The restic program (a name on PATH or a full path)."
    )
    restic_timeout_s: float = Field(
        default=4 * 3600.0, gt=0, description="A restic command running longer is stopped."
    )
    offsite_max_age_days: float = Field(
        default=2.0,
        gt=0,
        description="infra health warns when the newest off-site copy is older (critical "
        "past twice this).",
    )
    restic_read_data_parts: int = Field(
        default=4,
        ge=1,
        description="`infra backup verify --offsite` reads 1/N of the repository's data when "
        "a read is due, a different part each time (1 = all of it).",
    )
    restic_read_data_interval_days: float = Field(
        default=7.0,
        ge=0,
        description="Days between those data reads (0 = on every off-site verify).",
    )

    # --- secrets in snapshots --------------------------------------------------------------
    backup_age_recipient: str = Field(
        default="",
        description="age public key(s) (age1..., comma-separated) that a snapshot's secrets "
        "(API keys in config.env, the feedback key) are encrypted to; empty = secrets are "
        "left out of snapshots (needs the `age` extra: pyrage).",
    )
    backup_age_identity_file: Path | None = Field(
        default=None,
        description="age identity file (AGE-SECRET-KEY-...) that `infra backup restore` "
        "decrypts a snapshot's secrets with; keep a copy off this machine.",
    )
