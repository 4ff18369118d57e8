"""`infra health` check "transcripts": containers found per agent."""

from __future__ import annotations

import hashlib
import json
import sqlite3

from openclaw_infra.ops import health

from conftest import OpenClawHome
from openclaw_fixtures import create_store, state_with_both_containers, write_jsonl_session


def _check(oc_home: OpenClawHome, **overrides: object) -> health.Check:
    report = health.run_checks(oc_home.settings(**overrides))
    (check,) = [c for c in report.checks if c.name == "transcripts"]
    return check


def test_no_agents_warns(oc_home: OpenClawHome) -> None:
    check = _check(oc_home)
    assert check.state == health.WARNING and "no OpenClaw agents" in check.summary


def test_reports_containers_per_agent(oc_home: OpenClawHome) -> None:
    """main has both containers, work only JSONL, play a pre-2026.7.2 store (none)."""
    state_with_both_containers(oc_home.state, "main")
    write_jsonl_session(oc_home.state, "work", "w1", [("user", "x")])
    create_store(oc_home.state, "play", transcripts=False)
    check = _check(oc_home)
    assert check.state == health.OK, check.summary
    assert check.summary == "main=jsonl+sqlite, play=none, work=jsonl"
    assert check.perf == {"transcript_jsonl_files": 2, "transcript_sqlite_sessions": 2}


def test_only_empty_agents_warn(oc_home: OpenClawHome) -> None:
    create_store(oc_home.state, "main", transcripts=False)
    check = _check(oc_home)
    assert check.state == health.WARNING and "no transcripts found" in check.summary


def test_unreadable_store_is_critical(oc_home: OpenClawHome) -> None:
    db = create_store(oc_home.state, "main")
    db.write_bytes(b"this is not a database" * 100)
    check = _check(oc_home)
    assert check.state == health.CRITICAL and "main store unreadable" in check.summary


def test_unknown_index_agent_warns(oc_home: OpenClawHome) -> None:
    write_jsonl_session(oc_home.state, "main", "s", [("user", "x")])
    check = _check(oc_home, index_agents="main,ghost")
    assert check.state == health.WARNING and "ghost" in check.summary


def test_health_cli_reads_the_store_without_writing_it(oc_home: OpenClawHome) -> None:
    """The real `infra health --json` lists the check and leaves OpenClaw's file as it was."""
    paths = state_with_both_containers(oc_home.state, "main")
    before = hashlib.sha256(paths["sqlite"].read_bytes()).hexdigest()
    proc = oc_home.run("health", "--json")
    checks = {c["name"]: c for c in json.loads(proc.stdout)["checks"]}
    assert checks["transcripts"]["summary"] == "main=jsonl+sqlite"
    assert hashlib.sha256(paths["sqlite"].read_bytes()).hexdigest() == before
    conn = sqlite3.connect(paths["sqlite"])
    assert conn.execute("SELECT count(*) FROM transcript_events").fetchone()[0] == 8
    conn.close()
