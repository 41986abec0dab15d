"""Benchmark: export 258K SFT records (targets: JSONL + manifest ≤ 10 s, Parquet without images ≤ 10 s).

    python bench/bench_export.py                 # 257,730 records (the released sft.jsonl size)
    python bench/bench_export.py -n 50000 --keep  # smaller; keep the workspace in bench/out/

The workspace is built with store/writes.py bulk inserts (release conventions: one source, edit and kept
attempt per record; ~10% of sources shared by two edits; realistic text lengths), which is not timed. Each
export then runs in a fresh subprocess, so the time is the export alone (`export_dataset`, store already open)
and the peak RSS (getrusage ru_maxrss) is that of the export process.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

_CHILD = r"""
import json, resource, sys, time
from picobanana.store import Store
from picobanana.io.export import export_dataset
workspace, out, formats = sys.argv[1], sys.argv[2], sys.argv[3].split(",")
with Store.open(workspace) as store:
    started = time.perf_counter()
    report = export_dataset(store, out, splits=["sft"], formats=formats, validation_fraction=0.05,
                            copy_images=False, embed_images=False)
    seconds = time.perf_counter() - started
rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"seconds": seconds, "rss_mb": rss_mb, "counts": report.counts["sft"]}))
"""

_WORDS = ("the", "red", "car", "sky", "golden", "soft", "light", "remove", "add", "replace", "keeping",
          "shadow", "texture", "background", "seamlessly", "person", "left", "right", "wooden", "bench",
          "reflection", "blend", "natural", "colour", "style", "vintage", "grain", "detail", "edge", "scene")


def _sentence(rng: random.Random, words: int) -> str:
    text = " ".join(rng.choice(_WORDS) for _ in range(words))
    return text[0].upper() + text[1:] + "."


def build_workspace(workspace: Path, n: int, batch: int = 50_000) -> float:
    """n release-style sft records; returns the seconds it took (not part of the benchmark)."""
    from picobanana.store import Store
    from picobanana.store.writes import (
        NewAttempt,
        NewEdit,
        NewSource,
        ensure_edits,
        ensure_sources,
        insert_attempts,
    )
    from picobanana.taxonomy import EDIT_TYPES

    rng = random.Random(0)
    started = time.perf_counter()
    with Store.open(workspace) as store:
        for start in range(0, n, batch):
            stop = min(n, start + batch)
            with store.transaction() as rev:
                # ~10% of records reuse the previous record's source (several edit types of one photo).
                photos = [i - 1 if i % 10 == 1 else i for i in range(start, stop)]
                uris = [f"https://farm{p % 9 + 1}.staticflickr.com/{p % 8000}/{p + 10**10}_{p:010x}_o.jpg"
                        for p in photos]
                new_sources = [NewSource(uri=u, origin="release") for u in dict.fromkeys(uris)]
                sources = ensure_sources(store, new_sources, rev)
                edits = []
                for i, uri in zip(range(start, stop), uris, strict=True):
                    edit_type = EDIT_TYPES[i % len(EDIT_TYPES)]
                    name = f"{i + 1}.png" if i % 7 else f"k{i:05x}_retry{i % 2 + 1}.png"
                    edits.append(NewEdit(key=f"release:images/positive-edit/{name}", source_id=sources[uri],
                                         edit_type_id=edit_type.id, category_id=edit_type.category.id,
                                         origin="release"))
                edit_ids = ensure_edits(store, edits, rev)
                insert_attempts(store, [
                    NewAttempt(key=e.key, edit_id=edit_ids[e.key], attempt_no=1, status="ok",
                               origin="release", edit_type_id=e.edit_type_id, category_id=e.category_id,
                               instruction=_sentence(rng, rng.randint(30, 60)),
                               short_instruction=_sentence(rng, rng.randint(6, 16)),
                               output_ref=e.key[len("release:"):])
                    for e in edits], rev)
    return time.perf_counter() - started


def run_export(workspace: Path, out: Path, formats: str) -> dict:
    result = subprocess.run([sys.executable, "-c", _CHILD, str(workspace), str(out), formats],
                            capture_output=True, text=True, check=True, cwd=ROOT)
    return json.loads(result.stdout.strip().splitlines()[-1])


def _size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-n", type=int, default=257_730, help="SFT records (default: the release's 257,730)")
    parser.add_argument("--keep", action="store_true", help="keep the workspace and exports in bench/out/")
    args = parser.parse_args()

    base = (ROOT / "bench/out/export-bench") if args.keep else Path(tempfile.mkdtemp(prefix="pb-export-"))
    if base.exists():
        shutil.rmtree(base)
    base.mkdir(parents=True)
    workspace = base / "ws"
    try:
        built = build_workspace(workspace, args.n)
        db_mb = (workspace / "picobanana.sqlite").stat().st_size / 1e6
        print(f"workspace: {args.n:,} sft records, {db_mb:.0f} MB SQLite, built in {built:.1f} s (not timed)")
        targets = (("JSONL + manifest, no images", "jsonl"), ("Parquet, no images", "parquet"),
                   ("JSONL + manifest + Parquet, one pass", "jsonl,parquet"))
        for label, formats in targets:
            out = base / f"out-{formats.replace(',', '-')}"
            result = run_export(workspace, out, formats)
            counts = result["counts"]
            rate = args.n / result["seconds"]
            print(f"{label:40s} {result['seconds']:6.2f} s  {rate:9,.0f} records/s  "
                  f"peak RSS {result['rss_mb']:5.0f} MB  train {counts.get('train', 0):,} / "
                  f"validation {counts.get('validation', 0):,}  output {_size(out) / 1e6:6.1f} MB")
            if formats == "jsonl":
                for split in ("train", "validation"):
                    jsonl = out / f"jsonl/{split}/sft.jsonl"
                    manifest = out / f"manifest/{split}/sft_manifest.txt"
                    print(f"    {split}: sft.jsonl {jsonl.stat().st_size / 1e6:.1f} MB, "
                          f"sft_manifest.txt {manifest.stat().st_size / 1e6:.1f} MB")
            if formats == "parquet":
                shards = sorted((out / "parquet/sft").glob("*.parquet"))
                print(f"    {len(shards)} shards, {sum(s.stat().st_size for s in shards) / 1e6:.1f} MB")
    finally:
        if not args.keep:
            shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
