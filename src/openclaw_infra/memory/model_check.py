"""Refusing an index built with another embedding model (exit 69, never empty results).

Vectors of two models are not comparable, so a generation answers only for the model that
built it; `infra index --rebuild` makes a new generation for the configured one.
"""

from __future__ import annotations

from openclaw_infra.core.errors import UnavailableError
from openclaw_infra.memory.store import Generation


def model_mismatch(index_model: str, configured: str) -> UnavailableError:
    return UnavailableError(
        f"the memory index was built with {index_model}, but the configured embedding model "
        f"is {configured}",
        hint="run `infra index --rebuild` (or set OPENCLAW_INFRA_EMBEDDING_MODEL back)",
    )


def check_model(gen: Generation, configured: str) -> None:
    """Refuse (exit 69) when the configured model is not the one the index was built with.

    Compares names only (`Embedder.name` is known before loading), so refusing costs no
    model load; the dimension is checked as soon as the model is loaded to embed."""
    built = gen.model.rpartition(":")[0]
    if built != configured:
        raise model_mismatch(gen.model, configured)
