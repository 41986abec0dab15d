"""Pipeline orchestration benchmarks with the fake backend (issue 3 targets).

1. zero-latency fake: attempts/s end to end, including the database writes (target ≥ 200/s);
2. fake editor with 1 s latency, concurrency 32: share of the ideal 32 attempts/s (target ≥ 90%).

The fake's "image work" is a PIL transform of a tiny (48 px) PNG, so these figures measure the pipeline,
not image processing. Every run uses a fresh workspace under bench/out/.

    python bench/bench_pipeline.py [--items 2000] [--slow-items 320]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from pipeline.pipeline_helpers import add_sources

from picobanana.pipeline import JobSpec, create_job, run_job
from picobanana.pipeline.spec import EditMix, RoleSettings
from picobanana.store import Store

OUT = ROOT / "bench" / "out" / "pipeline"
TYPES = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]


def _run(name: str, items: int, roles: dict[str, RoleSettings]) -> tuple[float, int, float]:
    ws = OUT / name
    shutil.rmtree(ws, ignore_errors=True)
    with Store.open(ws) as store:
        add_sources(store, items // len(TYPES))
        job = create_job(store, JobSpec(mix=EditMix(type_ids=TYPES), roles=roles, seed=1))
        started = time.perf_counter()
        summary = run_job(store, job)
        seconds = time.perf_counter() - started
        attempts = sum(summary.attempts.values())
    db_mb = (ws / "picobanana.sqlite").stat().st_size / 1e6
    return seconds, attempts, db_mb


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--items", type=int, default=2000)
    parser.add_argument("--slow-items", type=int, default=320)
    args = parser.parse_args()

    fast = {r: RoleSettings(backend="fake", concurrency=16) for r in ("writer", "rewriter", "editor", "judge")}
    seconds, attempts, db_mb = _run("zero-latency", args.items, fast)
    print(f"zero-latency fake: {attempts:,} attempts ({args.items:,} items, 48 px PNGs, "
          f"db {db_mb:.1f} MB) in {seconds:.2f} s = {attempts / seconds:,.0f} attempts/s (target >= 200)")

    slow = {r: RoleSettings(backend="fake", concurrency=32) for r in ("writer", "rewriter", "judge")}
    slow["editor"] = RoleSettings(backend="fake", concurrency=32, options={"latency_s": 1.0})
    seconds, attempts, _ = _run("one-second", args.slow_items, slow)
    rate = attempts / seconds
    print(f"1 s editor latency, concurrency 32: {attempts:,} attempts in {seconds:.2f} s = {rate:.1f} attempts/s "
          f"= {rate / 32:.1%} of the ideal 32/s (target >= 90%)")


if __name__ == "__main__":
    main()
