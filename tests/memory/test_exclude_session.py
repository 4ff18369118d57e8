"""`infra recall --exclude-session ID`: the agent searching from inside a session never gets
back that session's own turns, in-process, through --batch, and through the resident
service (its wire op and its whole-command-line fast path). Real model, real store."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from typing import Any

import pytest

from openclaw_infra.core.errors import UsageError
from openclaw_infra.memory.embedder import get_embedder
from openclaw_infra.memory.indexer import index_all
from openclaw_infra.memory.query import RecallQuery, parse_argv
from openclaw_infra.memory.search import recall
from openclaw_infra.serve import client as service_client

from conftest import OpenClawHome
from openclaw_fixtures import write_jsonl_session

pytestmark = pytest.mark.model

NOW, PAST, OTHER = "s-now", "s-past", "s-other"


@pytest.fixture
def home(oc_home: OpenClawHome) -> OpenClawHome:
    write_jsonl_session(
        oc_home.state,
        "main",
        NOW,
        [("user", "I just booked the kayak tour in Porto for Saturday"), ("assistant", "Done.")],
    )
    write_jsonl_session(
        oc_home.state,
        "main",
        PAST,
        [("user", "Last spring we rented a kayak in Porto for forty euros"), ("assistant", "Ok")],
    )
    write_jsonl_session(
        oc_home.state, "main", OTHER, [("user", "The kayak club in Lisbon meets on Thursdays")]
    )
    settings = oc_home.settings()
    index_all(settings, embedder=get_embedder(settings))
    return oc_home


def _sessions(answer: dict[str, Any]) -> set[str]:
    return {r["session_id"] for r in answer["results"]}


def _recall(home: OpenClawHome, *excluded: str, **options: Any) -> dict[str, Any]:
    settings = home.settings()
    query = RecallQuery.parse(
        settings, "kayak in Porto", exclude_sessions=list(excluded), **options
    )
    return recall(settings, query, embedder=get_embedder(settings))


def test_excluded_sessions_never_come_back_in_process(home: OpenClawHome) -> None:
    """The session searching now is left out, with other filters too, repeatable."""
    assert _sessions(_recall(home)) == {NOW, PAST, OTHER}
    assert _sessions(_recall(home, NOW)) == {PAST, OTHER}
    assert _sessions(_recall(home, NOW, NOW, PAST)) == {OTHER}
    assert _sessions(_recall(home, NOW, sources=["session"], limit=1)) == {PAST}
    assert _sessions(_recall(home, "no-such-session")) == {NOW, PAST, OTHER}


def test_the_option_is_read_once_for_cli_service_and_wire() -> None:
    """argv (the service's parser) repeats it; the wire form round-trips; bad values are
    usage errors."""
    params = parse_argv(["q", "--exclude-session", "a", "--exclude-session=b"])
    assert params["exclude_sessions"] == ["a", "b"]
    query = RecallQuery("q", 5, exclude_sessions=("a", "b"))
    assert query.filtered
    assert RecallQuery.from_wire("q", json.loads(json.dumps(query.to_wire()))) == query
    where, args = query.where()
    assert "NOT IN (?,?)" in where and args == ["a", "b"]
    with pytest.raises(UsageError):
        RecallQuery.from_wire("q", {**query.to_wire(), "exclude_sessions": "ab"})
    with pytest.raises(UsageError):
        RecallQuery("q", 5, exclude_sessions=("",))


def test_cli_batch_and_service_leave_the_session_out(home: OpenClawHome) -> None:
    """The real CLI (in-process search and --batch), then `infra serve` answering the
    same command line through its fast path and its wire op: the same results, none from
    the excluded session."""
    args = ("recall", "kayak in Porto", "--json", "--exclude-session", NOW)
    alone = home.run(*args, "--no-service")
    assert alone.returncode == 0, alone.stderr
    expected = json.loads(alone.stdout)
    assert _sessions(expected) == {PAST, OTHER}
    batch = home.run(
        "recall", "--batch", "-", "--exclude-session", NOW, input="kayak in Porto\nkayak tour\n"
    )
    assert batch.returncode == 0, batch.stderr
    answers = [json.loads(line) for line in batch.stdout.splitlines()]
    assert len(answers) == 2 and all(NOW not in _sessions(a) for a in answers)

    proc = _start(home)
    try:
        settings = home.settings()
        reply = service_client.request(
            settings.socket_path,
            {"op": "recall_argv", "argv": [*args[1:], "--exclude-session", PAST]},
            30,
        )
        assert reply is not None and reply["ok"], reply
        assert _sessions(json.loads(reply["stdout"])) == {OTHER}
        query = RecallQuery.parse(settings, "", exclude_sessions=[NOW])
        wire = service_client.recall(settings, query, ["kayak in Porto"])
        assert wire is not None and _sessions(wire[0]) == {PAST, OTHER}
        served = home.run(*args)
        assert served.returncode == 0, served.stderr
        assert _strip(json.loads(served.stdout)) == _strip(expected)
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0


def _strip(answer: dict[str, Any]) -> dict[str, Any]:
    return {**answer, "took_ms": 0, "index": {**answer["index"], "lag_s": 0}}


def _start(home: OpenClawHome) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "openclaw_infra", "serve"],
        env=home.env,
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
    )
    assert proc.stderr is not None
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        line = proc.stderr.readline()
        if "listening on" in line:
            return proc
        if not line and proc.poll() is not None:
            break
    proc.kill()
    raise AssertionError(f"serve did not start: {proc.stderr.read()}")
