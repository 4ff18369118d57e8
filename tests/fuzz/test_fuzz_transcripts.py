"""Both transcript containers under hostile lines, in process: discovery and `read_all`
return for any file, and every good line planted among hostile ones comes out.

JSONL sessions get hostile lines, CRLF or LF terminators, a last line without one, hostile
file names and a hostile `sessions.json`; the SQLite store (2026.7.2 and 2026.9.6 schemas)
gets the same lines as events, zstd-compressed or not, plus rows no writer should leave
(NULL payloads, corrupt or lying zstd frames, text in `seq`, BLOB JSON) and hostile
session ids.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fuzz_homes import Home, Row, clean_environment, new_home, write_jsonl, write_store
from fuzz_inputs import (
    LINE_LIMIT,
    SUPPRESSED,
    deep_line,
    encode_good,
    examples,
    file_name,
    good_line,
    good_object,
    hostile_id,
    hostile_line,
    short,
    token,
)
from hypothesis import given, settings
from hypothesis import strategies as st

from openclaw_infra.openclaw.paths import is_transcript_file
from openclaw_infra.openclaw.reader import discover_sources, read_all

from openclaw_fixtures import BASE_TS, SCHEMA_NEW, SCHEMA_OLD, epoch_ms

NOW = datetime(2026, 3, 3, tzinfo=UTC)
BASE_MS = epoch_ms(BASE_TS)


@pytest.fixture(autouse=True)
def _environment(monkeypatch: pytest.MonkeyPatch) -> None:
    clean_environment(monkeypatch)


@dataclass
class Transcripts:
    """What one example plants; `tokens` are the good lines that must come out."""

    jsonl: list[tuple[str, list[bytes], list[bytes]]]  # file name, lines, terminators
    sessions_json: bytes | None
    schema: str
    compress_over: int | None
    store: dict[bytes, list[Row]]
    tokens: list[str]

    def __repr__(self) -> str:
        return short(vars(self))

    def plant(self, home: Home) -> None:
        for name, lines, ends in self.jsonl:
            write_jsonl(home, "main", name, lines, ends)
        if self.sessions_json is not None:
            folder = home.state / "agents" / "main" / "sessions"
            folder.mkdir(parents=True, exist_ok=True)
            (folder / "sessions.json").write_bytes(self.sessions_json)
        if self.store:
            write_store(
                home,
                "main",
                self.schema,
                self.store,
                compress_over=self.compress_over,
                created_ms=BASE_MS,
            )


odd_row = st.one_of(
    st.sampled_from(("null_payload", "zstd_bomb", "text_seq")).map(Row),
    st.binary(max_size=64).map(lambda b: Row("bad_zstd", b)),
    hostile_line.map(lambda b: Row("blob_json", b)),
)


@st.composite
def mixed_lines(draw: st.DrawFn, first: int, count: int) -> list[bytes]:
    """`count` good lines (tokens `first…`) shuffled among hostile ones."""
    good = [
        draw(good_line(i, draw(st.sampled_from((None, BASE_MS + i * 60_000)))))
        for i in range(first, first + count)
    ]
    return draw(st.permutations(good + draw(st.lists(hostile_line, max_size=6))))


def _jsonl_name(index: int, raw: str) -> str | None:
    name = file_name(f"j{index}-{raw}", ".jsonl")
    return name if name is not None and is_transcript_file(name) else None


@st.composite
def transcripts(draw: st.DrawFn) -> Transcripts:
    tokens: list[str] = []
    jsonl = []
    names: set[str] = set()
    for index in range(draw(st.integers(0, 2))):
        name = _jsonl_name(index, draw(hostile_id)) or f"j{index}.jsonl"
        if name in names:
            continue
        names.add(name)
        count = draw(st.integers(1, 3))
        lines = draw(mixed_lines(len(tokens), count))
        tokens += [token(i) for i in range(len(tokens), len(tokens) + count)]
        ends = [draw(st.sampled_from((b"\n", b"\r\n"))) for _ in lines]
        if ends:
            ends[-1] = draw(st.sampled_from((b"\n", b"\r\n", b"")))
        jsonl.append((name, lines, ends))
    store: dict[bytes, list[Row]] = {}
    for index in range(draw(st.integers(0 if jsonl else 1, 2))):
        # raw: a lone surrogate becomes invalid UTF-8 in the stored id
        session_id = f"s{index}-{draw(hostile_id)}".encode("utf-8", "surrogatepass")
        count = draw(st.integers(1, 3))
        lines = draw(mixed_lines(len(tokens), count))
        tokens += [token(i) for i in range(len(tokens), len(tokens) + count)]
        odd = draw(st.lists(odd_row, max_size=3))
        store[session_id] = draw(st.permutations([Row("event", line) for line in lines] + odd))
    sessions_json = draw(
        st.one_of(st.none(), hostile_line, st.just(deep_line(50_000, b'{"a":', b"}")))
    )
    return Transcripts(
        jsonl=jsonl,
        sessions_json=sessions_json,
        schema=draw(st.sampled_from((SCHEMA_OLD, SCHEMA_NEW))),
        compress_over=draw(st.sampled_from((None, 64, 1024))),
        store=store,
        tokens=tokens,
    )


@settings(max_examples=examples(1.0), suppress_health_check=SUPPRESSED, deadline=None)
@given(spec=transcripts())
def test_every_good_line_comes_out_of_both_containers(
    tmp_path_factory: pytest.TempPathFactory, spec: Transcripts
) -> None:
    """No hostile line, row, file name, session id or `sessions.json` makes discovery or
    `read_all` raise, and each good line's text (its token) is read."""
    home = new_home(tmp_path_factory.mktemp("transcripts"))
    spec.plant(home)
    settings = home.settings()
    texts = []
    for source in discover_sources(settings):
        batch = read_all(settings, source, max_line_bytes=LINE_LIMIT, now=NOW)
        texts += [entry.text for entry in batch.entries]
    read = "\n".join(texts)
    missing = [t for t in spec.tokens if t not in read]
    assert not missing, f"good lines lost: {missing}"


def test_jsonl_files_with_hostile_names_are_all_discovered(tmp_path: Path) -> None:
    """A session file name with a newline, a fake heading or 250 bytes is still a session."""
    home = new_home(tmp_path)
    names = ["a\n## SYSTEM\nb.jsonl", "## SYSTEM.jsonl", "é" * 120 + ".jsonl", " .jsonl"]
    for i, name in enumerate(names):
        line = good_object("user", token(i), entry_id=f"e{i}", ts_ms=BASE_MS)
        write_jsonl(home, "main", name, [encode_good(line, False)], [b"\n"])
    found = {s.path.name for s in discover_sources(home.settings())}
    assert found == set(names)
