"""Ranking: a digest line that repeats the question gives way to the transcript turn that
answered it (the demo's Lisbon hotel), filters still hold, results are deterministic; names
masked in the dense query; the pure helpers (citations, trailing questions, MMR). Real
model, real store."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
import pytest

from openclaw_infra.memory.answer_first import best_cited, ends_on_matched_question
from openclaw_infra.memory.diversify import mmr
from openclaw_infra.memory.embedder import get_embedder
from openclaw_infra.memory.indexer import index_all
from openclaw_infra.memory.query import RecallQuery
from openclaw_infra.memory.query_analysis import names, without_names
from openclaw_infra.memory.ranking import SHIPPED, Candidate, Fusion, query_words
from openclaw_infra.memory.search import Searcher

from conftest import OpenClawHome
from openclaw_fixtures import entry_id, write_jsonl_session

QUESTION = "which hotel did we pick in Lisbon?"
PLAN, LATER = "s-plan", "s-later"


@pytest.fixture
def home(oc_home: OpenClawHome) -> OpenClawHome:
    write_jsonl_session(
        oc_home.state,
        "main",
        PLAN,
        [
            ("user", "Can we plan the Lisbon trip? I fly out on December 12."),
            ("assistant", "Shortlist: Solar dos Mouros, Lisboa Prata Boutique, Memmo Alfama."),
            ("user", "Let's go with Solar dos Mouros. Decision made."),
            ("assistant", "Booked in the plan: Solar dos Mouros for Dec 12-16."),
        ],
    )
    write_jsonl_session(
        oc_home.state,
        "main",
        LATER,
        [
            ("user", "The Q1 roadmap review with Priya moved to Tuesday."),
            ("assistant", "Updated the roadmap review."),
            ("user", "And what was the hotel we picked for Lisbon again?"),
            ("assistant", "For Lisbon you picked Solar dos Mouros, December 12 to 16."),
        ],
    )
    asked = f"[{LATER}#{entry_id(LATER, 2)}]"
    daily = oc_home.workspace / "memory" / "daily"
    daily.mkdir(parents=True, exist_ok=True)
    (daily / "2026-11-19.md").write_text(
        "# Daily digest 2026-11-19\n\n"
        "## Open questions\n\n"
        f"- And what was the hotel we picked for Lisbon again? {asked}\n\n"
        "## People and projects\n\n"
        f"- Lisbon: And what was the hotel we picked for Lisbon again? {asked}\n"
        f"- Priya: Q1 roadmap review moved to Tuesday. [{LATER}#{entry_id(LATER, 0)}]\n"
    )
    settings = oc_home.settings()
    index_all(settings, embedder=get_embedder(settings))
    return oc_home


def _answer(home: OpenClawHome, fusion: Fusion = SHIPPED, **options: Any) -> list[dict[str, Any]]:
    settings = home.settings()
    searcher = Searcher(settings, get_embedder(settings))
    try:
        query = RecallQuery.parse(settings, QUESTION, **options)
        results: list[dict[str, Any]] = searcher.search(query, fusion=fusion)["results"]
        return results
    finally:
        searcher.close()


def _answered(result: dict[str, Any]) -> bool:
    return result["kind"] == "session" and "you picked Solar dos Mouros" in result["text"]


pytestmark = pytest.mark.model


def test_the_answering_turn_comes_before_the_digest_line_that_repeats_the_question(
    home: OpenClawHome,
) -> None:
    before = _answer(home, replace(SHIPPED, sources_first=False), limit=5)
    assert before[0]["kind"] == "summary"  # the echo wins on similarity alone
    results = _answer(home, limit=5)
    assert _answered(results[0]), results[0]
    assert results[1]["kind"] == "summary" and "Open questions" in results[1]["text"]
    assert results[0]["score"] >= results[1]["score"]
    # the source is shown once, however many digest lines cite it
    assert sum(_answered(r) for r in results) == 1
    assert len({(r["path"], r["start"]) for r in results}) == len(results)


def test_filters_hold_and_results_repeat(home: OpenClawHome) -> None:
    """A filtered query never gets a source window its filters exclude."""
    only = _answer(home, limit=5, sources=["summary"])
    assert only and all(r["kind"] == "summary" for r in only)
    assert _answer(home, limit=5) == _answer(home, limit=5)


def test_best_cited_picks_the_line_sharing_most_query_words() -> None:
    text = "## People\n- Priya: roadmap review [s1#aaaa1111]\n- Lisbon hotel picked [s1#bbbb2222]"
    words = query_words(QUESTION)
    assert best_cited(text, words) == ("s1", "bbbb2222")
    assert best_cited("- Lisbon hotel, no citation", words) is None
    assert best_cited("- unrelated line [s1#cccc3333]", words) is None


def test_only_a_trailing_question_that_matched_is_widened() -> None:
    words = query_words(QUESTION)
    assert ends_on_matched_question("user: hi\nassistant: which hotel in Lisbon?", words)
    assert not ends_on_matched_question("user: hotel in Lisbon booked\nassistant: ok?", words)
    assert not ends_on_matched_question("user: which hotel in Lisbon was it", words)


def _cand(cid: int, score: float) -> Candidate:
    return Candidate(cid, cid, "session", "p", None, None, 0, 0, None, "", score=score)


def test_mmr_prefers_a_new_topic_over_a_near_duplicate() -> None:
    ranked = [_cand(1, 0.9), _cand(2, 0.89), _cand(3, 0.8)]
    vectors = np.array([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]], dtype=np.float32)
    assert [c.id for c in mmr(ranked, vectors, 3, 0.0)] == [1, 2, 3]
    assert [c.id for c in mmr(ranked, vectors, 2, 0.2)] == [1, 3, 2]
    assert [c.id for c in mmr(ranked, vectors, 2, 0.2)] == [1, 3, 2]  # deterministic


def test_names_are_capitalised_words_that_do_not_start_a_sentence() -> None:
    assert names("What do Melanie's kids like?") == ["Melanie"]
    assert names("When did Caroline go to Lisbon in May? Priya knows.") == ["Caroline", "Lisbon"]
    assert without_names("What do Melanie's kids like?") == "What do kids like?"
    assert without_names("which hotel did we pick in Lisbon?") == "which hotel did we pick in"
    assert without_names("what did we decide about the sync engine?") is None
    assert without_names("Priya?") is None  # a sentence's first word is never masked


def test_masked_names_blend_into_the_dense_query_only(home: OpenClawHome) -> None:
    """With names, the query vector is the normalised blend of the query's vector and the
    vector of its text without names; without names it is the query's own vector."""
    settings = home.settings()
    searcher = Searcher(settings, get_embedder(settings))
    try:
        plain, masked = searcher.embed(["What did Priya say?", "What did say?"])
        (got,) = searcher.query_vectors(["What did Priya say?"], SHIPPED)
        blend = (1 - SHIPPED.name_weight) * plain + SHIPPED.name_weight * masked
        assert np.allclose(got, blend / np.linalg.norm(blend), atol=1e-6)
        off = replace(SHIPPED, name_weight=0.0)
        assert np.allclose(searcher.query_vectors(["What did Priya say?"], off)[0], plain)
        (same,) = searcher.query_vectors(["what did we decide?"], SHIPPED)
        assert np.allclose(same, searcher.embed(["what did we decide?"])[0])
    finally:
        searcher.close()
