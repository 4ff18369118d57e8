"""Off-site copies with restic: first and incremental copy, time and bytes added, for the
snapshot unpacked into files (what `infra backup` does) against the `.tar.zst` archive.

python benchmarks/offsite.py [--memory-mb 50]

Two homes: the bundled demo home (src/openclaw_infra/demo/openclaw-home), and one with a
memory of about `--memory-mb` MB (Markdown notes, and an infra.sqlite holding chunks with
384-d float32 embeddings, half each). For each, `infra backup` runs twice with a local
restic repository, a day's change in between (a new daily note, new chunks in the store,
a transcript appended); measured: the copy's time (infra's JSON answer: staging, restic
backup and forget --prune) and the repository's growth on disk (restic 0.14's own
`data_added` counts bytes before its compression).
The same two local snapshot archives are then backed up, as files of one stable name, into
a second repository: what storing the archive would have cost.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
DEMO = REPO / "src" / "openclaw_infra" / "demo" / "openclaw-home"
INFRA = [sys.executable, "-m", "openclaw_infra"]
SENTENCE = (
    "Mia moved to Lisbon in spring and started a ceramics class on Tuesdays; the flat white "
    "order stays no sugar, oat milk when the cafe has it. Project Atlas ships on the 14th; "
    "Ben owns the migration, Priya the rollout notes. Dentist moved to Friday 9:30."
)
WORDS = SENTENCE.split()


def _text(rng: random.Random, n_bytes: int) -> str:
    out: list[str] = []
    size = 0
    while size < n_bytes:
        line = "- " + " ".join(rng.choice(WORDS) for _ in range(rng.randint(8, 24))) + "\n"
        out.append(line)
        size += len(line)
    return "".join(out)


def _add_chunks(db: Path, rng: random.Random, n_bytes: int) -> None:
    conn = sqlite3.connect(db)
    conn.execute("CREATE TABLE IF NOT EXISTS bench_chunks (id INTEGER PRIMARY KEY, text, vec)")
    rows, size = [], 0
    while size < n_bytes:
        text = _text(rng, 600)
        vec = rng.randbytes(384 * 4)
        rows.append((text, vec))
        size += len(text) + len(vec)
    conn.executemany("INSERT INTO bench_chunks(text, vec) VALUES (?, ?)", rows)
    conn.commit()
    conn.close()


def build(kind: str, root: Path, memory_mb: int, rng: random.Random) -> dict[str, str]:
    state = root / "state"
    if kind == "demo":
        shutil.copytree(DEMO, state)
    else:
        memory = state / "workspace" / "memory" / "notes"
        memory.mkdir(parents=True)
        half = memory_mb * 1_000_000 // 2
        for i in range(50):
            (memory / f"note-{i:03d}.md").write_text(_text(rng, half // 50))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENCLAW_", "RESTIC_"))}
    env.update({"OPENCLAW_STATE_DIR": str(state), "OPENCLAW_INFRA_TIMEZONE": "UTC"})
    subprocess.run([*INFRA, "health", "--quiet"], env=env, capture_output=True, check=False)
    if kind != "demo":
        _add_chunks(state / "infra" / "infra.sqlite", rng, memory_mb * 1_000_000 // 2)
    password = root / "restic-pass"
    password.write_text("benchmark\n")
    password.chmod(0o600)
    env.update(
        {
            "OPENCLAW_INFRA_RESTIC_REPOSITORY": str(root / "repo-files"),
            "OPENCLAW_INFRA_RESTIC_PASSWORD_FILE": str(password),
            "HOME": str(root),  # restic's cache
        }
    )
    return env


def change_a_day(kind: str, env: dict[str, str], rng: random.Random) -> None:
    state = Path(env["OPENCLAW_STATE_DIR"])
    daily = state / "workspace" / "memory" / "daily"
    daily.mkdir(parents=True, exist_ok=True)
    (daily / "2026-11-21.md").write_text(_text(rng, 8_000))
    if kind != "demo":
        _add_chunks(state / "infra" / "infra.sqlite", rng, 200_000)
    sessions = sorted((state / "agents").rglob("*.jsonl"))
    if sessions:
        with sessions[0].open("a") as fh:
            fh.write(json.dumps({"type": "custom", "note": _text(rng, 2_000)}) + "\n")


def infra_backup(env: dict[str, str]) -> dict[str, Any]:
    done = subprocess.run(
        [*INFRA, "backup", "--json"], env=env, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise SystemExit(f"infra backup failed ({done.returncode}): {done.stderr.strip()}")
    return dict(json.loads(done.stdout))


def restic_archive(env: dict[str, str], root: Path, archive: Path, first: bool) -> dict[str, Any]:
    """The alternative: the snapshot's .tar.zst itself, under one stable name."""
    renv = dict(env)
    renv["RESTIC_REPOSITORY"] = str(root / "repo-archive")
    renv["RESTIC_PASSWORD_FILE"] = env["OPENCLAW_INFRA_RESTIC_PASSWORD_FILE"]
    if first:
        subprocess.run(["restic", "init"], env=renv, capture_output=True, check=True)
    stage = root / "archive-stage"
    stage.mkdir(exist_ok=True)
    shutil.copyfile(archive, stage / "snapshot.tar.zst")
    start = time.monotonic()
    done = subprocess.run(
        ["restic", "backup", "--json", "--host", "bench", "."],
        env=renv,
        cwd=stage,
        capture_output=True,
        text=True,
        check=True,
    )
    took = time.monotonic() - start
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    return {"bytes_added": summary["data_added"], "took_s": round(took, 3)}


def _size(repo: Path) -> int:
    """The repository's bytes on disk (restic 0.14 reports data_added before compression)."""
    return sum(f.stat().st_size for f in repo.rglob("*") if f.is_file())


def measure(kind: str, memory_mb: int, seed: int) -> dict[str, Any]:
    rng = random.Random(seed)
    with tempfile.TemporaryDirectory(prefix="infra-bench-offsite-") as tmp:
        root = Path(tmp)
        env = build(kind, root, memory_mb, rng)
        repo, arch_repo = root / "repo-files", root / "repo-archive"
        first = infra_backup(env)
        size1 = _size(repo)
        first_archive = root / "first.tar.zst"
        shutil.copyfile(first["path"], first_archive)
        change_a_day(kind, env, rng)
        second = infra_backup(env)
        size2 = _size(repo)
        arch1 = restic_archive(env, root, first_archive, True)
        arch1["repository_growth"] = asize1 = _size(arch_repo)
        arch2 = restic_archive(env, root, Path(second["path"]), False)
        arch2["repository_growth"] = _size(arch_repo) - asize1
        steps = {"first": (first, size1), "incremental": (second, size2 - size1)}
        return {
            "home": kind,
            "source_bytes": first["source_bytes"],
            "snapshot_bytes": first["bytes"],
            "files": {
                name: {
                    "bytes_added": made["offsite"]["bytes_added"],
                    "took_s": made["offsite"]["took_s"],
                    "repository_growth": growth,
                }
                for name, (made, growth) in steps.items()
            },
            "archive": {"first": arch1, "incremental": arch2},
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--memory-mb", type=int, default=50)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    if shutil.which("restic") is None:
        raise SystemExit("restic is not installed")
    results = [measure(kind, args.memory_mb, args.seed) for kind in ("demo", "memory")]
    print(json.dumps(results, indent=2))
    for r in results:
        f, a = r["files"], r["archive"]
        print(
            f"{r['home']:>6}: source {r['source_bytes'] / 1e6:.1f} MB | files: first "
            f"+{f['first']['repository_growth'] / 1e6:.2f} MB {f['first']['took_s']:.1f}s, "
            f"incremental +{f['incremental']['repository_growth'] / 1e6:.2f} MB "
            f"{f['incremental']['took_s']:.1f}s | archive: first "
            f"+{a['first']['repository_growth'] / 1e6:.2f} MB {a['first']['took_s']:.1f}s, "
            f"incremental +{a['incremental']['repository_growth'] / 1e6:.2f} MB "
            f"{a['incremental']['took_s']:.1f}s",
            file=sys.stderr,
        )


if __name__ == "__main__":
    main()
