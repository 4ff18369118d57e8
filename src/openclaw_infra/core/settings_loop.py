"""Settings of the loop back to the user: feedback and lessons, the context pack after
compaction, and signals across agents. A part of `Settings` (core/config.py), which inherits
these fields; kept apart only to keep each file small."""

from __future__ import annotations

from pydantic import BaseModel, Field


class LoopSettings(BaseModel):
    """Fields of `Settings` (env names `OPENCLAW_INFRA_<FIELD>`)."""

    # --- feedback and lessons --------------------------------------------------------------
    feedback_token_ttl_days: int = Field(
        default=14,
        ge=1,
        le=90,
        description="Days a feedback button (`infra feedback token`) stays valid; a rotated "
        "key keeps verifying the buttons it signed for this long.",
    )
    feedback_max_per_target_per_day: int = Field(
        default=10,
        ge=1,
        description="Feedback records one target may receive in 24 hours; more are refused "
        "(exit 75).",
    )
    feedback_max_per_day: int = Field(
        default=200,
        ge=1,
        description="Feedback records accepted in 24 hours, all targets together; more are "
        "refused (exit 75).",
    )
    lessons_max_chars: int = Field(
        default=6000,
        ge=500,
        le=20000,
        description="Size budget of memory/lessons/MEMORY.md, which the agent reads every "
        "turn; the oldest lessons that do not fit are left out (OpenClaw injects at most 20,000 "
        "characters of a bootstrap file by default).",
    )

    # --- context after compaction, and signals ------------------------------------------
    context_budget_chars: int = Field(
        default=2000,
        ge=300,
        le=20000,
        description="Characters the context pack (`infra context`) may take in the agent's "
        "prompt after a compaction; lines that do not fit are left out.",
    )
    context_decision_days: int = Field(
        default=3,
        ge=0,
        le=60,
        description="Days of daily digests (today included) whose decisions the context pack "
        "carries.",
    )
    context_lessons: int = Field(
        default=5, ge=0, le=50, description="Latest lessons the context pack carries."
    )
    context_recall_hits: int = Field(
        default=3,
        ge=0,
        le=20,
        description="Recall hits for the compaction summary that the context pack carries.",
    )
    signals_max_per_day: int = Field(
        default=3,
        ge=0,
        le=50,
        description="Signals across agents recorded (and sent) per day at most; 0 = none.",
    )
    signals_similarity: float = Field(
        default=0.62,
        ge=0.0,
        le=1.0,
        description="Cosine similarity from which a turn and another agent's open item or "
        "decision count as the same topic (entity matches need no embedding).",
    )
    signals_notify: bool = Field(
        default=True,
        description="Send each new signal through the alert sender (alert_channel, "
        "alert_target); false = record only.",
    )
