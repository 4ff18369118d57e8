"""Settings of the summariser endpoints besides Anthropic's: an OpenAI-compatible chat API
(Ollama, LM Studio, llama.cpp's server). A part of `Settings` (core/config.py), which
inherits these fields; kept apart only to keep each file small."""

from __future__ import annotations

from pydantic import BaseModel


class LlmSettings(BaseModel):
    """Fields of `Settings` (env names `OPENCLAW_INFRA_<FIELD>`)."""

    # --- OpenAI-compatible summariser ------------------------------------------------------
