"""Session fixtures: one real OpenClaw, onboarded once, one set of conversations for all tests.

Everything expensive happens once per session, in this order: install (or reuse) OpenClaw,
start the fake model server, onboard into a temporary home, install the shipped skill, drive
the scenario's turns (with `infra index` before the turn that calls `infra recall`), then run
`infra index`, `infra recall --batch` and `infra summarize` on the state OpenClaw left.
Tests only read the results. If OpenClaw cannot be installed the fixtures fail with the
reason: there is no skip.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from . import scenario
from .fake_openai import API_KEY, MODEL_ID, FakeOpenAI
from .harness import (
    OpenClawError,
    OpenClawInstall,
    OpenClawState,
    StoredEvent,
    Turn,
    infra_bin_dir,
    install_openclaw,
    run_infra,
)

# wall seconds of each expensive step, printed after the run (CI's time budget lives here)
TIMINGS: dict[str, float] = {}


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """One line with what the real OpenClaw cost this run."""
    if TIMINGS:
        parts = ", ".join(f"{name} {secs:.1f} s" for name, secs in TIMINGS.items())
        terminalreporter.write_line(f"openclaw_it timings: {parts}")


@contextmanager
def timed(name: str) -> Iterator[None]:
    """Record the wall time of a step in TIMINGS."""
    start = time.perf_counter()
    try:
        yield
    finally:
        TIMINGS[name] = time.perf_counter() - start


@dataclass
class Conversations:
    """What the scenario's turns left behind, read back independently of infra."""

    state: OpenClawState
    fake: FakeOpenAI
    turns: dict[str, Turn]  # "alpha-1", "alpha-2", "beta-1"
    index_runs: list[dict[str, Any]]  # `infra index --json` before beta-1, and after it
    events: list[StoredEvent]

    def session_of(self, name: str) -> str:
        """The session id OpenClaw gave conversation `name` ("alpha" or "beta")."""
        ids = {t.session_id for k, t in self.turns.items() if k.startswith(name)}
        if len(ids) != 1:
            raise AssertionError(f"conversation {name} has session ids {ids}")
        return ids.pop()

    def messages(self, *roles: str) -> list[StoredEvent]:
        """Stored `message` events of these roles."""
        return [e for e in self.events if e.event.get("type") == "message" and e.role in roles]


@pytest.fixture(scope="session")
def openclaw_install() -> OpenClawInstall:
    """The cached OpenClaw 2026.9.6 (installed by the script on first use)."""
    try:
        with timed("install"):
            return install_openclaw()
    except OpenClawError as exc:
        pytest.fail(str(exc), pytrace=False)


@pytest.fixture(scope="session")
def fake_model() -> Iterator[FakeOpenAI]:
    """The fake OpenAI-dialect model server on a free 127.0.0.1 port, stopped at the end."""
    with FakeOpenAI() as fake:
        yield fake


@pytest.fixture(scope="session")
def openclaw_home(
    openclaw_install: OpenClawInstall,
    fake_model: FakeOpenAI,
    tmp_path_factory: pytest.TempPathFactory,
) -> OpenClawState:
    """An onboarded OpenClaw home with `infra` on PATH (the skill comes with the turns)."""
    try:
        state = OpenClawState(
            openclaw_install,
            tmp_path_factory.mktemp("openclaw"),
            path_prefix=[infra_bin_dir(), openclaw_install.openclaw.parent],
        )
        with timed("onboard"):
            state.onboard(fake_model.base_url, MODEL_ID, API_KEY)
    except OpenClawError as exc:
        pytest.fail(str(exc), pytrace=False)
    return state


@pytest.fixture(scope="session")
def conversations(openclaw_home: OpenClawState, fake_model: FakeOpenAI) -> Conversations:
    """The scenario's three turns in two conversations, indexed by infra in between; the
    shipped skill is installed after the first turn, so it is in beta's system prompt."""
    state = openclaw_home
    scenario.script_turns(fake_model)
    try:
        turns = {"alpha-1": state.turn(scenario.ALPHA_1, session=scenario.ALPHA)}
        # only now: the first turn after onboarding runs in OpenClaw's full-bootstrap mode
        # (and stores its marker) while the workspace still looks freshly seeded
        state.install_skill()
        turns["alpha-2"] = state.turn(scenario.ALPHA_2, session=scenario.ALPHA)
        # beta-1's `infra recall` needs alpha in the index
        with timed("infra index"):
            index_runs = [run_infra(state, "index", "--json").json()]
        turns["beta-1"] = state.turn(scenario.BETA_1, session=scenario.BETA)
        with timed("infra index again"):
            index_runs.append(run_infra(state, "index", "--json").json())
        events = state.events()
    except OpenClawError as exc:
        pytest.fail(str(exc), pytrace=False)
    TIMINGS.update({f"turn {name}": turn.took_s for name, turn in turns.items()})
    return Conversations(state, fake_model, turns, index_runs, events)


@dataclass(frozen=True)
class Probe:
    """A piece of stored text that `infra recall` must return, and where it came from."""

    query: str
    session_id: str
    entry_id: str
    compressed: bool


def probes_of(conversations: Conversations) -> list[Probe]:
    """Every stored user and assistant text: its first line, and the last of a long one.

    Lines, because infra shows a long turn in pieces cut at line breaks; the last line of a
    compressed event proves the whole decompressed text was read, not a prefix.
    """
    probes: list[Probe] = []
    for event in conversations.messages("user", "assistant"):
        for text in event.texts:
            lines = [line.strip() for line in text.splitlines() if line.strip()]
            picks = [lines[0]] if len(lines) < 3 else [lines[0], lines[-2]]
            probes.extend(
                Probe(line[:300], event.session_id, event.entry_id, event.compressed)
                for line in picks
            )
    return probes


@dataclass
class Recalled:
    """`infra recall --batch` answers, one per probe, plus the cross-conversation question."""

    probes: list[Probe]
    answers: list[dict[str, Any]]
    cross: dict[str, Any]


@pytest.fixture(scope="session")
def recalled(conversations: Conversations) -> Recalled:
    """One `infra recall --batch` process answers every probe (one model load)."""
    probes = probes_of(conversations)
    queries = [scenario.RECALL_QUERY] + [p.query.replace("\n", " ") for p in probes]
    try:
        with timed("infra recall --batch"):
            run = run_infra(
                conversations.state,
                "recall",
                "--batch",
                "-",
                "--limit",
                "12",
                input_text="\n".join(queries) + "\n",
            )
    except OpenClawError as exc:
        pytest.fail(str(exc), pytrace=False)
    answers = [json.loads(line) for line in run.stdout.splitlines() if line.strip()]
    assert len(answers) == len(queries), run.stderr
    return Recalled(probes, answers[1:], answers[0])


@dataclass
class Summaries:
    """The hourly summary files `infra summarize` wrote, and the reports of its runs."""

    files: dict[Path, str]
    reports: list[dict[str, Any]]


@pytest.fixture(scope="session")
def summaries(conversations: Conversations) -> Summaries:
    """`infra summarize` (extractive) over the scenario, its open hour included.

    The CLI only summarises ended hours, and the turns just happened: it does whatever hours
    have ended (maybe none), then the job's own entry point runs with `now` two hours on, so
    the hour of the turns counts as ended. Same code path, same files, same ledger.
    """
    from openclaw_infra.core.config import Settings
    from openclaw_infra.pipeline.hourly import HOURLY_NOTES, summarize_job
    from openclaw_infra.services import summarizer, writer_embedder

    state = conversations.state
    try:
        with timed("infra summarize"):
            cli = run_infra(state, "summarize", "--summarizer", "extractive", "--json").json()
    except OpenClawError as exc:
        pytest.fail(str(exc), pytrace=False)
    settings = Settings(
        state_dir=state.state,
        workspace_dir=state.workspace,
        data_dir=state.state / "infra",
        timezone="UTC",
        summarizer="extractive",
    )
    later = summarize_job(
        settings,
        summarizer(settings, HOURLY_NOTES),
        embedder=partial(writer_embedder, settings),
        now=datetime.now(UTC) + timedelta(hours=2),
    )
    hourly = state.workspace / "memory" / "hourly"
    files = {p: p.read_text(encoding="utf-8") for p in sorted(hourly.glob("*.md"))}
    return Summaries(files, [cli, later.as_dict()])
