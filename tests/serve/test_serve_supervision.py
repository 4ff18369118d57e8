"""Keeping `infra serve` up: the periodic line cron runs brings back a SIGKILLed service,
health reports its uptime, restarts and memory, a socket held by another program is a
distinct failure (exit 73), and `--stop` stops it. Real processes and sockets."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from openclaw_infra.core.db import connect
from openclaw_infra.core.ledger import RunRecord, record_start
from openclaw_infra.serve import supervise
from openclaw_infra.serve.client import request

from conftest import OpenClawHome
from openclaw_fixtures import write_jsonl_session

TEST_ENV = {
    "OPENCLAW_INFRA_EMBEDDING_MODEL": "test-hash-embedder",
    "OPENCLAW_INFRA_TEST_EMBEDDER": "1",
}
INFRA = str(Path(sys.prefix) / "bin" / "infra")


def _ping(home: OpenClawHome) -> dict[str, Any] | None:
    return request(home.data / "recall.sock", {"op": "ping"}, 5.0)


def _periodic_line(home: OpenClawHome) -> str:
    """The command of the block's every-5-minutes service line, as cron would run it."""
    block = home.run("schedule", "--bin", INFRA, extra_env=TEST_ENV)
    assert block.returncode == 0, block.stderr
    line = next(
        x for x in block.stdout.splitlines() if x.endswith("serve --ensure >/dev/null 2>&1")
    )
    assert line.startswith("*/5 * * * * ")
    return line.split(" ", 5)[5]


def _cron_runs(home: OpenClawHome, command: str) -> float:
    """Run `command` as cron does (sh -c, the block's environment); its duration."""
    start = time.monotonic()
    done = subprocess.run(
        ["/bin/sh", "-c", command],
        env={**home.env, **TEST_ENV},
        cwd=home.root,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0
    return time.monotonic() - start


def _health_service(home: OpenClawHome) -> dict[str, Any]:
    done = home.run("health", "--json", extra_env=TEST_ENV)
    checks = json.loads(done.stdout)["checks"]
    found: dict[str, Any] = next(c for c in checks if c["name"] == "service")
    return found


@pytest.fixture
def home(oc_home: OpenClawHome) -> OpenClawHome:
    write_jsonl_session(
        oc_home.state,
        "main",
        "s1",
        [("user", "The boiler service is booked for the 14th"), ("assistant", "Noted")],
        key="agent:main:telegram:dm:42",
    )
    done = oc_home.run("index", extra_env=TEST_ENV)
    assert done.returncode == 0, done.stderr
    return oc_home


def test_periodic_line_brings_back_a_killed_service(home: OpenClawHome) -> None:
    """The block's periodic line starts the service and returns; run again it changes
    nothing; after a SIGKILL it starts a new one that answers recall. Health reports the
    uptime, one restart after a kill, and the resident memory; --stop ends it cleanly."""
    command = _periodic_line(home)
    assert _cron_runs(home, command) < 60  # returned: the service lives on by itself
    first = _ping(home)
    assert first is not None, (home.data / "logs" / "serve.log").read_text()
    again = home.run("serve", "--ensure", extra_env=TEST_ENV)
    assert again.returncode == 0
    assert f"infra serve: already running (pid {first['pid']})" in again.stderr
    _cron_runs(home, command)
    assert _ping(home)["pid"] == first["pid"]  # type: ignore[index]

    os.kill(first["pid"], signal.SIGKILL)
    deadline = time.monotonic() + 10
    while _ping(home) is not None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _ping(home) is None
    assert _health_service(home)["state"] == "WARNING"
    _cron_runs(home, command)
    second = _ping(home)
    assert second is not None and second["pid"] != first["pid"]
    recall = home.run("recall", "boiler", "--json", extra_env=TEST_ENV)
    assert recall.returncode == 0 and json.loads(recall.stdout)["results"]
    check = _health_service(home)
    assert check["state"] == "OK", check
    assert check["perf"]["service_up"] == 1
    assert check["perf"]["service_restarts_24h"] == 1
    assert check["perf"]["service_crashes_24h"] == 1
    assert check["perf"]["service_rss_mb"] > 1
    assert 0 <= check["perf"]["service_uptime_s"] < 600
    assert "1 restart(s) in the last day, 1 after a crash or kill" in check["summary"]

    stopped = home.run("serve", "--stop", extra_env=TEST_ENV)
    assert stopped.returncode == 0, stopped.stderr
    assert f"infra serve: stopped pid {second['pid']}" in stopped.stderr
    assert _ping(home) is None and not (home.data / "recall.sock").exists()
    assert "not running" in home.run("serve", "--stop", extra_env=TEST_ENV).stderr


def test_a_socket_held_by_another_program_exits_73(home: OpenClawHome) -> None:
    """Something that is not infra serve listening on the socket is refused before the model
    loads (exit 73, naming the socket), and --ensure reports the same; the socket is left
    alone. With nobody listening, the file is a dead service's and is replaced."""
    sock = home.data / "recall.sock"
    other = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    other.bind(str(sock))
    other.listen(1)
    try:
        plain = home.run("serve", extra_env=TEST_ENV, timeout=60)
        assert plain.returncode == 73, plain.stderr
        assert f"{sock} is in use by a process that is not infra serve" in plain.stderr
        ensured = home.run("serve", "--ensure", extra_env=TEST_ENV, timeout=60)
        assert ensured.returncode == 73, ensured.stderr
        assert "not infra serve" in ensured.stderr
        assert sock.exists()
    finally:
        other.close()


def test_restarts_are_counted_from_the_ledger(home: OpenClawHome) -> None:
    """Each start is a `serve` run; a run still open at the next start ended unclean. Only
    the last day counts, and the very first start is not a restart."""
    settings = home.settings(embedding_model="test-hash-embedder")
    conn = connect(settings.db_path)
    try:
        old = RunRecord(job="serve", started_at=time.time() - 3 * 86400)
        record_start(conn, old)
        assert supervise.starts_since(conn, time.time() - 86400) == supervise.Starts(0, 0)
        run = supervise.record_start(settings)  # finds `old` open: killed
        supervise.record_stop(settings, run, 0, None)
        supervise.record_start(settings)
        counted = supervise.starts_since(conn, time.time() - 86400)
        assert counted == supervise.Starts(restarts=2, unclean=1)
        rows = conn.execute("SELECT status FROM runs WHERE job='serve' ORDER BY started_at")
        assert [r[0] for r in rows] == ["failed", "ok", "running"]
    finally:
        conn.close()


def test_rss_of_a_process() -> None:
    """Resident memory from /proc (or ps); None for a pid that is gone."""
    rss = supervise.rss_kib(os.getpid())
    assert rss is not None and rss > 1024
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    assert supervise.rss_kib(gone.pid) is None
