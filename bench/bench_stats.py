"""Benchmark: the DuckDB analytics mirror and the dashboard queries on a synthetic workspace.

    python bench/bench_stats.py [--attempts 1000000] [--repeat 20]

Measures, on a private copy of the cached synthetic workspace (bench/synth.py):
- the mirror's full build (SQLite → Arrow → DuckDB) and its refresh when nothing changed;
- incremental refreshes after typical batches of work (a review; a judging batch with new attempts);
- warm queries (mirror built, DuckDB connection open): the target "stats by category × edit type × verdict"
  (≤ 200 ms at 1M attempts), the full `picobanana stats` tables, histograms, judge/human agreement, and
  `what_if` (the policy sliders).
"""

from __future__ import annotations

import argparse
import random
import shutil
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from synth import OUT, cached_workspace

from picobanana.analytics import (
    Mirror,
    agreement,
    score_histograms,
    stats,
    verdict_breakdown,
    what_if,
)
from picobanana.store import Policy, Store, Weights, active_policy, record_batch
from picobanana.store.db import DB_FILE_NAME
from picobanana.store.writes import NewAttempt, NewJudgment, insert_attempts, record_judgments


def _time(fn, repeat: int) -> tuple[float, float, float]:
    fn()  # first run: plan caches
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    times.sort()
    return statistics.median(times) * 1000, times[min(len(times) - 1, int(len(times) * 0.95))] * 1000, times[0] * 1000


def _judging_batch(store: Store, rng: random.Random, n_new: int, n_rejudge: int) -> None:
    """What a pipeline batch writes: new attempts with judgments, and re-judgments of older attempts."""
    rows = store.query("SELECT edit_id, edit_type_id, category_id FROM attempts WHERE origin = 'pipeline' "
                       "AND edit_type_id IS NOT NULL LIMIT ?", (n_new,))
    judged = [r[0] for r in store.query("SELECT attempt_id FROM judgments ORDER BY random() LIMIT ?", (n_rejudge,))]
    tag = rng.getrandbits(48)
    with store.transaction() as rev:
        insert_attempts(store, [NewAttempt(key=f"bench:{tag}:{i}", edit_id=r[0], attempt_no=10 + i % 1000,
                                           status="ok", origin="pipeline", edit_type_id=r[1], category_id=r[2])
                                for i, r in enumerate(rows)], rev)
        new_ids = [r[0] for r in store.query("SELECT id FROM attempts WHERE key LIKE ?", (f"bench:{tag}:%",))]
        scores = lambda: tuple(round(rng.uniform(0.3, 1.0), 2) for _ in range(4))
        record_judgments(store, [NewJudgment(a, *scores()) for a in new_ids + judged], rev)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--attempts", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    source = cached_workspace(args.attempts)
    work = OUT / f"bench-stats-{args.attempts}"
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    shutil.copyfile(source / DB_FILE_NAME, work / DB_FILE_NAME)  # the benchmark writes: keep the cache pristine
    store = Store.open(work)
    rng = random.Random(7)
    counts = {t: store.scalar(f"SELECT COUNT(*) FROM {t}") for t in
              ("attempts", "judgments", "edits", "sources", "chains", "human_decisions")}
    print(f"workspace: {', '.join(f'{n:,} {t}' for t, n in counts.items())}")

    started = time.perf_counter()
    mirror = Mirror.open(store)
    report = mirror.refresh()
    full = time.perf_counter() - started
    size = (work / "analytics" / "mirror.duckdb").stat().st_size / 2**20
    print(f"mirror full build: {full:.1f} s for {report.rows:,} rows ({size:.0f} MiB DuckDB file)")
    median, p95, best = _time(mirror.refresh, args.repeat)
    print(f"refresh, nothing changed: median {median:.3f} ms")

    attempt_ids = [r[0] for r in store.query("SELECT id FROM attempts ORDER BY random() LIMIT 100")]
    record_batch(store, attempt_ids[:1], "keep", curator="bench")
    started = time.perf_counter()
    report = mirror.refresh()
    print(f"incremental refresh after 1 review: {(time.perf_counter() - started) * 1000:.0f} ms "
          f"({report.rows:,} rows copied)")
    record_batch(store, attempt_ids, "fail", curator="bench")
    started = time.perf_counter()
    report = mirror.refresh()
    print(f"incremental refresh after a batch of 100 reviews: {(time.perf_counter() - started) * 1000:.0f} ms "
          f"({report.rows:,} rows copied)")
    _judging_batch(store, rng, n_new=1000, n_rejudge=1000)
    started = time.perf_counter()
    report = mirror.refresh()
    print(f"incremental refresh after 1,000 new judged attempts + 1,000 re-judgments: "
          f"{(time.perf_counter() - started) * 1000:.0f} ms ({report.rows:,} rows copied)")
    _judging_batch(store, rng, n_new=20_000, n_rejudge=20_000)
    started = time.perf_counter()
    report = mirror.refresh()
    print(f"incremental refresh after 20,000 new judged attempts + 20,000 re-judgments: "
          f"{(time.perf_counter() - started) * 1000:.0f} ms ({report.rows:,} rows copied)")

    policy = active_policy(store)
    slider = Policy(weights=Weights(compliance=0.5, seamlessness=0.2, preservation=0.2, quality=0.1), threshold=0.65)
    population = stats(mirror, policy).total.attempts
    print(f"warm queries ({population:,} turn-1 attempts outside chains; {args.repeat} runs each):")
    for name, fn in (
        ("stats by category × edit type × verdict [target]", lambda: verdict_breakdown(mirror, policy)),
        ("picobanana stats tables (both pass rates)", lambda: stats(mirror, policy)),
        ("histograms, score + 4 sub-scores, 20 bins", lambda: score_histograms(mirror, policy)),
        ("histograms per category", lambda: score_histograms(mirror, policy, by_category=True)),
        ("judge vs human agreement", lambda: agreement(mirror, policy)),
        ("what_if(policy) (slider move)", lambda: what_if(mirror, slider)),
        ("what_if(policy, compare_to=active)", lambda: what_if(mirror, slider, compare_to=policy)),
    ):
        median, p95, best = _time(fn, args.repeat)
        print(f"  {name:<52} median {median:7.1f} ms   p95 {p95:7.1f} ms   min {best:7.1f} ms")
    mirror.close()
    store.close()
    shutil.rmtree(work)


if __name__ == "__main__":
    main()
