"""The real packaged MiniLM behind the embedder seam (marker `model`; loaded once per run)."""

from __future__ import annotations

import numpy as np
import pytest

from openclaw_infra.core.config import Settings
from openclaw_infra.memory.embedder import PACKAGED_MODEL, Embedder, get_embedder
from openclaw_infra.memory.indexer import index_all
from openclaw_infra.memory.query import RecallQuery
from openclaw_infra.memory.search import recall

from openclaw_fixtures import write_jsonl_session

pytestmark = pytest.mark.model


@pytest.fixture(scope="module")
def minilm() -> Embedder:
    """The process-wide singleton: later tests and `recall` reuse the loaded model."""
    embedder = get_embedder(Settings(embedding_model=PACKAGED_MODEL, timezone="UTC"))
    embedder.encode(["load"])
    return embedder


def test_packaged_model_identity_and_unit_vectors(minilm: Embedder) -> None:
    """Offline load of the packaged model: identity all-MiniLM-L6-v2:384, unit-norm rows."""
    assert str(minilm.identity) == "all-MiniLM-L6-v2:384"
    vectors = minilm.encode(["a cat on the mat", "quarterly tax return", ""])
    assert vectors.shape == (3, 384) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
    again = minilm.encode(["a cat on the mat"])
    assert np.allclose(again[0], vectors[0], atol=1e-5)


def test_recall_finds_a_paraphrase_with_the_real_model(oc_home, minilm: Embedder) -> None:  # type: ignore[no-untyped-def]
    """Dense retrieval earns its place: a query sharing no word with the answer still finds it."""
    write_jsonl_session(
        oc_home.state,
        "main",
        "s1",
        [
            ("user", "My kitten keeps scratching the sofa"),
            ("assistant", "Try a scratching post near the couch."),
            ("user", "Separately, the quarterly tax return is due in April"),
            ("assistant", "I will remind you in March."),
            ("user", "Also I started learning the violin last month"),
            ("assistant", "Great, practise a little every day."),
        ],
    )
    settings = oc_home.settings(embedding_model=PACKAGED_MODEL)
    stats = index_all(settings, embedder=minilm)
    assert stats.model == "all-MiniLM-L6-v2:384" and stats.embedded == stats.chunks_added
    feline = RecallQuery("feline damaging furniture", 1)
    top = recall(settings, feline, embedder=minilm)["results"][0]
    assert "kitten" in top["text"]
    lessons = RecallQuery("musical instrument lessons", 1)
    music = recall(settings, lessons, embedder=minilm)["results"][0]
    assert "violin" in music["text"]
