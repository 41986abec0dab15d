"""Benchmark: the review queue (curation/queue.py) and chain browsing (curation/chains.py) on a synthetic workspace.

    python bench/bench_review.py [--attempts 1000000] [--workspace DIR] [--repeat 200]

What a curator waits for after each key press: the next borderline item (two seeks per band of the active
policy's score indexes, merged by distance), the progress line (index range counts + today's reviews), and the
decision itself. Read-only against the cached workspace: the decision is timed inside a transaction that is
rolled back, so the cache is not changed (its commit, one WAL append, is not included). Then the Chains tab's
two reads: a page of 20 chains with their per-turn verdicts, and one chain turn by turn.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from synth import cached_workspace

from picobanana.curation.chains import ChainFilter, chain_detail, chains_page
from picobanana.curation.queue import (
    QueueFilter,
    borderline,
    borderline_count,
    decide,
    next_item,
    preview_apply_all,
    progress,
)
from picobanana.store import CategoryRule, Store, active_policy
from picobanana.taxonomy import EDIT_TYPES


def _summary(name: str, times: list[float], note: str = "") -> None:
    ms = sorted(t * 1000 for t in times)
    p95 = ms[min(len(ms) - 1, int(len(ms) * 0.95))]
    print(f"  {name:<58} n={len(ms):<4} median {statistics.median(ms):7.2f} ms   p95 {p95:7.2f} ms   "
          f"max {ms[-1]:7.2f} ms  {note}")


def _time(fn, n: int) -> tuple[list[float], object]:
    out, result = [], None
    for _ in range(n):
        started = time.perf_counter()
        result = fn()
        out.append(time.perf_counter() - started)
    return out, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--attempts", type=int, default=1_000_000)
    parser.add_argument("--workspace", type=Path, help="an existing workspace instead of the synthetic one")
    parser.add_argument("--repeat", type=int, default=200)
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()
    path = args.workspace or cached_workspace(args.attempts)
    rng = random.Random(args.seed)
    store = Store.open(path)
    policy = active_policy(store)
    attempts = store.scalar("SELECT COUNT(*) FROM attempts")
    judged = store.scalar("SELECT COUNT(*) FROM judgments")
    humans = store.scalar("SELECT COUNT(*) FROM human_decisions")
    reviews = store.scalar("SELECT COUNT(*) FROM reviews")
    print(f"workspace: {attempts:,} attempts, {judged:,} judged, {humans:,} human decisions, {reviews:,} reviews "
          f"({path}); policy {policy.name}@{policy.version}")
    for m in (0.01, 0.05, 0.1):
        print(f"  borderline at margin ±{m}: {borderline_count(store, QueueFilter(margin=m)):,}")
    borderline(store, QueueFilter(margin=0.25), limit=2000)  # warm the index pages a running studio has cached

    print("next borderline item (what K / F / S wait for):")
    times, item = _time(lambda: next_item(store, QueueFilter(margin=rng.choice((0.01, 0.05, 0.1)))), args.repeat)
    _summary("whole workspace, margin 0.01 / 0.05 / 0.1 [target]", times)
    times = []
    for category in range(1, 9):
        t, _ = _time(lambda c=category: next_item(store, QueueFilter(category_id=c)), args.repeat // 8)
        times += t
    _summary("one category", times)
    times = []
    for edit_type in EDIT_TYPES:
        t, _ = _time(lambda e=edit_type.id: next_item(store, QueueFilter(edit_type_id=e)), 6)
        times += t
    _summary("one edit type (35 types)", times)
    skipped = tuple(i.attempt_id for i in borderline(store, QueueFilter(), limit=500))
    times, _ = _time(lambda: next_item(store, QueueFilter(), skipped=skipped), args.repeat)
    _summary("after 500 skips in the session", times)
    per_category = policy.model_copy(update={"per_category": {6: CategoryRule(threshold=0.6),
                                                              5: CategoryRule(threshold=0.65),
                                                              4: CategoryRule(threshold=0.75)}})
    times, _ = _time(lambda: next_item(store, QueueFilter(), policy=per_category), args.repeat)
    _summary("per-category thresholds (3 own + the rest), no filter", times)
    times, _ = _time(lambda: borderline(store, QueueFilter(), limit=48), args.repeat // 4)
    _summary("the next 48 in order", times)

    print("progress line (counts):")
    times, _ = _time(lambda: borderline_count(store, QueueFilter()), 40)
    _summary("borderline left, whole workspace (±0.05)", times)
    times = []
    for category in range(1, 9):
        t, _ = _time(lambda c=category: borderline_count(store, QueueFilter(category_id=c)), 5)
        times += t
    _summary("borderline left, one category", times)
    times = []
    for edit_type in EDIT_TYPES:
        t, _ = _time(lambda e=edit_type.id: borderline_count(store, QueueFilter(edit_type_id=e)), 2)
        times += t
    _summary("borderline left, one edit type", times)
    times, got = _time(lambda: progress(store, "alice", QueueFilter(category_id=6)), 40)
    _summary("whole progress line, one category", times, f"({got.line()})")

    print("decide (record_review + next item + progress), rolled back:")
    times = []
    for _ in range(min(args.repeat, 100)):
        item = next_item(store, QueueFilter(category_id=rng.randint(1, 8)))
        store.conn.execute("BEGIN IMMEDIATE")
        store._rev = store.revision + 1  # Store.transaction() nests in this outer transaction (savepoints)
        try:
            started = time.perf_counter()
            decide(store, item.attempt_id, rng.choice(("keep", "fail")), curator="bench",
                   expected_review_id=item.expected_review_id, flt=QueueFilter(category_id=item.category_id))
            times.append(time.perf_counter() - started)
        finally:
            store.conn.execute("ROLLBACK")
            store._rev = None
    _summary("keep / fail and show the next, one category", times)

    print("apply to all: preview")
    times = []
    for category in range(1, 9):
        t, found = _time(lambda c=category: preview_apply_all(store, QueueFilter(category_id=c, margin=0.01)), 3)
        times += t
    _summary("one category, ±0.01", times, f"(last: {found.count:,} attempts)")

    chains = store.scalar("SELECT COUNT(*) FROM chains")
    print(f"chains ({chains:,} in the workspace):")
    top = store.scalar("SELECT MAX(id) FROM chains") or 0
    for name, flt in (("all", ChainFilter()), ("passing only", ChainFilter(passing=True)),
                      ("not passing only (bounded scan)", ChainFilter(passing=False))):
        times, page = _time(lambda f=flt: chains_page(store, f, after=rng.randint(20, top + 1)), 20)
        _summary(f"page of 20, {name}, random depth", times, f"({len(page.items)} found, {page.scanned} read)")
    ids = [r[0] for r in store.query("SELECT id FROM chains ORDER BY random() LIMIT 100")]
    times = []
    for chain_id in ids:
        t, _ = _time(lambda c=chain_id: chain_detail(store, c), 1)
        times += t
    _summary("one chain, turn by turn", times)
    store.close()


if __name__ == "__main__":
    main()
