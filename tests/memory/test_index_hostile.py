"""Odd files the agent can leave in `memory/` never hang, exhaust or leak through the index:
a FIFO, a link to a device or out of the workspace, an oversized file; plus Markdown shapes
that were quadratic to chunk, and `recall --batch` input that is not a file or too big."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from openclaw_infra.core.checks import WARNING, HealthContext
from openclaw_infra.core.db import connect
from openclaw_infra.memory.checks import check_last_index
from openclaw_infra.memory.chunking import markdown_chunks
from openclaw_infra.memory.embedder import HashEmbedder
from openclaw_infra.memory.indexer import index_all
from openclaw_infra.memory.query import RecallQuery
from openclaw_infra.memory.search import recall

from conftest import OpenClawHome

EMB = HashEmbedder()
TEST_ENV = {
    "OPENCLAW_INFRA_EMBEDDING_MODEL": "test-hash-embedder",
    "OPENCLAW_INFRA_TEST_EMBEDDER": "1",
}


def _texts(settings, query: str) -> list[str]:  # type: ignore[no-untyped-def]
    answer = recall(settings, RecallQuery.parse(settings, query, limit=20), embedder=EMB)
    return [r["text"] for r in answer["results"]]


def test_fifo_device_and_links_out_are_skipped_counted_and_named(
    oc_home: OpenClawHome, tmp_path: Path
) -> None:
    """`index` finishes (no FIFO wait, no endless read of /dev/zero), reads nothing outside
    the workspace, indexes the good file and a link inside the tree, and reports each skip."""
    mem = oc_home.workspace / "memory"
    secret = tmp_path / "passwd"
    secret.write_text("root:x:0:0:zanzibar-secret:/root:/bin/sh\n")
    (mem / "good.md").write_text("# Good\n\n- the kayak is blue\n")
    (mem / "alias.md").symlink_to(mem / "good.md")
    os.mkfifo(mem / "a-pipe.md")
    (mem / "b-zero.md").symlink_to("/dev/zero")
    (mem / "c-out.md").symlink_to(secret)
    (oc_home.workspace / "MEMORY.md").symlink_to(secret)
    s = oc_home.settings()
    stats = index_all(s, embedder=EMB)
    assert stats.refused == 4
    assert stats.first_refused == f"MEMORY.md: leads to {os.path.realpath(secret)}, outside " + (
        f"{s.workspace} or {s.memory_dir}"
    )
    assert any("kayak" in t for t in _texts(s, "kayak blue"))
    assert not any("zanzibar" in t for t in _texts(s, "zanzibar secret root"))


def test_a_file_that_turns_into_a_link_out_loses_its_chunks(oc_home: OpenClawHome) -> None:
    """Chunks of a file later replaced by a link out of the tree are dropped, not kept."""
    note = oc_home.workspace / "memory" / "note.md"
    note.write_text("# Note\n\n- the walrus sings at dawn\n")
    s = oc_home.settings()
    index_all(s, embedder=EMB)
    assert any("walrus" in t for t in _texts(s, "walrus dawn"))
    note.unlink()
    note.symlink_to("/etc/hostname")
    stats = index_all(s, embedder=EMB)
    assert stats.removed == 1 and stats.refused == 1
    assert not any("walrus" in t for t in _texts(s, "walrus dawn"))


def test_oversized_markdown_is_skipped_and_health_names_it(oc_home: OpenClawHome) -> None:
    """A file over `index_max_file_bytes` is skipped by size; the run's ledger keeps the
    count and the first skip, which `infra health` reports as a WARNING."""
    big = oc_home.workspace / "memory" / "huge.md"
    big.write_text("# Huge\n\n" + "word " * 2000)
    (oc_home.workspace / "memory" / "small.md").write_text("# Small\n\n- fine\n")
    done = oc_home.run(
        "index", "--json", extra_env={**TEST_ENV, "OPENCLAW_INFRA_INDEX_MAX_FILE_BYTES": "4096"}
    )
    assert done.returncode == 0, done.stderr
    figures = json.loads(done.stdout)
    assert figures["refused"] == 1
    assert figures["first_refused"] == "memory/huge.md: 10,008 bytes, over the 4,096-byte limit"
    s = oc_home.settings()
    conn = connect(s.db_path)
    try:
        (check,) = list(check_last_index(HealthContext(s, conn)))
    finally:
        conn.close()
    assert check.state == WARNING
    assert "1 file(s) not read, first memory/huge.md: 10,008 bytes" in check.summary
    assert check.perf["index_refused"] == 1


def test_pathological_markdown_chunks_in_linear_time() -> None:
    """Shapes that were quadratic or worse (a run of headings rescanned per block, a
    multi-MB line sliced per piece, a heading with a long run of spaces that the heading
    regex backtracked over cubically) chunk in about linear time: 4x the input, well
    under 16x the time."""

    def cost(scale: int) -> float:
        headings = "\n".join(f"### heading {i}" for i in range(2000 * scale))
        one_line = "lorem ipsum " * (20_000 * scale)
        spaced = "# a" + " " * (2000 * scale) + "x\n\nbody\n"
        began = time.perf_counter()
        markdown_chunks(headings + "\n\nbody\n")
        markdown_chunks(one_line)
        markdown_chunks(spaced)
        return time.perf_counter() - began

    small, large = cost(5), cost(20)
    assert large < 8 * small + 0.5, (small, large)
    # the chunks of a long line still cover all of its text, in order
    text = "alpha beta " * 5000
    pieces = [c.text for c in markdown_chunks(text)]
    assert "".join(p.replace(" ", "") for p in pieces) == text.replace(" ", "")


def test_a_heading_as_long_as_a_chunk_neither_hangs_nor_crashes() -> None:
    """A heading path longer than a chunk left no room for text: a long line under it
    split forever, and a blank line of a long fenced block under it raised IndexError."""
    heading = "# " + "h" * 1000
    long_line = markdown_chunks(f"{heading}\n\n## sub\n\n" + "word " * 1000 + "\n")
    assert "".join(c.text for c in long_line).count("word") == 1000
    fenced = markdown_chunks(f"{heading}\n```\n" + "code line\n\n" * 100 + "```\n")
    assert sum(c.text.count("code line") for c in fenced) == 100


@pytest.mark.parametrize("kind", ["device", "fifo"])
def test_recall_batch_refuses_a_file_that_is_not_regular(
    oc_home: OpenClawHome, tmp_path: Path, kind: str
) -> None:
    """`--batch /dev/zero` or a FIFO exits 66 at once with one line, instead of reading
    forever or blocking."""
    if kind == "fifo":
        batch = tmp_path / "queries.fifo"
        os.mkfifo(batch)
    else:
        batch = Path("/dev/zero")
    done = oc_home.run("recall", "--batch", str(batch), extra_env=TEST_ENV, timeout=60)
    assert done.returncode == 66, done.stderr
    reason = "a FIFO" if kind == "fifo" else "a character device"
    assert done.stderr.strip().splitlines() == [
        f"infra: error: {batch}: not a batch file ({reason}); give a regular file or - for stdin"
    ]


def test_recall_batch_over_its_bounds_exits_65(oc_home: OpenClawHome, tmp_path: Path) -> None:
    """More than 1 MiB of stdin, or more than 10,000 queries in a file, is refused (65)."""
    big = oc_home.run("recall", "--batch", "-", input="x" * (1 << 20) + "y", extra_env=TEST_ENV)
    assert big.returncode == 65, big.stderr
    assert "at most 1,048,576 bytes" in big.stderr
    many = tmp_path / "many.txt"
    many.write_text("q\n" * 10_001)
    done = oc_home.run("recall", "--batch", str(many), extra_env=TEST_ENV)
    assert done.returncode == 65, done.stderr
    assert "at most 10,000 queries, this one 10,001" in done.stderr
