"""Settings of recall's machinery: the embedding runtime, the vector index's form at scale,
and the private evaluation set that guards an index rebuild. A part of `Settings`
(core/config.py), which inherits these fields; kept apart only to keep each file small."""

from __future__ import annotations

from pydantic import BaseModel


class RecallSettings(BaseModel):
    """Fields of `Settings` (env names `OPENCLAW_INFRA_<FIELD>`)."""

    # --- embedding runtime -----------------------------------------------------------------

    # --- vector index at scale -------------------------------------------------------------

    # --- ranking and the private evaluation set --------------------------------------------
