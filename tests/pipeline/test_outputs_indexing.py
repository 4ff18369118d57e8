"""One indexing step for every file infra writes: a voice note, like a summary, is pending in
`owned_files` once written and in the memory store after `index_pending`; a rewrite with the
same bytes leaves nothing pending."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from openclaw_infra.core import outputs
from openclaw_infra.core.db import connect
from openclaw_infra.memory.embedder import HashEmbedder
from openclaw_infra.pipeline.outputs import index_pending
from openclaw_infra.voice.audio import AudioInfo
from openclaw_infra.voice.notes import write_note
from openclaw_infra.voice.transcript import Segment, Transcript

from conftest import OpenClawHome

RECORDED = datetime(2026, 9, 21, 14, 13, 20, tzinfo=UTC)


def transcript(source: Path) -> Transcript:
    info = AudioInfo(source, 1000, "ogg", "opus", 48000, 1, 5.0)
    return Transcript(
        source=source,
        info=info,
        duration_s=5.0,
        segments=[Segment(0.0, 5.0, "Water the tomatoes on the back porch.")],
        language="en",
        language_probability=0.99,
        backend="fake-whisper",
        model="fake",
        beam_size=1,
        took_s=0.5,
        vad=True,
    )


def test_a_voice_note_is_pending_until_indexed(oc_home: OpenClawHome) -> None:
    """write_note records the note as infra's and pending; index_pending puts it in the
    store as kind voice and clears it; a second pass has nothing to do."""
    settings = oc_home.settings(embedding_model="test-hash-embedder")
    source = oc_home.state / "media" / "inbound" / "a.ogg"
    conn = connect(settings.db_path)
    note = write_note(
        settings, conn, transcript(source), sha256="0123abcd" * 8, recorded=RECORDED, source=source
    )
    rel = note.relative_to(settings.workspace).as_posix()
    assert rel == "memory/voice/2026-09-21-141320-0123abcd.md"
    assert [path for path, _ in outputs.files_to_index(conn)] == [rel]
    assert outputs.owned(conn, settings.workspace, rel)

    assert index_pending(settings, conn, HashEmbedder) == 1
    assert outputs.files_to_index(conn) == []
    kinds = {(r["path"], r["kind"]) for r in conn.execute("SELECT path, kind FROM memory_docs")}
    assert (rel, "voice") in kinds
    assert index_pending(settings, conn, HashEmbedder) == 0
    conn.close()
