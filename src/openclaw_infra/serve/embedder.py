"""Writers borrow the resident service's model, so a cron job does not load a second copy.

`infra index`, `infra summarize` (which indexes what it writes) and the daily and weekly
digests (which compare texts) embed through `infra serve` when it is up with the configured
model: the job imports no torch and loads no model (seconds and most of its memory, see
benchmarks/recall_service.py --writers). Requests are small
(`BATCH_TEXTS` texts) so that a recall waiting behind one is not delayed past its timeout.
If the service goes away or answers oddly, the same call is redone with a model loaded
here, so a caller always gets vectors of the model it asked for.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

import structlog

from openclaw_infra.memory.embedder import Embedder, ModelIdentity, configured_name, get_embedder
from openclaw_infra.serve import client as service_client

if TYPE_CHECKING:
    import numpy as np

    from openclaw_infra.core.config import Settings

log = structlog.get_logger("infra.embed")

BATCH_TEXTS = 16  # ~1 s of a 2-core CPU: a recall queued behind it still answers in time
BATCH_BYTES = 256 << 10  # well under the service's request limit
EMBED_TIMEOUT_S = 120.0  # a batch on a loaded machine; longer means the service is stuck


def service_embedder(settings: Settings) -> ServiceEmbedder | None:
    """The service's model when `infra serve` is up with the configured model, else None."""
    reply = service_client.ping(settings, timeout_s=settings.recall_service_timeout_s)
    served = reply.get("model") if reply else None
    if not isinstance(served, str):
        return None
    try:
        identity = ModelIdentity.parse(served)
    except ValueError:
        return None
    if identity.name != configured_name(settings):
        return None
    return ServiceEmbedder(settings, identity)


def _batches(texts: Sequence[str]) -> Iterator[list[str]]:
    batch: list[str] = []
    size = 0
    for text in texts:
        cost = len(text.encode("utf-8", "surrogatepass")) + 8
        if batch and (len(batch) >= BATCH_TEXTS or size + cost > BATCH_BYTES):
            yield batch
            batch, size = [], 0
        batch.append(text)
        size += cost
    if batch:
        yield batch


class ServiceEmbedder:
    """Vectors from `infra serve`'s embed op; falls back to a local model for good once the
    service fails, so one call never mixes the two."""

    def __init__(self, settings: Settings, identity: ModelIdentity) -> None:
        self.settings = settings
        self._identity = identity
        self._local: Embedder | None = None

    @property
    def name(self) -> str:
        return self._identity.name

    @property
    def identity(self) -> ModelIdentity:
        return self._identity

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        if self._local is None:
            vectors = self._remote(texts)
            if vectors is not None:
                return vectors
            log.warning("embed.service_lost", texts=len(texts))
            self._local = get_embedder(self.settings)
        return self._local.encode(texts)

    def _remote(self, texts: Sequence[str]) -> np.ndarray | None:
        import numpy as np

        parts = []
        for batch in _batches(texts):
            reply = service_client.embed(self.settings, batch, EMBED_TIMEOUT_S)
            if reply is None or reply.get("model") != str(self._identity):
                return None
            shape = (len(batch), self._identity.dim)
            try:
                raw = base64.b64decode(reply["data"], validate=True)
                parts.append(np.frombuffer(raw, dtype="<f4").reshape(shape))
            except (KeyError, TypeError, ValueError):
                return None
        if not parts:
            return np.zeros((0, self._identity.dim), dtype=np.float32)
        return np.ascontiguousarray(np.vstack(parts), dtype=np.float32)
