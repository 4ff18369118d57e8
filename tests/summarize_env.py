"""Shared set-up for the summarize tests: an OpenClaw home, the fake Messages API, settings
that point the real client at it with fast retries, and readers of the output."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from openclaw_infra import services
from openclaw_infra.core.config import Settings
from openclaw_infra.core.db import connect
from openclaw_infra.openclaw.cursors import CursorStore
from openclaw_infra.pipeline.hourly import HOURLY_NOTES, SummarizeReport, summarize_job

from conftest import OpenClawHome
from fake_anthropic import API_KEY, FakeAnthropic
from openclaw_fixtures import BASE_TS, entry_id

TEST_EMBEDDER = "test-hash-embedder"


@dataclass
class SummarizeEnv:
    home: OpenClawHome
    fake: FakeAnthropic

    @property
    def state(self) -> Path:
        return self.home.state

    def settings(self, **overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "embedding_model": TEST_EMBEDDER,
            "anthropic_api_key": API_KEY,
            "anthropic_base_url": self.fake.url,
            "llm_retry_base_s": 0.01,
            "llm_max_retries": 2,
            "llm_timeout_s": 5.0,
            "summarizer": "anthropic",
        }
        values.update(overrides)
        return self.home.settings(**values)

    def cli_env(self, **extra: str) -> dict[str, str]:
        """Environment for `oc_home.run`: the fake API, fast retries, the test embedder."""
        env = {
            "OPENCLAW_INFRA_ANTHROPIC_API_KEY": API_KEY,
            "OPENCLAW_INFRA_ANTHROPIC_BASE_URL": self.fake.url,
            "OPENCLAW_INFRA_LLM_RETRY_BASE_S": "0.01",
            "OPENCLAW_INFRA_LLM_MAX_RETRIES": "2",
            "OPENCLAW_INFRA_EMBEDDING_MODEL": TEST_EMBEDDER,
            "OPENCLAW_INFRA_TEST_EMBEDDER": "1",
        }
        env.update(extra)
        return env

    def hourly(self, day: str = "2026-03-02") -> Path:
        return self.home.workspace / "memory" / "hourly" / f"{day}.md"

    def cursor(self, key: str) -> object:
        conn = connect(self.home.data / "infra.sqlite")
        try:
            return CursorStore(conn, "summarize").get(key)
        finally:
            conn.close()

    def db(self) -> sqlite3.Connection:
        return connect(self.home.data / "infra.sqlite")


def make_env(oc_home: OpenClawHome, monkeypatch: pytest.MonkeyPatch) -> Iterator[SummarizeEnv]:
    """Body of each summarize test module's `env` fixture (the fake API runs meanwhile)."""
    monkeypatch.setenv("OPENCLAW_INFRA_TEST_EMBEDDER", "1")
    with FakeAnthropic() as fake:
        yield SummarizeEnv(oc_home, fake)


def split_file(text: str) -> tuple[dict[str, Any], str]:
    """(frontmatter, body) of a summary file."""
    assert text.startswith("---\n")
    head, body = text[4:].split("\n---\n", 1)
    return yaml.safe_load(head), body


def bullets(body: str) -> list[str]:
    return [line for line in body.splitlines() if line.startswith("- ")]


def citations(line: str) -> list[str]:
    """The provenance links a bullet ends with."""
    found = []
    rest = line
    while True:
        match = re.search(r" \[([^\[\]\s]+#[^\[\]\s]+)\]$", rest)
        if not match:
            return list(reversed(found))
        found.append(match.group(1))
        rest = rest[: match.start()]


def headings(body: str) -> list[str]:
    return [line[3:] for line in body.splitlines() if line.startswith("## ")]


def at(minutes: float, base: datetime = BASE_TS) -> datetime:
    return base + timedelta(minutes=minutes)


def ids(session: str, count: int, *, uuid_ids: bool = False) -> set[str]:
    """The citations `session#entry` of turns 0..count-1 as the fixture builder names them."""
    return {f"{session}#{entry_id(session, i, uuid_ids=uuid_ids)}" for i in range(count)}


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def summarize(settings: Settings, **options: Any) -> SummarizeReport:
    """`summarize` as its command runs it, with the summariser services builds for `settings`."""
    return summarize_job(settings, services.summarizer(settings, HOURLY_NOTES), **options)
