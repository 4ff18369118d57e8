"""The shipped `infra-context` hook's handler, run by OpenClaw's own Node on real events'
shapes: with `infra` answering, failing, slow past the time limit, or absent, the handler
never throws, never waits past its limit, and falls back to the pack it last saw or none.

`INFRA_BIN` (the hook's documented option) points at small scripts standing in for `infra`:
the seam is the hook's external command, the handler itself runs unchanged.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from openclaw_it.harness import REPO, OpenClawError, install_openclaw

HANDLER = REPO / "openclaw" / "hooks" / "infra-context" / "handler.js"

DRIVER = """
import handler from %(handler)s;
const ws = process.argv[2];
const bins = JSON.parse(process.argv[3]);
function cfg(bin, timeout) {
  return {hooks: {internal: {entries: {"infra-context": {env: {
    INFRA_BIN: bin, INFRA_CONTEXT_TIMEOUT_MS: String(timeout)}}}}}};
}
async function boot(bin, sid, timeout = 800) {
  const files = [];
  const context = {workspaceDir: ws, bootstrapFiles: files, sessionId: sid, agentId: "main",
                   cfg: cfg(bin, timeout)};
  const t = Date.now();
  await handler({type: "agent", action: "bootstrap", sessionKey: "agent:main:main", context,
                 timestamp: new Date(), messages: []});
  return {files, ms: Date.now() - t};
}
async function compacted(bin, sid) {
  await handler({type: "session", action: "compact:after", sessionKey: "agent:main:main",
                 context: {sessionId: sid, cfg: cfg(bin, 800)}, timestamp: new Date(),
                 messages: []});
}
const out = {};
out.ok = await boot(bins.ok, "s1");
out.slow = await boot(bins.slow, "s1");
out.failing = await boot(bins.failing, "s1");
out.absent_new = await boot(bins.absent, "s2");
out.failing_new = await boot(bins.failing, "s2");
await compacted(bins.ok, "s3");
out.after_compact_slow = await boot(bins.slow, "s3");
out.not_compacted = await boot(bins.empty, "s1");
out.stale_cleared = await boot(bins.failing, "s1");
out.no_session = await boot(bins.ok, undefined);
console.log(JSON.stringify(out));
"""


def script(folder: Path, name: str, body: str) -> str:
    path = folder / name
    path.write_text("#!/bin/sh\n" + body + "\n", encoding="utf-8")
    path.chmod(0o755)
    return str(path)


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, object]]:
    try:
        node = install_openclaw().node
    except OpenClawError as exc:
        pytest.fail(str(exc), pytrace=False)
    folder = tmp_path_factory.mktemp("hook")
    bins = {
        "ok": script(folder, "ok", 'echo "## Notes from infra"; echo "- pack line for $5 [c#1]"'),
        "slow": script(folder, "slow", "exec sleep 30"),
        "failing": script(folder, "failing", "echo 'infra: error: broken' >&2; exit 78"),
        "empty": script(folder, "empty", "exit 0"),
        "absent": str(folder / "no-such-infra"),
    }
    driver = folder / "driver.mjs"
    driver.write_text(DRIVER % {"handler": json.dumps(HANDLER.as_uri())}, encoding="utf-8")
    done = subprocess.run(
        [str(node), str(driver), str(folder), json.dumps(bins)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def contents(result: dict[str, object]) -> list[str]:
    return [str(f["content"]) for f in result["files"]]  # type: ignore[attr-defined, index]


def test_hook_adds_the_pack_as_a_bootstrap_file(results) -> None:  # type: ignore[no-untyped-def]
    """infra's output becomes one bootstrap file with content, a path in the workspace."""
    files = results["ok"]["files"]
    assert len(files) == 1
    assert files[0]["name"] == "INFRA_CONTEXT.md" and files[0]["missing"] is False
    assert files[0]["path"].endswith("/INFRA_CONTEXT.md")
    assert contents(results["ok"]) == ["## Notes from infra\n- pack line for s1 [c#1]"]


def test_hook_slow_or_failing_infra_gives_the_last_pack_in_time(results) -> None:  # type: ignore[no-untyped-def]
    """Past the time limit (0.8 s; infra sleeps 30 s) or on an error exit, the pack last
    seen for the session is used, and the hook returns soon after the limit."""
    assert contents(results["slow"]) == contents(results["ok"])
    assert results["slow"]["ms"] < 5000
    assert contents(results["failing"]) == contents(results["ok"])


def test_hook_without_a_pack_adds_nothing(results) -> None:  # type: ignore[no-untyped-def]
    """Absent infra, or failing with no earlier pack, or no session: no file, no error."""
    for name in ("absent_new", "failing_new", "no_session"):
        assert results[name]["files"] == [], name


def test_hook_compaction_event_prepares_the_pack(results) -> None:  # type: ignore[no-untyped-def]
    """`session:compact:after` builds the pack, so a slow infra at the next turn still has it."""
    assert contents(results["after_compact_slow"]) == [
        "## Notes from infra\n- pack line for s3 [c#1]"
    ]


def test_hook_empty_answer_clears_the_stale_pack(results) -> None:  # type: ignore[no-untyped-def]
    """infra saying "nothing" (not compacted) is an answer: no file, and no stale pack later."""
    assert results["not_compacted"]["files"] == []
    assert results["stale_cleared"]["files"] == []
