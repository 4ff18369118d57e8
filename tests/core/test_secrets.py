"""Secrets stay out of everything infra writes or prints: an endpoint that echoes the API key
in its error body leaves no trace of it on stderr, stdout, the run ledger, the log file or a
backup made afterwards, nor in a notification; `redact_text` catches registered secrets and
key shapes."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
import zstandard

from openclaw_infra.core.checks import WARNING, Check
from openclaw_infra.core.config import Settings
from openclaw_infra.core.logging import REDACTED, redact_text, redact_value, register_secret
from openclaw_infra.ops.health import Report
from openclaw_infra.ops.notify import message_for, scrub
from summarize_env import TEST_EMBEDDER, at

from conftest import OpenClawHome
from fake_anthropic import FakeAnthropic, Fault
from openclaw_fixtures import write_jsonl_session

# not an `sk-ant-` shape: only the registered secret can catch it where it stands alone
KEY = "infra-test-key-7Hq2mZ9xLwQ4"


@pytest.fixture
def fake() -> Iterator[FakeAnthropic]:
    with FakeAnthropic(api_key=KEY) as server:
        yield server


def _env(fake: FakeAnthropic) -> dict[str, str]:
    """The key through the environment, never config.env (config.env is issue 18's)."""
    return {
        "OPENCLAW_INFRA_ANTHROPIC_API_KEY": KEY,
        "OPENCLAW_INFRA_ANTHROPIC_BASE_URL": fake.url,
        "OPENCLAW_INFRA_SUMMARIZER": "anthropic",
        "OPENCLAW_INFRA_LLM_RETRY_BASE_S": "0.01",
        "OPENCLAW_INFRA_LLM_MAX_RETRIES": "1",
        "OPENCLAW_INFRA_EMBEDDING_MODEL": TEST_EMBEDDER,
        "OPENCLAW_INFRA_TEST_EMBEDDER": "1",
    }


def _archive_bytes(path: Path) -> bytes:
    with path.open("rb") as fh:
        return zstandard.ZstdDecompressor().stream_reader(fh).read()


def test_echoed_key_appears_nowhere(oc_home: OpenClawHome, fake: FakeAnthropic) -> None:
    """A 401 (exit 78) and a 5xx that outlasts the retries (exit 75), both echoing the key:
    stderr and stdout, the ledger's error and details, the log file and a backup archive
    made afterwards hold `[redacted]`, never the key; the fake did receive the key."""
    write_jsonl_session(
        oc_home.state,
        "main",
        "s1",
        [("user", "We decided the tomatoes go on the balcony in April.", at(5))],
    )
    outputs: list[str] = []
    for status, code in ((401, 78), (500, 75)):
        fake.fail_always(Fault("echo_key", status=status))
        done = oc_home.run("summarize", extra_env=_env(fake))
        assert done.returncode == code, done.stderr
        assert REDACTED in done.stderr
        outputs += [done.stdout, done.stderr]
    sent = fake.stats.headers[0]
    assert KEY in (sent.get("x-api-key"), sent.get("authorization", "").removeprefix("Bearer "))
    backup = oc_home.run("backup", extra_env=_env(fake))
    assert backup.returncode == 0, backup.stderr
    outputs += [backup.stdout, backup.stderr]
    for text in outputs:
        assert KEY not in text

    conn = sqlite3.connect(oc_home.data / "infra.sqlite")
    try:
        rows = conn.execute("SELECT error, details FROM runs WHERE job='summarize'").fetchall()
    finally:
        conn.close()
    assert len(rows) == 2
    assert all(REDACTED in (error or "") for error, _ in rows)
    assert all(KEY not in f"{error}{details}" for error, details in rows)

    log_text = "".join(p.read_text() for p in (oc_home.data / "logs").glob("infra.log*"))
    assert "llm.retry" in log_text and KEY not in log_text
    archives = list((oc_home.data / "backups").rglob("*.tar.zst"))
    assert archives
    for archive in archives:
        assert KEY.encode() not in _archive_bytes(archive)
    assert KEY.encode() not in (oc_home.data / "infra.sqlite").read_bytes()


def test_redact_text_registered_secrets_and_key_shapes() -> None:
    """A registered secret anywhere; an `sk-ant-` key, a Bearer token and an x-api-key
    value even when never registered; ordinary text, the setting's name included, kept."""
    register_secret("registered-secret-0042")
    assert redact_text("sent registered-secret-0042 twice") == f"sent {REDACTED} twice"
    assert redact_text("key sk-ant-api03-AbC_dEf-123456 bad") == f"key {REDACTED} bad"
    assert redact_text("Authorization: Bearer abc.DEF-ghi~123") == (
        f"Authorization: Bearer {REDACTED}"
    )
    assert redact_text('{"x-api-key": "unregistered99"}') == f'{{"x-api-key": "{REDACTED}"}}'
    assert redact_text("invalid x-api-key") == "invalid x-api-key"
    plain = "check OPENCLAW_INFRA_ANTHROPIC_API_KEY; a bearer of news"
    assert redact_text(plain) == plain


def test_redact_value_walks_nested_details() -> None:
    """Ledger details nest: every string in dicts, lists and tuples is redacted, the rest
    (numbers, keys, shapes) is kept."""
    register_secret("nested-secret-0042")
    details = {"errors": ["x nested-secret-0042"], "n": 3, "pair": ("nested-secret-0042", 1)}
    assert redact_value(details) == {
        "errors": [f"x {REDACTED}"],
        "n": 3,
        "pair": (REDACTED, 1),
    }


def test_notification_message_and_error_are_redacted() -> None:
    """An alert's message and a failed alert's recorded error hold no key, configured or
    only key-shaped."""
    settings = Settings(anthropic_api_key="configured-key-0042", timezone="UTC")
    report = Report(WARNING, [Check("llm", WARNING, "Authorization: Bearer tok-XYZ123456")], 1.0)
    message = message_for(report, "OK", settings)
    assert "tok-XYZ123456" not in message and REDACTED in message
    assert scrub("exit 1: sent configured-key-0042", settings) == f"exit 1: sent {REDACTED}"
