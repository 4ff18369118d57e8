"""`infra serve` with real processes: results equal in-process, concurrency, restarts,
stale sockets, bad requests, SIGTERM, and a light client path."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from openclaw_infra.memory.query import RecallQuery
from openclaw_infra.serve import client as service_client

from conftest import OpenClawHome
from openclaw_fixtures import append_jsonl, write_jsonl_session

TEST_ENV = {
    "OPENCLAW_INFRA_EMBEDDING_MODEL": "test-hash-embedder",
    "OPENCLAW_INFRA_TEST_EMBEDDER": "1",
}


def _sock(home: OpenClawHome) -> Path:
    return home.data / "recall.sock"


def _start(home: OpenClawHome, stdout: Any = subprocess.DEVNULL) -> subprocess.Popen[str]:
    env = {**home.env, **TEST_ENV}
    proc = subprocess.Popen(
        [sys.executable, "-m", "openclaw_infra", "serve"],
        env=env,
        stderr=subprocess.PIPE,
        stdout=stdout,
        text=True,
    )
    assert proc.stderr is not None
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = proc.stderr.readline()
        if "listening on" in line:
            return proc
        if not line and proc.poll() is not None:
            break
    proc.kill()
    raise AssertionError(f"serve did not start: {proc.stderr.read()}")


def _stop(proc: subprocess.Popen[str]) -> int:
    proc.send_signal(signal.SIGTERM)
    return proc.wait(timeout=30)


def _recall(home: OpenClawHome, *args: str) -> dict:
    proc = home.run("recall", *args, "--json", extra_env=TEST_ENV)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def _raw(path: Path, data: bytes) -> dict:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(10)
        s.connect(str(path))
        s.sendall(data)
        buf = b""
        while b"\n" not in buf:
            block = s.recv(65536)
            if not block:
                break
            buf += block
    return json.loads(buf.split(b"\n", 1)[0])


@pytest.fixture
def home(oc_home: OpenClawHome) -> Iterator[OpenClawHome]:
    write_jsonl_session(
        oc_home.state,
        "main",
        "s1",
        [
            ("user", "My sister Lena moved to Porto in March"),
            ("assistant", "Porto is lovely. Does she like it?"),
            ("user", "The boiler service is booked for the 14th"),
            ("assistant", "Noted: boiler service on the 14th"),
        ],
        key="agent:main:telegram:dm:42",
    )
    (oc_home.workspace / "MEMORY.md").write_text("# Memory\n\n- Lena: sister, lives in Porto\n")
    done = oc_home.run("index", extra_env=TEST_ENV)
    assert done.returncode == 0, done.stderr
    yield oc_home


def _strip(answer: dict) -> dict:
    return {**answer, "took_ms": 0}


def test_results_equal_in_process_and_new_chunks_seen(home: OpenClawHome) -> None:
    """With the service up, answers equal --no-service answers; chunks indexed by another
    process after the service started are found without a restart; SIGTERM removes the
    socket and exits 0."""
    proc = _start(home)
    try:
        assert _sock(home).stat().st_mode & 0o777 == 0o600
        for q in ("where does Lena live", "boiler"):
            assert _strip(_recall(home, q)) == _strip(_recall(home, q, "--no-service"))
        path = home.state / "agents" / "main" / "sessions" / "s1.jsonl"
        append_jsonl(path, [("user", "The passport renewal appointment is at 9:40 on Monday")])
        assert home.run("index", extra_env=TEST_ENV).returncode == 0
        found = _recall(home, "passport renewal appointment")
        assert any("9:40" in r["text"] for r in found["results"])
        assert _strip(found) == _strip(
            _recall(home, "passport renewal appointment", "--no-service")
        )
        batch = home.run("recall", "--batch", "-", input="Lena\n\nboiler\n", extra_env=TEST_ENV)
        lines = [json.loads(x) for x in batch.stdout.splitlines()]
        assert [x["query"] for x in lines] == ["Lena", "", "boiler"]
    finally:
        assert _stop(proc) == 0
    assert not _sock(home).exists()


def test_concurrent_clients_garbage_and_oversized(home: OpenClawHome) -> None:
    """20 concurrent clients all get their own answer; garbage and oversized requests get
    an error reply and the service keeps serving."""
    proc = _start(home)
    # a loaded 2-core CI machine: give queued clients time rather than falling back
    settings = home.settings(embedding_model="test-hash-embedder", recall_service_timeout_s=60)
    try:
        results: dict[int, object] = {}

        def client(i: int) -> None:
            texts = [f"Lena {i}", "boiler"]
            results[i] = service_client.recall(settings, RecallQuery("", 3), texts)

        threads = [threading.Thread(target=client, args=(i,)) for i in range(20)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert len(results) == 20
        for i, answers in results.items():
            assert isinstance(answers, list) and answers[0]["query"] == f"Lena {i}"
        assert _raw(_sock(home), b"this is not json\n")["ok"] is False
        assert "malformed" in _raw(_sock(home), b"[1,2]\n")["error"]
        big = b'{"v":1,"op":"recall","queries":["' + b"x" * (2 << 20) + b'"]}\n'
        reply = _raw(_sock(home), big)
        assert reply["ok"] is False and "larger than" in reply["error"]
        reply = _raw(_sock(home), b'{"v":1,"op":"recall","queries":["x"],"options":{"limit":0}}\n')
        assert reply["ok"] is False and reply["exit_code"] == 2
        assert service_client.ping(settings) is not None
    finally:
        _stop(proc)


def test_second_instance_exits_0_and_stale_socket_is_replaced(home: OpenClawHome) -> None:
    """A second `infra serve` says "already running (pid N)" and exits 0 (a service owes no
    work); a socket file left by a dead service neither blocks a new start nor a client
    (which falls back to in-process search)."""
    proc = _start(home)
    try:
        second = home.run("serve", extra_env=TEST_ENV, timeout=60)
        assert second.returncode == 0, second.stderr
        assert f"infra serve: already running (pid {proc.pid})" in second.stderr
    finally:
        _stop(proc)
    stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    stale.bind(str(_sock(home)))
    stale.close()  # the file stays, nobody listens: like a crash
    assert _sock(home).exists()
    answer = _recall(home, "Lena")
    assert answer["results"]
    proc = _start(home)
    try:
        assert _recall(home, "Lena")["results"] == answer["results"]
    finally:
        _stop(proc)


def test_clients_survive_a_restart(home: OpenClawHome) -> None:
    """Clients running while the service is killed and restarted all get answers (from the
    service or from the in-process fallback)."""
    from openclaw_infra.memory import search

    settings = home.settings(embedding_model="test-hash-embedder")
    query = RecallQuery.parse(settings, "boiler")
    proc = _start(home)
    stop = threading.Event()
    answers: list[object] = []

    def loop() -> None:
        while not stop.is_set():
            got = service_client.recall(settings, query, [query.text])
            if got is None:
                got = [search.recall(settings, query)]
            answers.append(got[0]["results"][0]["citation"])

    import os

    os.environ.update(TEST_ENV)
    worker = threading.Thread(target=loop)
    worker.start()
    try:
        time.sleep(1)
        proc.kill()
        proc.wait()
        time.sleep(0.5)
        proc = _start(home)
        time.sleep(1)
    finally:
        stop.set()
        worker.join(60)
        _stop(proc)
        for k in TEST_ENV:
            os.environ.pop(k, None)
    assert len(answers) > 3 and len(set(answers)) == 1


CLIENT_PROBE = """
import json, sys
from openclaw_infra.entry import main
sys.argv = ["infra", "recall", "Lena", "--json"]
try:
    main()
except SystemExit:
    pass
print(json.dumps(sorted(m.split(".")[0] for m in sys.modules)), file=sys.stderr)
"""

FULL_CLI = """
import sys
from openclaw_infra.cli import main
main(sys.argv[1:])
"""


def test_client_path_imports_nothing_heavy(home: OpenClawHome) -> None:
    """With the service up, `infra recall` is answered by the stdlib-only fast path: not
    even the CLI's own libraries (typer, pydantic, structlog) are imported."""
    proc = _start(home)
    try:
        out = subprocess.run(
            [sys.executable, "-c", CLIENT_PROBE],
            env={**home.env, **TEST_ENV},
            capture_output=True,
            text=True,
            check=False,
            timeout=60,
        )
    finally:
        _stop(proc)
    assert json.loads(out.stdout)["results"]
    loaded = set(json.loads(out.stderr.strip().splitlines()[-1]))
    heavy = {"numpy", "torch", "faiss", "sentence_transformers", "transformers"}
    assert not loaded & (heavy | {"typer", "pydantic", "pydantic_settings", "structlog"})


def _full_cli(home: OpenClawHome, *args: str) -> subprocess.CompletedProcess[str]:
    """The full Typer CLI, which skips the console script's fast path."""
    return subprocess.run(
        [sys.executable, "-c", FULL_CLI, *args],
        env={**home.env, **TEST_ENV},
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def test_fast_path_prints_what_the_cli_prints(home: OpenClawHome, tmp_path: Path) -> None:
    """The fast path's bytes equal the full CLI's (which asks the service for answers) and,
    but for took_ms, the in-process search's; help, usage errors and --batch are left to
    the full CLI, and the service never prints them itself."""
    service_out = tmp_path / "serve.out"
    with service_out.open("w") as sink:
        proc = _start(home, stdout=sink)
    try:
        for args in (
            ("Lena",),
            ("boiler service", "--limit", "1"),
            ("Lena", "--source", "memory", "--max-chars", "20"),
        ):
            fast = home.run("recall", *args, extra_env=TEST_ENV)
            full = _full_cli(home, "recall", *args)
            local = home.run("recall", *args, "--no-service", extra_env=TEST_ENV)
            assert fast.returncode == full.returncode == local.returncode == 0
            assert fast.stdout == full.stdout == local.stdout
            assert fast.stdout.startswith("### Recalled memory")
            fast_json = home.run("recall", *args, "--json", extra_env=TEST_ENV)
            full_json = _full_cli(home, "recall", *args, "--json")
            assert fast_json.stdout == full_json.stdout.replace(
                f'"took_ms": {json.loads(full_json.stdout)["took_ms"]}',
                f'"took_ms": {json.loads(fast_json.stdout)["took_ms"]}',
            )
        helped = home.run("recall", "--help", extra_env=TEST_ENV)
        assert helped.returncode == 0 and "Usage: infra recall" in helped.stdout
        bad = home.run("recall", "Lena", "--limit", "0", extra_env=TEST_ENV)
        assert bad.returncode == 2 and "--limit" in bad.stderr
        both = home.run("recall", "Lena", "--batch", "-", input="x\n", extra_env=TEST_ENV)
        assert both.returncode == 2 and "not both" in both.stderr
        served = service_client.ping(home.settings(embedding_model="test-hash-embedder"))
        assert served is not None and served["served"] >= 9
    finally:
        _stop(proc)
    assert service_out.read_text() == ""


def test_fast_path_timeout_follows_settings(tmp_path: Path) -> None:
    """The fast path reads the timeout as Settings does: environment, then config.env; a bad
    value leaves the call to the full CLI (which exits 78 naming it)."""
    from openclaw_infra.core.config import Settings
    from openclaw_infra.serve.client import DEFAULT_TIMEOUT_S, TIMEOUT_ENV, _timeout

    assert Settings.model_fields["recall_service_timeout_s"].default == DEFAULT_TIMEOUT_S
    assert _timeout({}, tmp_path) == DEFAULT_TIMEOUT_S
    (tmp_path / "config.env").write_text("# mine\nopenclaw_infra_recall_service_timeout_s=7.5\n")
    assert _timeout({}, tmp_path) == 7.5
    assert _timeout({TIMEOUT_ENV: "0.25"}, tmp_path) == 0.25
    assert _timeout({TIMEOUT_ENV: "soon"}, tmp_path) is None
    assert _timeout({TIMEOUT_ENV: "0"}, tmp_path) is None


def test_a_hung_service_is_waited_for_once(home: OpenClawHome) -> None:
    """A service that accepts but never answers costs one timeout, not one per client path:
    the console script then searches in-process, with the same results."""
    accepted = []
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(_sock(home)))
    listener.listen(8)
    listener.settimeout(0.2)
    stop = threading.Event()

    def hang() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            accepted.append(conn)  # held open, never answered

    worker = threading.Thread(target=hang)
    worker.start()
    try:
        env = {**TEST_ENV, "OPENCLAW_INFRA_RECALL_SERVICE_TIMEOUT_S": "0.5"}
        done = home.run("recall", "boiler", "--json", extra_env=env)
        assert done.returncode == 0, done.stderr
        assert len(accepted) == 1
    finally:
        stop.set()
        worker.join(10)
        for conn in accepted:
            conn.close()
        listener.close()
    assert _strip(json.loads(done.stdout)) == _strip(_recall(home, "boiler", "--no-service"))


def test_a_replaced_store_is_reopened(home: OpenClawHome) -> None:
    """A store deleted and built anew while the service runs is the one it searches (an
    open connection would keep reading the deleted file)."""
    proc = _start(home)
    try:
        assert _recall(home, "boiler")["results"]
        for name in ("infra.sqlite", "infra.sqlite-wal", "infra.sqlite-shm", "memory.faiss"):
            (home.data / name).unlink(missing_ok=True)
        (home.state / "agents" / "main" / "sessions" / "s1.jsonl").unlink()
        write_jsonl_session(home.state, "main", "s2", [("user", "The kayak rental closes at six")])
        assert home.run("index", extra_env=TEST_ENV).returncode == 0
        found = _recall(home, "kayak rental")
        assert found["index"]["chunks"] == _recall(home, "x", "--no-service")["index"]["chunks"]
        assert any("kayak" in r["text"] for r in found["results"])
        assert not any("boiler" in r["text"] for r in _recall(home, "boiler")["results"])
    finally:
        _stop(proc)


def test_writers_embed_through_the_service(home: OpenClawHome) -> None:
    """With the service up, `infra index` embeds new chunks through it (no second model in
    the job) and the vectors are the ones a local model gives; when the service dies
    mid-run, a writer falls back to its own model for the whole call."""
    import numpy as np

    from openclaw_infra.memory.embedder import HashEmbedder
    from openclaw_infra.serve.embedder import ServiceEmbedder
    from openclaw_infra.services import writer_embedder

    settings = home.settings(embedding_model="test-hash-embedder", recall_service_timeout_s=30)
    proc = _start(home)
    try:
        before = service_client.ping(settings)
        assert before is not None and before["model"] == "test-hash-embedder:64"
        path = home.state / "agents" / "main" / "sessions" / "s1.jsonl"
        append_jsonl(path, [("user", "The plumber comes on Thursday at 8 to fix the sink")])
        assert home.run("index", extra_env=TEST_ENV).returncode == 0
        after = service_client.ping(settings)
        assert after is not None and after["embedded"] > before["embedded"]
        assert any("plumber" in r["text"] for r in _recall(home, "plumber sink")["results"])
        borrowed = writer_embedder(settings)
        assert isinstance(borrowed, ServiceEmbedder)
        texts = [f"note {i}: " + "word " * (i % 50) for i in range(40)]  # several requests
        assert np.array_equal(borrowed.encode(texts), HashEmbedder().encode(texts))
        assert borrowed.encode([]).shape == (0, 64)
    finally:
        _stop(proc)
    import os

    os.environ.update(TEST_ENV)
    try:
        assert np.array_equal(borrowed.encode(texts), HashEmbedder().encode(texts))
        assert borrowed._local is not None  # lost the service: local model from now on
        assert not isinstance(writer_embedder(settings), ServiceEmbedder)
    finally:
        for k in TEST_ENV:
            os.environ.pop(k, None)


def test_out_of_range_options_are_refused_over_the_socket(home: OpenClawHome) -> None:
    """`recall` options the CLI refuses (a limit past 200, NaN or infinite scores, dates out
    of range, a non-text agent, a zero max_chars) and a request nested past the JSON depth
    limit each get an exit-2 error reply; the service keeps answering (issue 22)."""
    proc = _start(home)
    settings = home.settings(embedding_model="test-hash-embedder", recall_service_timeout_s=30)
    try:
        bad = [
            '{"limit": 1000000000}',
            '{"limit": 3, "min_score": NaN}',
            '{"limit": 3, "min_score": -Infinity}',
            '{"limit": 3, "min_score": true}',
            '{"limit": 3, "max_chars": 0}',
            '{"limit": 3, "since": "0001-01-01T00:00:00+14:00"}',
            '{"limit": 3, "until": "9999-12-31T23:59:59-14:00"}',
            '{"limit": 3, "agent": ["main"]}',
        ]
        for options in bad:
            request = f'{{"v":1,"op":"recall","queries":["Lena"],"options":{options}}}\n'
            reply = _raw(_sock(home), request.encode())
            assert reply["ok"] is False and reply["exit_code"] == 2, (options, reply)
        argv = b'{"v":1,"op":"recall_argv","argv":["Lena","--min-score","nan"]}\n'
        assert _raw(_sock(home), argv)["exit_code"] == 2
        deep = b'{"v":1,"op":"recall","queries":["x"],"options":' + b"[" * 5000 + b"]" * 5000
        reply = _raw(_sock(home), deep + b"}\n")
        assert reply["exit_code"] == 2 and "malformed" in reply["error"]
        answers = service_client.recall(settings, RecallQuery("", 3), ["Lena"])
        assert isinstance(answers, list) and answers[0]["results"]
    finally:
        assert _stop(proc) == 0
    cli = home.run("recall", "Lena", "--min-score", "nan", "--no-service", extra_env=TEST_ENV)
    assert cli.returncode == 2 and "--min-score" in cli.stderr
