"""Settings of the summariser endpoints besides Anthropic's: an OpenAI-compatible chat API
(Ollama, LM Studio, llama.cpp's server). A part of `Settings` (core/config.py), which
inherits these fields; kept apart only to keep each file small."""

from __future__ import annotations

from pydantic import BaseModel, Field, SecretStr, field_validator


class LlmSettings(BaseModel):
    """Fields of `Settings` (env names `OPENCLAW_INFRA_<FIELD>`)."""

    # --- OpenAI-compatible summariser ------------------------------------------------------
    openai_base_url: str = Field(
        default="http://localhost:11434/v1",
        description="Chat Completions base URL for OPENCLAW_INFRA_SUMMARIZER=openai-compatible "
        "(default Ollama's; LM Studio http://localhost:1234/v1, llama.cpp's server "
        "http://localhost:8080/v1).",
    )
    openai_model: str = Field(
        default="",
        description="Model name the endpoint serves (e.g. llama3.2:3b for Ollama); required "
        "for openai-compatible.",
    )
    openai_api_key: SecretStr | None = Field(
        default=None,
        description="Key for the OpenAI-compatible endpoint, when it wants one (local servers "
        "do not). Never logged; OPENAI_API_KEY is deliberately not read.",
    )
    openai_timeout_s: float = Field(
        default=300.0,
        gt=0,
        description="Timeout per request to the OpenAI-compatible endpoint (a local model on "
        "a CPU is slow); retries as OPENCLAW_INFRA_LLM_MAX_RETRIES.",
    )
    openai_input_budget_tokens: int = Field(
        default=6000,
        ge=1000,
        description="Max input tokens per call to the OpenAI-compatible endpoint: keep it "
        "below the model's context window minus OPENCLAW_INFRA_LLM_MAX_TOKENS (Ollama cuts "
        "longer prompts silently; raise its context, OLLAMA_CONTEXT_LENGTH, to raise this).",
    )
    openai_price_input_per_mtok: float = Field(
        default=0.0,
        ge=0,
        description="USD per million input tokens of the OpenAI-compatible model (0: local).",
    )
    openai_price_output_per_mtok: float = Field(
        default=0.0,
        ge=0,
        description="USD per million output tokens of the OpenAI-compatible model (0: local).",
    )

    @field_validator("openai_base_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError(f"{value!r} is not an http:// or https:// URL")
        return value.rstrip("/")

    @property
    def openai_key(self) -> str | None:
        return self.openai_api_key.get_secret_value() if self.openai_api_key else None
