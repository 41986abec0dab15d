"""Benchmark: the Policy tab's live counts per slider change, server side (target ≤ 150 ms at 1M attempts).

    python bench/bench_policy_live.py [--attempts 1000000] [--changes 50]

Opens a copy of bench/synth.py's cached workspace (the copy, with its DuckDB mirror, is kept under bench/out/
and reused), then replays random slider changes — a weight or the threshold, in the global scope or in one
category's — through `picobanana.curation.tuning.policy_counts`, the function the tab's slider event calls:
revision check of the kept-open snapshot + keep / fail / pending / borderline per category + the delta against
the active policy. Also prints the one-off costs (opening the mirror, reading the snapshot, the active policy's
cached counts), the first slider change after another curator's decision and after a judging batch, the
curator-throughput query and the whole refresh of the Stats tab.
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

from picobanana.analytics.mirror import MIRROR_DIR, MIRROR_FILE
from picobanana.analytics.queries import agreement, score_histograms, stats, totals
from picobanana.analytics.throughput import curator_throughput
from picobanana.curation.tuning import Draft, LiveMirror, policy_counts
from picobanana.store import Store, record_review
from picobanana.store.db import DB_FILE_NAME
from picobanana.store.writes import NewJudgment, record_judgments
from picobanana.taxonomy import CATEGORIES


def _private_copy(source: Path, attempts: int) -> Path:
    """A copy of the cached workspace that this benchmark may open (and give a mirror) without touching the
    cache; reused while the cached database is unchanged."""
    work = OUT / f"bench-policy-live-{attempts}"
    db, copy, marker = source / DB_FILE_NAME, work / DB_FILE_NAME, work / "copied-from.txt"
    stamp = f"{db.stat().st_size} {db.stat().st_mtime_ns}"
    if copy.is_file() and marker.is_file() and marker.read_text() == stamp:
        return work
    if work.exists():
        shutil.rmtree(work)
    (work / MIRROR_DIR).mkdir(parents=True)
    shutil.copyfile(db, copy)
    cached_mirror = source / MIRROR_DIR / MIRROR_FILE
    if cached_mirror.is_file():  # a mirror of the same database only needs a refresh, not a 13 s build
        shutil.copyfile(cached_mirror, work / MIRROR_DIR / MIRROR_FILE)
    marker.write_text(stamp)
    return work


def _slider_change(rng: random.Random, draft: Draft) -> Draft:
    """One curator gesture: one slider of one scope moves to a new value."""
    scope = None if rng.random() < 0.6 else rng.choice(CATEGORIES).id
    values = list(draft.sliders(scope))
    which = rng.randrange(5)
    values[which] = round(rng.uniform(0.5, 0.9) if which == 4 else rng.uniform(0.0, 1.0), 2)
    if sum(values[:4]) == 0:
        values[0] = 0.1
    return draft.with_sliders(scope, tuple(values))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--attempts", type=int, default=1_000_000)
    parser.add_argument("--changes", type=int, default=50)
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args()
    work = _private_copy(cached_workspace(args.attempts), args.attempts)
    with Store.open(work) as store:
        counts = {t: store.scalar(f"SELECT COUNT(*) FROM {t}") for t in
                  ("attempts", "judgments", "human_decisions", "reviews")}
    print(f"workspace: {', '.join(f'{n:,} {t}' for t, n in counts.items())}")

    started = time.perf_counter()
    live = LiveMirror(work)
    report = live._mirror.refresh()  # what live.fresh() does, with its report
    print(f"open the mirror + refresh: {time.perf_counter() - started:.2f} s ({report.kind}: {report.reason})")
    started = time.perf_counter()
    active = live.active_policy()  # reads the slider snapshot from the mirror
    print(f"slider snapshot read from the mirror: {(time.perf_counter() - started) * 1000:.0f} ms")
    started = time.perf_counter()
    first = policy_counts(live, active)
    print(f"first call (fills the active policy's cached counts): {(time.perf_counter() - started) * 1000:.0f} ms; "
          f"population {first.total.attempts:,} turn-1 attempts outside chains")

    rng = random.Random(args.seed)
    draft = Draft.from_policy(active)
    times, server = [], []
    for _ in range(args.changes):
        draft = _slider_change(rng, draft)
        started = time.perf_counter()
        result = policy_counts(live, draft.policy())
        times.append((time.perf_counter() - started) * 1000)
        server.append(result.milliseconds)
    times.sort()
    p95 = times[min(len(times) - 1, int(len(times) * 0.95))]
    print(f"slider change → policy_counts ({args.changes} random changes, global and per-category scopes, "
          f"{len(draft.per_category)} category rules at the end): median {statistics.median(times):.1f} ms, "
          f"p95 {p95:.1f} ms, max {times[-1]:.1f} ms [target ≤ 150 ms]")
    print(f"  last: keep {result.total.keep:,}, fail {result.total.fail:,}, borderline {result.total.borderline:,}, "
          f"Δkeep {result.total.delta_keep:+,} vs {result.compared_to}")

    with Store.open(work) as store:
        attempt_id = store.scalar("SELECT attempt_id FROM judgments ORDER BY attempt_id DESC LIMIT 1")
        record_review(store, attempt_id, "keep", curator="bench")  # the copy is private: writing is fine
        started = time.perf_counter()
        policy_counts(live, draft.policy())
        print(f"first slider change after another curator's decision (snapshot re-split, no mirror refresh): "
              f"{(time.perf_counter() - started) * 1000:.0f} ms")
        # A judging batch changes the facts: the mirror refreshes and the snapshot is read again. Re-judging
        # with the same scores keeps the benchmark's data (and figures) the same from run to run.
        rows = store.query("SELECT attempt_id, compliance, seamlessness, preservation, quality FROM judgments "
                           "ORDER BY attempt_id DESC LIMIT 1000")
        with store.transaction() as rev:
            record_judgments(store, [NewJudgment(*r) for r in rows], rev)
        started = time.perf_counter()
        policy_counts(live, draft.policy())
        print(f"first slider change after 1,000 re-judged attempts (patched in from SQLite by rev): "
              f"{(time.perf_counter() - started) * 1000:.0f} ms")
        runs = []
        for _ in range(20):
            started = time.perf_counter()
            throughput = curator_throughput(store, days=30)
            runs.append((time.perf_counter() - started) * 1000)
    print(f"curator throughput, last 30 days ({throughput.decisions:,} of {counts['reviews']:,} reviews): "
          f"median {statistics.median(runs):.1f} ms")

    def stats_tab() -> None:  # what the Stats tab's refresh reads (its callback only formats these)
        mirror = live.fresh()
        policy = mirror.active_policy()
        stats(mirror, policy), agreement(mirror, policy), score_histograms(mirror, policy), totals(mirror)
        curator_throughput(store, days=30)

    with Store.open(work) as store:
        stats_tab()
        runs = []
        for _ in range(5):
            started = time.perf_counter()
            stats_tab()
            runs.append((time.perf_counter() - started) * 1000)
    print(f"Stats tab refresh (pass rates, agreement, histograms, totals, throughput): "
          f"median {statistics.median(runs):.0f} ms")
    live.close()


if __name__ == "__main__":
    main()
