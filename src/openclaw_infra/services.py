"""Composition root: the one place that builds the things jobs share from Settings.

LLM clients and pricing, the embedder writers use (the resident service's model when it is
up, else this process's own). Commands build them here and pass them into library calls;
nothing below this module constructs them. Everything heavy is built lazily, on first use.
"""

from __future__ import annotations
