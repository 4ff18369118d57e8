"""`memory/` trees under hostile input, in process: `index_all` returns, every good line of
a Markdown file is recalled, and nothing from outside the workspace is read.

Trees nest up to six folders with hostile names (newlines, fake headings, names ending in
`.md`); files come in UTF-8, UTF-8 with a BOM or UTF-16, with LF, CRLF or CR line ends,
NUL bytes, invalid UTF-8, lone surrogates and 100 kB lines around the good line; odd
entries that cannot block a reader (sockets, dangling and looping links, links inside the
tree and out of it, a linked MEMORY.md) are mixed in. FIFOs, /dev/zero and huge files
are left to the CLI runs in test_fuzz_jobs.py, where a hang is caught by a timeout.
"""

from __future__ import annotations

import json

import pytest
from fuzz_homes import (
    SPECIALS_SAFE,
    bounded,
    clean_environment,
    files_holding,
    new_home,
    plant_specials,
    plant_tree,
)
from fuzz_inputs import CANARY, SUPPRESSED, MdFile, examples, md_files, short
from hypothesis import given, settings
from hypothesis import strategies as st

from openclaw_infra.memory.embedder import HashEmbedder
from openclaw_infra.memory.indexer import index_all
from openclaw_infra.memory.query import RecallQuery
from openclaw_infra.memory.search import recall_batch

JOB_SECONDS = 10  # a normal example takes well under a second


@pytest.fixture(autouse=True)
def _environment(monkeypatch: pytest.MonkeyPatch) -> None:
    clean_environment(monkeypatch)


@st.composite
def trees(draw: st.DrawFn) -> tuple[list[MdFile], list[str]]:
    files = draw(md_files(0))
    return files, draw(st.lists(st.sampled_from(SPECIALS_SAFE), unique=True))


@settings(max_examples=examples(0.4), suppress_health_check=SUPPRESSED, deadline=None)
@given(tree=trees())
def test_hostile_memory_tree_is_indexed_and_nothing_outside_is_read(
    tmp_path_factory: pytest.TempPathFactory, tree: tuple[list[MdFile], list[str]]
) -> None:
    """`index_all` returns; each good line is recalled by its token; the canary outside the
    workspace is in no answer and in no file of infra's data dir."""
    files, specials = tree
    home = new_home(tmp_path_factory.mktemp("memory"))
    tokens = plant_tree(home, files)
    plant_specials(home, specials)
    settings = home.settings()
    embedder = HashEmbedder()
    query = RecallQuery.parse(settings, "", limit=20)
    with bounded(JOB_SECONDS):
        index_all(settings, embedder=embedder)
        answers = list(recall_batch(settings, query, [*tokens, CANARY], embedder=embedder))
    texts = ["\n".join(hit["text"] for hit in answer["results"]) for answer in answers]
    missing = [t for t, text in zip(tokens, texts, strict=False) if t not in text]
    assert not missing, f"good lines not recalled: {missing} of {short(files)}"
    leaked = [a for a in answers if CANARY in json.dumps(a["results"], ensure_ascii=False)]
    assert not leaked, f"recall returned a file outside the workspace: {short(leaked)}"
    assert not files_holding([home.data, home.memory], CANARY.encode())
