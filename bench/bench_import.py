"""Benchmark: import a large generated sft file (target: 400K lines at ≥ 25K lines/s, peak RSS < 500 MB).

    python bench/bench_import.py                  # 400K sft lines (generated once into bench/out/)
    python bench/bench_import.py -n 100000 --also-other-kinds

Each import runs in a fresh subprocess into a fresh workspace, so the peak RSS (getrusage ru_maxrss) is that
of the import alone. Also timed: re-running the finished import (recognised by fingerprint) and a forced
re-read (every line a duplicate).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))

from make_pico_jsonl import WRITERS

OUT = ROOT / "bench" / "out"

_CHILD = r"""
import json, resource, sys, time
from picobanana.store import Store
from picobanana.io.importer import import_file
workspace, path, force, batch_size = sys.argv[1], sys.argv[2], sys.argv[3] == "1", int(sys.argv[4])
with Store.open(workspace) as store:
    started = time.perf_counter()
    report = import_file(store, path, force=force, batch_size=batch_size)
    seconds = time.perf_counter() - started
rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"seconds": seconds, "rss_mb": rss_mb, "status": report.status, "lines": report.lines,
                  "imported": report.imported, "duplicates": report.duplicates, "rejected": report.rejected}))
"""


def run_import(workspace: Path, path: Path, batch_size: int, force: bool = False) -> dict:
    result = subprocess.run([sys.executable, "-c", _CHILD, str(workspace), str(path), "1" if force else "0",
                             str(batch_size)], capture_output=True, text=True, check=True, cwd=ROOT)
    return json.loads(result.stdout.strip().splitlines()[-1])


def data_file(kind: str, n: int) -> Path:
    path = OUT / f"{kind}-{n}.jsonl"
    if not path.is_file():
        tmp = path.with_suffix(".tmp")
        WRITERS[kind](tmp, n)
        tmp.replace(path)
    return path


def show(label: str, n: int, size: int, r: dict) -> None:
    rate = "-" if r["status"] == "already_imported" else f"{r['lines'] / r['seconds']:,.0f}"
    print(f"{label:<40} {n:>9,} lines {size / 1e6:>8,.1f} MB  {r['seconds']:>7.2f} s  {rate:>9} lines/s  "
          f"peak RSS {r['rss_mb']:>6,.0f} MB  [{r['status']}: +{r['imported']:,} ={r['duplicates']:,} "
          f"!{r['rejected']:,}]")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", type=int, default=400_000, help="sft lines (default 400,000)")
    parser.add_argument("--batch-size", type=int, default=None,
                        help="lines per transaction (default: settings import.batch_size)")
    parser.add_argument("--also-other-kinds", action="store_true",
                        help="also time preference and multi-turn files of n/4 lines")
    args = parser.parse_args()
    from picobanana.config import ImportSettings

    batch_size = args.batch_size or ImportSettings().batch_size
    print(f"python {sys.version.split()[0]}, sqlite {sqlite3.sqlite_version}; "
          f"batch size {batch_size:,} lines; workspaces in {tempfile.gettempdir()}")
    jobs = [("sft", args.n)]
    if args.also_other_kinds:
        jobs += [("preference", args.n // 4), ("multi-turn", args.n // 4)]
    for kind, n in jobs:
        path = data_file(kind, n)
        size = path.stat().st_size
        workspace = Path(tempfile.mkdtemp(prefix="pb-bench-import-"))
        try:
            show(f"{kind}: fresh import", n, size, run_import(workspace, path, batch_size))
            show(f"{kind}: same file again", n, size, run_import(workspace, path, batch_size))
            show(f"{kind}: forced re-read (duplicates)", n, size,
                 run_import(workspace, path, batch_size, force=True))
        finally:
            shutil.rmtree(workspace, ignore_errors=True)


if __name__ == "__main__":
    main()
