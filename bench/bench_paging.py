"""Benchmark: keyset pages of attempts from SQLite (store/paging.py) on a synthetic workspace.

    python bench/bench_paging.py [--attempts 1000000] [--pages 400]

Target (issue 2): a page of 48 attempts filtered by category and verdict, sorted by score, from 1M attempts,
≤ 20 ms. Cursors are taken at random depths of each list (computed outside the timing), so the figures cover
deep pages, not just page 1. Other shapes (edit type filter, ascending score, newest first, the page where the
judged attempts run out and the unjudged ones begin) are timed too.
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

from picobanana.store import Store, active_policy
from picobanana.store.paging import AttemptFilter, Cursor, page_attempts
from picobanana.store.policies import EPSILON


def _deep_cursor(store, policy, rng, category, verdict, desc=True) -> Cursor | None:
    """The cursor of a random position in the judged part of the list (the cost does not count)."""
    score = policy.score_sql("")
    threshold = policy.threshold_for(category) - EPSILON
    cond = f"{score} >= ?" if verdict == "keep" else f"{score} < ?"
    base = (f"FROM judgments WHERE category_id = ? AND {cond} AND NOT EXISTS "
            f"(SELECT 1 FROM human_decisions h WHERE h.attempt_id = judgments.attempt_id)")
    n = store.scalar(f"SELECT COUNT(*) {base}", (category, threshold))
    if not n:
        return None
    direction = "DESC" if desc else "ASC"
    row = store.conn.execute(f"SELECT {score}, attempt_id {base} ORDER BY {score} {direction}, attempt_id "
                             f"{direction} LIMIT 1 OFFSET ?", (category, threshold, rng.randrange(n))).fetchone()
    return Cursor(score=row[0], id=row[1])


def _summary(name: str, times: list[float], plans: set[str], rows: int) -> None:
    ms = sorted(t * 1000 for t in times)
    p95 = ms[min(len(ms) - 1, int(len(ms) * 0.95))]
    print(f"  {name:<52} n={len(ms):<4} median {statistics.median(ms):6.2f} ms   p95 {p95:6.2f} ms   "
          f"max {ms[-1]:6.2f} ms   ({rows / len(ms):.1f} items/page, plan {', '.join(sorted(plans))})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--attempts", type=int, default=1_000_000)
    parser.add_argument("--pages", type=int, default=400, help="timed pages for the target scenario")
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()
    path = cached_workspace(args.attempts)
    rng = random.Random(args.seed)
    store = Store.open(path)
    policy = active_policy(store)
    judged = store.scalar("SELECT COUNT(*) FROM judgments")
    humans = store.scalar("SELECT COUNT(*) FROM human_decisions")
    print(f"workspace: {args.attempts:,} attempts, {judged:,} judged, {humans:,} human decisions ({path})")

    def timed(flt, sort="score_desc", after=None):
        started = time.perf_counter()
        page = page_attempts(store, flt, sort=sort, after=after, limit=48, policy=policy)
        return time.perf_counter() - started, page

    for category in range(1, 9):  # warm the page cache the way a running app would be
        timed(AttemptFilter(category_id=category, verdict="keep"))

    print("page of 48, sorted by score, from SQLite:")
    times, plans, rows = [], set(), 0
    for _ in range(args.pages):
        category, verdict = rng.randint(1, 8), rng.choice(("keep", "fail"))
        cursor = _deep_cursor(store, policy, rng, category, verdict)
        elapsed, page = timed(AttemptFilter(category_id=category, verdict=verdict), after=cursor)
        times.append(elapsed)
        plans.add(page.plan)
        rows += len(page.items)
    _summary("category + verdict, score desc, random depth [target]", times, plans, rows)

    times, plans, rows = [], set(), 0
    for category in range(1, 9):
        for verdict in ("keep", "fail"):
            elapsed, page = timed(AttemptFilter(category_id=category, verdict=verdict))
            times.append(elapsed)
            plans.add(page.plan)
            rows += len(page.items)
    _summary("category + verdict, score desc, first page", times, plans, rows)

    times, plans, rows = [], set(), 0
    for _ in range(100):
        category, verdict = rng.randint(1, 8), rng.choice(("keep", "fail"))
        cursor = _deep_cursor(store, policy, rng, category, verdict, desc=False)
        elapsed, page = timed(AttemptFilter(category_id=category, verdict=verdict), "score_asc", cursor)
        times.append(elapsed)
        plans.add(page.plan)
        rows += len(page.items)
    _summary("category + verdict, score asc, random depth", times, plans, rows)

    times, plans, rows = [], set(), 0
    for _ in range(100):
        type_id = rng.randint(1, 35)
        elapsed, page = timed(AttemptFilter(edit_type_id=type_id, verdict=rng.choice(("keep", "fail"))))
        elapsed2, page2 = timed(AttemptFilter(edit_type_id=type_id, verdict="keep"), after=page.next_cursor)
        times += [elapsed, elapsed2]
        plans |= {page.plan, page2.plan}
        rows += len(page.items) + len(page2.items)
    _summary("edit type + verdict, score desc, pages 1-2", times, plans, rows)

    times, plans, rows = [], set(), 0
    for _ in range(100):
        top = store.scalar("SELECT MAX(id) FROM attempts")
        cursor = Cursor(score=None, id=rng.randint(1, top))
        elapsed, page = timed(AttemptFilter(category_id=rng.randint(1, 8), verdict=rng.choice(("keep", "fail"))),
                              "newest", cursor)
        times.append(elapsed)
        plans.add(page.plan)
        rows += len(page.items)
    _summary("category + verdict, newest first, random depth", times, plans, rows)

    times, plans, rows = [], set(), 0
    for category in range(1, 9):
        for verdict in ("keep", "fail"):
            score = policy.score_sql("")
            op = ">=" if verdict == "keep" else "<"
            row = store.conn.execute(
                f"SELECT {score}, attempt_id FROM judgments WHERE category_id = ? AND {score} {op} ? AND NOT EXISTS "
                f"(SELECT 1 FROM human_decisions h WHERE h.attempt_id = judgments.attempt_id) "
                f"ORDER BY {score} ASC, attempt_id ASC LIMIT 1 OFFSET 10",
                (category, policy.threshold_for(category) - EPSILON)).fetchone()
            elapsed, page = timed(AttemptFilter(category_id=category, verdict=verdict),
                                  after=Cursor(score=row[0], id=row[1]))
            times.append(elapsed)
            plans.add(page.plan)
            rows += len(page.items)
    _summary("last judged page running into the unjudged ones", times, plans, rows)

    times, plans, rows = [], set(), 0
    for category in range(1, 9):
        elapsed, page = timed(AttemptFilter(category_id=category, verdict="pending"))
        times.append(elapsed)
        plans.add(page.plan)
        rows += len(page.items)
    _summary("category + pending (unjudged only), first page", times, plans, rows)
    store.close()


if __name__ == "__main__":
    main()
