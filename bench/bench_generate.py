"""Benchmark: the Generate tab's server functions on a 1M-attempt workspace.

    python bench/bench_generate.py [--attempts 1000000] [--job-attempts 100000] [--jobs 50] [--repeat 20]

- **job list poll** (`pipeline.worker.job_views`, what every open tab runs every 2 s while a job is active):
  `--jobs` job rows whose specs each freeze every source id of the workspace (the spec of an "every source" job);
- **failures of a job** (`curation.failures.job_failures`): a job of `--job-attempts` attempts (mixed editor
  failures, judged failures, skips) inside the 1M-attempt workspace;
- **source search** (`curation.job_sources.find_sources`): a common word, a rare one, a miss, an id;
- **estimate** (`pipeline.cost.estimate_job`): one edit type over every source.

The data is bench/synth.py's cached workspace, copied once to bench/out/bench-generate-<N>/ with the extra job
rows added there (never into the cache).
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

from picobanana.curation.failures import job_failures
from picobanana.curation.job_sources import find_sources
from picobanana.pipeline.cost import estimate_job
from picobanana.pipeline.spec import EditMix, JobSpec
from picobanana.pipeline.worker import JobBoard, JobWorkers
from picobanana.store import Store, utc_now

STATUSES = [("ok", None)] * 6 + [("no_image", "editor returned no image"), ("blocked", "IMAGE_SAFETY"),
                                 ("api_error", "editor: HTTP 503 (after 4 tries)"), ("timeout", None)]


def workspace(attempts: int, job_attempts: int, n_jobs: int) -> Path:
    path = OUT / f"bench-generate-{attempts}-{job_attempts}-{n_jobs}"
    marker = path / "bench-generate.done"
    if marker.is_file():
        return path
    if path.exists():
        shutil.rmtree(path)
    shutil.copytree(cached_workspace(attempts), path)
    with Store.open(path) as store:
        add_big_job(store, job_attempts)
        add_job_rows(store, n_jobs)
    marker.write_text("ok\n")
    return path


def add_big_job(store: Store, n_attempts: int) -> None:
    rng = random.Random(0)
    sources = [r[0] for r in store.query("SELECT id FROM sources WHERE image_sha256 IS NOT NULL ORDER BY id")]
    now = utc_now()
    spec = JobSpec(mix=EditMix(kind="release", total=n_attempts // 2))
    with store.transaction() as rev:
        job_id = int(store.conn.execute(
            "INSERT INTO jobs (kind, status, params, total, done, created_at) VALUES ('generate', 'done', ?, ?, ?, ?) "
            "RETURNING id", (spec.model_dump_json(), n_attempts // 2, n_attempts // 2, now)).fetchone()[0])
        edit_id = int(store.scalar("SELECT MAX(id) FROM edits")) + 1
        attempt_id = int(store.scalar("SELECT MAX(id) FROM attempts")) + 1
        edits, attempts, judgments = [], [], []
        made = 0
        while made < n_attempts:
            source, type_id = rng.choice(sources), rng.randint(1, 35)
            key = f"job{job_id}:src{source}:t{type_id}:{edit_id}"
            category = 1 + (type_id - 1) % 8
            skip = "no person in the image" if rng.random() < 0.02 else None
            edits.append((edit_id, key, source, type_id, category, "pipeline", job_id, now, rev, skip))
            for n in range(1, 1 + (0 if skip else rng.randint(1, 3))):
                status, reason = rng.choice(STATUSES)
                attempts.append((attempt_id, f"{key}#a{n}", edit_id, n, type_id, category, "pipeline", status,
                                 reason, now, rev))
                if status == "ok":
                    s = round(rng.uniform(0.3, 1.0), 2)
                    judgments.append((attempt_id, category, s, s, s, s, now, rev))
                attempt_id += 1
                made += 1
            edit_id += 1
        store.conn.executemany("INSERT INTO edits (id, key, source_id, edit_type_id, category_id, origin, job_id, "
                               "created_at, rev, skip_reason) VALUES (?,?,?,?,?,?,?,?,?,?)", edits)
        store.conn.executemany("INSERT INTO attempts (id, key, edit_id, attempt_no, edit_type_id, category_id, "
                               "origin, status, failure_reason, created_at, rev) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                               attempts)
        store.conn.executemany("INSERT INTO judgments (attempt_id, category_id, compliance, seamlessness, "
                               "preservation, quality, created_at, rev) VALUES (?,?,?,?,?,?,?,?)", judgments)


def add_job_rows(store: Store, n: int) -> None:
    sources = [r[0] for r in store.query("SELECT id FROM sources WHERE image_sha256 IS NOT NULL ORDER BY id")]
    params = JobSpec(source_ids=sources).model_dump_json()
    with store.transaction():
        store.conn.executemany(
            "INSERT INTO jobs (kind, status, params, total, done, created_at, heartbeat_at) "
            "VALUES ('generate', 'done', ?, ?, ?, ?, ?)", [(params, len(sources), len(sources), utc_now(),
                                                            utc_now())] * n)


def timed(fn, repeat: int) -> tuple[float, float, object]:
    times, result = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        result = fn()
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    return statistics.median(times), times[int(0.95 * (len(times) - 1))], result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--attempts", type=int, default=1_000_000)
    parser.add_argument("--job-attempts", type=int, default=100_000)
    parser.add_argument("--jobs", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    path = workspace(args.attempts, args.job_attempts, args.jobs)
    with Store.open(path) as store:
        total = store.scalar("SELECT COUNT(*) FROM attempts")
        n_sources = store.scalar("SELECT COUNT(*) FROM sources")
        big_job = store.scalar("SELECT MIN(id) FROM jobs WHERE id > 1")
        spec_bytes = store.scalar("SELECT MAX(length(params)) FROM jobs")
        print(f"workspace: {total:,} attempts, {n_sources:,} sources; job {big_job} has "
              f"{store.scalar('SELECT COUNT(*) FROM attempts WHERE key >= ? AND key < ?', (f'job{big_job}:', f'job{big_job};')):,} attempts; "
              f"{args.jobs} job rows with {spec_bytes / 1e6:.1f} MB specs")
        board = JobBoard(JobWorkers(path))
        cold, _, _ = timed(lambda: board.views(store), 1)
        med, p95, views = timed(lambda: board.views(store), args.repeat)
        print(f"job list poll (JobBoard.views, {len(views)} jobs): first {cold:.0f} ms, then {med:.1f} ms median, "
              f"{p95:.1f} ms p95")
        last = views[0].id
        with store.transaction():
            store.conn.execute("UPDATE jobs SET status = 'running' WHERE id = ?", (last,))
        med, p95, views = timed(lambda: board.views(store), args.repeat)
        with store.transaction():
            store.conn.execute("UPDATE jobs SET status = 'done' WHERE id = ?", (last,))
        print(f"job list poll with one active every-source job: {med:.1f} ms median, {p95:.1f} ms p95")
        med, p95, groups = timed(lambda: job_failures(store, big_job), max(3, args.repeat // 4))
        print(f"failures of job {big_job} ({sum(g.count for g in groups):,} failures in {len(groups)} groups): "
              f"{med:.0f} ms median, {p95:.0f} ms p95")
        for text in ("photos", "photos/00400000", "no-such-text", "12345"):
            med, p95, rows = timed(lambda t=text: find_sources(store, t), args.repeat)
            print(f"source search {text!r} ({len(rows)} rows): {med:.1f} ms median, {p95:.1f} ms p95")
        spec = JobSpec(mix=EditMix(kind="each", type_ids=[1]))
        med, p95, est = timed(lambda: estimate_job(store, spec), 3)
        print(f"estimate, 1 type × every source ({est.items:,} items): {med:.0f} ms median")


if __name__ == "__main__":
    main()
