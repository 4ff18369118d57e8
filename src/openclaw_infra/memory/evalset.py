"""The private evaluation set: the user's own digests and summaries as questions, the
transcript turns they cite as the answers, and recall@10 and MRR of an index on them.

Every bullet infra writes into `memory/daily/` and `memory/hourly/` carries provenance links
to the transcript entries it came from (`[session#entry]`, pipeline/bullets.py). That makes
each bullet a query whose evidence is known without anyone labelling it: a hit is a top-10
answer (cut to 6,000 characters, as benchmarks/recall_quality.py cuts) that covers every
cited turn. The search leaves out infra's own summaries (kind `summary`), so a bullet cannot
answer itself: the evidence must be the transcript turn.

The set is a pure function of the memory: candidates are ordered by a hash of their text and
the first `eval_max_queries` whose citations the index holds are kept, so the same digests
always give the same set, and a new digest changes it only where its bullets hash in. Only
what scoring needs is stored (query text, session ids, turn positions), in one JSON file of
infra's data dir (0600, the atomic writer; `DataPaths.eval_set`).
"""

from __future__ import annotations

import hashlib
import json
import re
import sqlite3
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import structlog

from openclaw_infra.core.errors import DataError
from openclaw_infra.core.fsio import atomic_write_text
from openclaw_infra.core.layout import DataPaths
from openclaw_infra.core.outputs import DAILY, HOURLY
from openclaw_infra.core.watched import RefusedFile, read_watched
from openclaw_infra.memory.query import KINDS, RecallQuery

if TYPE_CHECKING:
    from openclaw_infra.core.config import Settings
    from openclaw_infra.memory.search import Searcher

log = structlog.get_logger("infra.memory")

SET_VERSION = 1
LIMIT = 10  # recall@10
BUDGET = 6000  # characters of results read, as the LoCoMo benchmark reads them
SEARCHED_KINDS = tuple(kind for kind in KINDS if kind != "summary")
MAX_FILE_BYTES = 4 << 20
MIN_WORDS = 3  # shorter bullets ("Nice.") say too little to be a question
MAX_QUERY_CHARS = 500
# a section whose bullets repeat other sections' lines behind a label ("Lisbon: ...")
SKIPPED_SECTIONS = frozenset({"people and projects"})

# `[session#entry]`; a file link (`[memory/voice/x.md#L3-L5]`) has a `/` and is not a turn
_CITATION = re.compile(r"\[([^\[\]\s#/]{1,300})#([^\[\]\s#/]{1,300})\]")
_CODE_ID = re.compile(r"^`[^`]{1,40}`\s+")  # an action item's or priority's `A-1b2c3d`
_ESCAPED = re.compile(r"\\(.)")
_WORD = re.compile(r"\w+")


@dataclass(frozen=True)
class Evidence:
    """One cited transcript turn: a result covers it when it is of this session and its
    line (or seq) range holds the position."""

    session_id: str
    entry_id: str
    position: int


@dataclass(frozen=True)
class EvalQuery:
    text: str
    source: str  # the digest or summary the bullet came from (workspace-relative)
    evidence: tuple[Evidence, ...]


@dataclass(frozen=True)
class EvalSet:
    set_id: str  # a hash of the queries: scores name the set they were taken on
    built_at: float
    queries: tuple[EvalQuery, ...]

    def as_json(self) -> str:
        data = {
            "version": SET_VERSION,
            "set_id": self.set_id,
            "built_at": self.built_at,
            "queries": [asdict(q) for q in self.queries],
        }
        return json.dumps(data, ensure_ascii=False, indent=1, sort_keys=True) + "\n"


@dataclass(frozen=True)
class Score:
    """recall@10 and MRR of one index generation on one set, when taken."""

    set_id: str
    gen: int
    model: str
    recall_at_10: float
    mrr: float
    queries: int
    at: float

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Score:
        return cls(
            str(data["set_id"]),
            int(data["gen"]),
            str(data["model"]),
            float(data["recall_at_10"]),
            float(data["mrr"]),
            int(data["queries"]),
            float(data["at"]),
        )


def set_path(settings: Settings) -> Path:
    return DataPaths(settings.data).eval_set


# --- building the set ----------------------------------------------------------------------


def bullets(markdown: str) -> Iterator[tuple[str, list[tuple[str, str]]]]:
    """(query text, [(session, entry), ...]) of each cited bullet of a summary file: the
    bullet without its citations, its item id and its ` · owner: …` tail, unescaped."""
    section = ""
    body = markdown
    if body.startswith("---\n"):  # the frontmatter holds sources, not sentences
        end = body.find("\n---\n", 4)
        body = body[end + 5 :] if end >= 0 else ""
    for line in body.splitlines():
        if line.startswith("#"):
            section = line.lstrip("#").strip().casefold()
            continue
        if not line.startswith("- ") or section in SKIPPED_SECTIONS:
            continue
        cited = _CITATION.findall(line)
        if not cited:
            continue
        text = _CODE_ID.sub("", _CITATION.sub(" ", line[2:]).strip())
        text = text.split(" · ", 1)[0]
        text = _ESCAPED.sub(r"\1", text).replace("&lt;", "<").replace("&gt;", ">")
        text = " ".join(text.split())[:MAX_QUERY_CHARS]
        if len(_WORD.findall(text)) >= MIN_WORDS:
            yield text, list(dict.fromkeys(cited))


def _summary_files(conn: sqlite3.Connection) -> list[str]:
    """Infra's own hourly summaries and daily digests (the owned-file table), by path."""
    rows = conn.execute(
        "SELECT path FROM owned_files WHERE kind IN (?, ?) AND sha256 IS NOT NULL ORDER BY path",
        (DAILY, HOURLY),
    )
    return [str(r[0]) for r in rows]


def _candidates(settings: Settings, conn: sqlite3.Connection) -> dict[str, EvalQuery]:
    """Every cited bullet once (the first file in path order wins), keyed by its hash;
    evidence positions are filled in later, only for the bullets picked."""
    found: dict[str, EvalQuery] = {}
    for rel in _summary_files(conn):
        try:
            raw = read_watched(
                settings.workspace / rel, [settings.memory_dir], max_bytes=MAX_FILE_BYTES
            )
        except FileNotFoundError:
            continue
        except (RefusedFile, OSError) as exc:
            log.warning("eval.file_skipped", path=rel, error=str(exc))
            continue
        for text, cited in bullets(raw.decode("utf-8", errors="replace")):
            key = hashlib.sha256(" ".join(text.casefold().split()).encode()).hexdigest()
            if key not in found:
                evidence = tuple(Evidence(s, e, -1) for s, e in cited)
                found[key] = EvalQuery(text, rel, evidence)
    return found


class _Turns:
    """Positions of cited entries in the active generation, one session loaded at a time."""

    def __init__(self, conn: sqlite3.Connection, gen: int) -> None:
        self.conn, self.gen = conn, gen
        self._sessions: dict[str, dict[str, int]] = {}

    def position(self, session_id: str, entry_id: str) -> int | None:
        if session_id not in self._sessions:
            rows = self.conn.execute(
                "SELECT t.entry_id, t.position FROM memory_turns t "
                "JOIN memory_docs d ON d.id = t.doc_id "
                "WHERE d.gen=? AND d.kind='session' AND d.session_id=? ORDER BY d.id, t.idx",
                (self.gen, session_id),
            )
            positions: dict[str, int] = {}
            for entry, pos in rows:
                positions.setdefault(str(entry), int(pos))
            self._sessions[session_id] = positions
        return self._sessions[session_id].get(entry_id)


def build_set(settings: Settings, conn: sqlite3.Connection, *, built_at: float) -> EvalSet:
    """The set of the memory as it is now (`conn`: infra.sqlite with an active index)."""
    row = conn.execute("SELECT gen FROM memory_generations WHERE state='active'").fetchone()
    picked: list[EvalQuery] = []
    if row is not None:
        turns = _Turns(conn, int(row[0]))
        candidates = _candidates(settings, conn)
        for key in sorted(candidates):
            query = candidates[key]
            evidence = []
            for ev in query.evidence:
                pos = turns.position(ev.session_id, ev.entry_id)
                if pos is None:  # a turn the index does not hold (noise, a dropped session)
                    break
                evidence.append(Evidence(ev.session_id, ev.entry_id, pos))
            else:
                picked.append(EvalQuery(query.text, query.source, tuple(evidence)))
                if len(picked) >= settings.eval_max_queries:
                    break
    canonical = json.dumps([asdict(q) for q in picked], ensure_ascii=False, sort_keys=True)
    set_id = hashlib.sha256(canonical.encode()).hexdigest()[:16]
    return EvalSet(set_id, built_at, tuple(picked))


def load_set(settings: Settings) -> EvalSet | None:
    """The stored set; None when there is none; DataError naming the file when unreadable."""
    path = set_path(settings)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("version") != SET_VERSION:
            raise ValueError(f"version {data.get('version')!r}, expected {SET_VERSION}")
        queries = tuple(
            EvalQuery(
                str(q["text"]),
                str(q["source"]),
                tuple(
                    Evidence(str(e["session_id"]), str(e["entry_id"]), int(e["position"]))
                    for e in q["evidence"]
                ),
            )
            for q in data["queries"]
        )
        return EvalSet(str(data["set_id"]), float(data["built_at"]), queries)
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise DataError(
            f"{path}: unreadable evaluation set ({exc})",
            hint="run `infra eval` to build it again from your digests",
        ) from None


def refresh_set(settings: Settings, conn: sqlite3.Connection) -> tuple[EvalSet, bool]:
    """Build the set and store it when it changed; returns it and whether it changed. An
    unreadable stored set is replaced (it is derived from the digests)."""
    try:
        old = load_set(settings)
    except DataError as exc:
        log.warning("eval.set_replaced", error=str(exc))
        old = None
    new = build_set(settings, conn, built_at=time.time())
    if old is not None and (old.set_id == new.set_id or not new.queries):
        return old, False  # unchanged, or nothing to replace it with (an emptied index)
    if not new.queries:
        return new, False
    atomic_write_text(set_path(settings), new.as_json())
    return new, True


# --- scoring -------------------------------------------------------------------------------


def hit_rank(results: Sequence[Mapping[str, Any]], evidence: Sequence[Evidence]) -> int | None:
    """First k at which the top-k results cover every evidence turn (None: not in the top
    LIMIT)."""
    missing = set(evidence)
    for k, result in enumerate(results[:LIMIT], 1):
        missing = {
            ev
            for ev in missing
            if not (
                result.get("session_id") == ev.session_id
                and result["start"] <= ev.position <= result["end"]
            )
        }
        if not missing:
            return k
    return None


def score(searcher: Searcher, evalset: EvalSet) -> Score:
    """recall@10 and MRR of the searcher's generation on the set (no summaries searched)."""
    from openclaw_infra.memory.search import answer_batch

    if searcher.gen is None:
        raise DataError("there is no memory index to evaluate", hint="run `infra index`")
    query = RecallQuery("", LIMIT, sources=SEARCHED_KINDS, max_chars=BUDGET)
    texts = [q.text for q in evalset.queries]
    ranks = [
        hit_rank(answer["results"], q.evidence)
        for q, answer in zip(evalset.queries, answer_batch(searcher, query, texts), strict=True)
    ]
    n = len(ranks)
    found = [r for r in ranks if r is not None]
    return Score(
        evalset.set_id,
        searcher.gen.gen,
        searcher.gen.model,
        round(len(found) / n, 4) if n else 0.0,
        round(sum(1 / r for r in found) / n, 4) if n else 0.0,
        n,
        time.time(),
    )
