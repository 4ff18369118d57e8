"""Transcript discovery lists only regular session files inside `sessions/`: a link to a file
out of the tree, to a device, or a FIFO is never listed (so never opened or blocked on), and
each is reported; a link that stays inside `sessions/` is read like the file it names."""

from __future__ import annotations

import os
from pathlib import Path

from openclaw_infra.core.watched import RefusedFile
from openclaw_infra.memory.embedder import HashEmbedder
from openclaw_infra.memory.indexer import index_all
from openclaw_infra.openclaw import paths
from openclaw_infra.openclaw.reader import discover_sources, read_all

from conftest import OpenClawHome
from openclaw_fixtures import sessions_dir, sqlite_path, write_jsonl_session, write_sqlite_sessions


def _hostile_sessions(home: OpenClawHome, tmp_path: Path) -> Path:
    """A good session, an in-tree link to it, and three files that must not be read."""
    write_jsonl_session(home.state, "main", "good", [("user", "the canoe is green")])
    outside = write_jsonl_session(
        home.state, "other", "secret", [("user", "the vault code is 4711")]
    )
    stolen = tmp_path / "stolen.jsonl"
    outside.rename(stolen)
    folder = sessions_dir(home.state, "main")
    (folder / "alias.jsonl").symlink_to(folder / "good.jsonl")
    (folder / "out.jsonl").symlink_to(stolen)
    (folder / "zero.jsonl").symlink_to("/dev/zero")
    os.mkfifo(folder / "pipe.jsonl")
    return stolen


def test_links_out_devices_and_fifos_are_not_listed_but_reported(
    oc_home: OpenClawHome, tmp_path: Path
) -> None:
    """`jsonl_files` (which backup and health use too) lists the good file and the in-tree
    link only; `discover_sources` hands the refusals to the caller with their reasons."""
    stolen = _hostile_sessions(oc_home, tmp_path)
    s = oc_home.settings()
    refused: list[RefusedFile] = []
    listed = [p.name for p in paths.jsonl_files(s, "main", refused=refused)]
    assert listed == ["alias.jsonl", "good.jsonl"]
    reasons = {f.path.name: f.reason for f in refused}
    assert reasons["pipe.jsonl"] == "a FIFO"
    assert reasons["zero.jsonl"].startswith("leads to /dev/zero, outside ")
    assert reasons["out.jsonl"].startswith(f"leads to {os.path.realpath(stolen)}, outside ")
    found: list[RefusedFile] = []
    sources = [src for src in discover_sources(s, refused=found) if src.agent == "main"]
    assert [src.session_id for src in sources] == ["alias", "good"]
    assert sorted(f.path.name for f in found) == ["out.jsonl", "pipe.jsonl", "zero.jsonl"]
    texts = [e.text for e, _ in read_all(s, sources[0]).items]
    assert texts == ["the canoe is green"]


def test_index_skips_and_counts_them_and_never_reads_outside(
    oc_home: OpenClawHome, tmp_path: Path
) -> None:
    """`index` finishes, indexes the good session, counts each refused file, and the session
    out of the tree is not findable."""
    _hostile_sessions(oc_home, tmp_path)
    s = oc_home.settings()
    stats = index_all(s, embedder=HashEmbedder())
    assert stats.refused == 3
    assert stats.first_refused.startswith("agents/main/sessions/out.jsonl: leads to ")
    conn_texts = _indexed_texts(s)
    assert any("canoe" in t for t in conn_texts)
    assert not any("4711" in t for t in conn_texts)


def test_an_agent_store_linked_out_of_its_folder_is_not_read(
    oc_home: OpenClawHome, tmp_path: Path
) -> None:
    """`openclaw-agent.sqlite` that is a link out of the agent's folder is another store:
    refused, not read."""
    write_sqlite_sessions(oc_home.state, "main", {"s1": [("user", "the kite is red")]})
    db = sqlite_path(oc_home.state, "main")
    elsewhere = tmp_path / "elsewhere.sqlite"
    db.rename(elsewhere)
    db.symlink_to(elsewhere)
    refused: list[RefusedFile] = []
    assert discover_sources(oc_home.settings(), refused=refused) == []
    assert [f.path.name for f in refused] == [db.name]


def test_a_fifo_swapped_in_after_discovery_does_not_block_the_reader(
    oc_home: OpenClawHome,
) -> None:
    """The reader opens with the same checks: a session file replaced by a FIFO between
    discovery and reading is skipped as gone instead of blocking on the open."""
    write_jsonl_session(oc_home.state, "main", "s1", [("user", "hello there")])
    s = oc_home.settings()
    (source,) = discover_sources(s)
    source.path.unlink()
    os.mkfifo(source.path)
    batch = read_all(s, source)
    assert batch.stats.gone and batch.items == []


def _indexed_texts(settings) -> list[str]:  # type: ignore[no-untyped-def]
    from openclaw_infra.core.db import connect

    conn = connect(settings.db_path)
    try:
        return [r[0] for r in conn.execute("SELECT text FROM memory_chunks")]
    finally:
        conn.close()
