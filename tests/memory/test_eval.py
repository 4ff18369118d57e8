"""`infra eval` and the guarded rebuild on the bundled demo home: its extractive digests and
hourly summaries (made by the real `summarize` and `daily-sync`) become the private
evaluation set, scored with the real packaged model on a real store."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
from pathlib import Path

import pytest

from openclaw_infra.core.db import connect, transaction
from openclaw_infra.core.outputs import DAILY, record_write
from openclaw_infra.demo import install_demo_home
from openclaw_infra.memory.evalset import Evidence, build_set, hit_rank, load_set, refresh_set

from conftest import OpenClawHome

pytestmark = pytest.mark.model

LISBON = "0f6c1d2e-7a44-4c1b-9a53-1d2f3b4c5d61"


def _home(root: Path) -> OpenClawHome:
    state = root / "home" / ".openclaw"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENCLAW_", "ANTHROPIC_"))}
    env.update(
        {
            "HOME": str(root / "home"),
            "OPENCLAW_STATE_DIR": str(state),
            "OPENCLAW_INFRA_TIMEZONE": "UTC",
            "OPENCLAW_INFRA_EMBEDDING_EXPORT_DIR": os.environ["INFRA_TEST_EXPORT_DIR"],
            "HF_HUB_OFFLINE": "1",
            "TRANSFORMERS_OFFLINE": "1",
            "PYTHONUNBUFFERED": "1",
        }
    )
    return OpenClawHome(root, state, state / "workspace", state / "infra", env)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> OpenClawHome:
    """The demo home summarised, digested and indexed once (subprocesses are slow)."""
    home = _home(tmp_path_factory.mktemp("eval-demo"))
    install_demo_home(home.state)
    for step in (("summarize",), ("daily-sync",), ("index",)):
        done = home.run(*step)
        assert done.returncode == 0, done.stderr
    return home


@pytest.fixture
def home(demo: OpenClawHome, tmp_path: Path) -> OpenClawHome:
    """A private copy of the demo home for a test that changes it."""
    shutil.copytree(demo.root / "home", tmp_path / "home", symlinks=True)
    return _home(tmp_path)


def _eval(home: OpenClawHome) -> dict:
    done = home.run("eval", "--json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def _check(home: OpenClawHome) -> dict:
    done = home.run("health", "--json")
    return next(c for c in json.loads(done.stdout)["checks"] if c["name"] == "eval")


def _gens(home: OpenClawHome) -> list[tuple[int, str]]:
    with sqlite3.connect(home.data / "infra.sqlite") as conn:
        return [
            (int(r[0]), str(r[1]))
            for r in conn.execute("SELECT gen, state FROM memory_generations")
        ]


def test_eval_builds_a_private_stable_set_and_scores_it(home: OpenClawHome) -> None:
    """Cited digest and summary bullets become queries with their cited turns as evidence;
    the set is 0600 in a 0700 folder, rebuilt byte-identical from the same memory, and
    scored: the extractive bullets' own sentences are found in the transcripts."""
    first = _eval(home)
    path = Path(first["set"]["path"])
    assert path == home.data / "eval" / "set.json"
    assert path.stat().st_mode & 0o777 == 0o600
    assert path.parent.stat().st_mode & 0o777 == 0o700
    assert (home.data / "eval" / "scores.json").stat().st_mode & 0o777 == 0o600
    evalset = load_set(home.settings())
    assert evalset is not None and len(evalset.queries) == first["set"]["queries"] >= 10
    texts = [q.text for q in evalset.queries]
    assert "Let's go with Solar dos Mouros." in texts
    assert not any("[" in t or " · " in t or t.startswith("`") for t in texts)  # decorations
    assert not any(t.startswith(("Lisbon: ", "Solar: ")) for t in texts)  # labelled repeats
    assert all(q.source.startswith(("memory/daily/", "memory/hourly/")) for q in evalset.queries)
    assert all(ev.position > 0 for q in evalset.queries for ev in q.evidence)
    score = first["score"]
    assert score["queries"] == len(texts) and score["set_id"] == evalset.set_id
    assert score["recall_at_10"] >= 0.9 and 0 < score["mrr"] <= score["recall_at_10"]

    before = path.read_bytes()
    again = _eval(home)
    assert again["set"]["changed"] is False and path.read_bytes() == before
    assert (again["score"]["recall_at_10"], again["score"]["mrr"]) == (
        score["recall_at_10"],
        score["mrr"],
    )
    check = _check(home)
    assert check["state"] == "OK" and check["perf"]["eval_recall10"] == score["recall_at_10"]
    assert "recall@10" in check["summary"] and "MRR" in check["summary"]


def test_the_cap_keeps_a_hash_ordered_prefix_and_new_digests_refresh_the_set(
    home: OpenClawHome,
) -> None:
    """A capped set is the first N of the full one (the same N every time); a new digest of
    infra's own changes the set, while a user's file with the same shape is ignored."""
    settings = home.settings()
    conn = connect(settings.db_path)
    try:
        full = build_set(settings, conn, built_at=0)
        capped = build_set(home.settings(eval_max_queries=4), conn, built_at=0)
        assert capped.queries == full.queries[:4] and capped.set_id != full.set_id
        assert build_set(settings, conn, built_at=1).set_id == full.set_id
        stored, changed = refresh_set(settings, conn)
        assert changed and stored.set_id == full.set_id
        assert refresh_set(settings, conn) == (stored, False)

        bullet = f"- The kayak club meets on Thursday evenings in Porto [{LISBON}#1e0f44f3]\n"
        mine = home.workspace / "memory" / "notes-by-me.md"
        mine.write_text("---\nkind: daily\n---\n\n## Summary\n\n" + bullet)
        assert refresh_set(settings, conn)[1] is False  # not infra's file

        new = home.workspace / "memory" / "daily" / "2026-11-20.md"
        new.write_text("---\nkind: daily\n---\n\n## Summary\n\n" + bullet)
        with transaction(conn):
            record_write(conn, "memory/daily/2026-11-20.md", DAILY, "0" * 64)
        refreshed, changed = refresh_set(settings, conn)
        assert changed
        added = [q for q in refreshed.queries if q.source == "memory/daily/2026-11-20.md"]
        assert [q.text for q in added] == ["The kayak club meets on Thursday evenings in Porto"]
        assert added[0].evidence == (Evidence(LISBON, "1e0f44f3", 8),)
    finally:
        conn.close()


def test_hit_rank_needs_every_cited_turn_in_the_top_ten() -> None:
    """A result covers a turn of its own session inside its range; the rank is where the
    last missing turn is covered; beyond ten results nothing counts."""
    a, b = Evidence("s1", "e1", 5), Evidence("s2", "e2", 40)
    other = {"session_id": "s9", "start": 1, "end": 99}
    first = {"session_id": "s1", "start": 2, "end": 6}
    second = {"session_id": "s2", "start": 38, "end": 41}
    assert hit_rank([first, other, second], [a, b]) == 3
    assert hit_rank([first], [a, b]) is None
    assert hit_rank([{"session_id": "s1", "start": 6, "end": 9}], [a]) is None
    assert hit_rank([other] * 10 + [first], [a]) is None
    assert hit_rank([{"session_id": None, "start": 1, "end": 9}], [a]) is None


def test_rebuild_is_guarded_by_the_set(home: OpenClawHome) -> None:
    """Without a set a rebuild is as before; with one it reports the comparison and
    switches; a rebuild that loses cited history is refused (exit 69, the old index still
    answers, the new one is dropped, health warns) until --force."""
    plain = home.run("index", "--rebuild")
    assert plain.returncode == 0 and "evaluation set" not in plain.stdout
    assert home.run("index", "--force").returncode == 2
    _eval(home)
    passed = home.run("index", "--rebuild")
    assert passed.returncode == 0, passed.stderr
    assert "evaluation set: recall@10" in passed.stdout
    [(active, state)] = _gens(home)
    assert state == "active"

    sessions = home.state / "agents" / "main" / "sessions"
    (sessions / f"{LISBON}.jsonl").rename(home.root / "moved-away.jsonl")
    refused = home.run("index", "--rebuild")
    assert refused.returncode == 69
    assert "kept the old index" in refused.stderr and "--force" in refused.stderr
    assert _gens(home) == [(active, "active")]  # the shadow is gone, the old one serves
    found = home.run("recall", "Solar dos Mouros", "--json", "--source", "session")
    assert any(r["session_id"] == LISBON for r in json.loads(found.stdout)["results"])
    check = _check(home)
    assert check["state"] == "WARNING" and "refused" in check["summary"]

    forced = home.run("index", "--rebuild", "--force")
    assert forced.returncode == 0, forced.stderr
    assert "switched anyway (--force)" in forced.stdout
    [(now_active, state)] = _gens(home)
    assert now_active > active and state == "active"
    assert _check(home)["state"] == "OK"


def test_an_unreadable_set_is_named_and_eval_replaces_it(home: OpenClawHome) -> None:
    """A damaged set stops a rebuild before any work (exit 65, naming the file); `infra
    eval` builds it again from the digests."""
    _eval(home)
    path = home.data / "eval" / "set.json"
    path.write_text('{"version": 1, "queries": [')
    broken = home.run("index", "--rebuild")
    assert broken.returncode == 65 and str(path) in broken.stderr
    assert _gens(home)[0][1] == "active" and len(_gens(home)) == 1
    assert _eval(home)["set"]["changed"] is True
    assert load_set(home.settings()) is not None
