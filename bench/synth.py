"""A fast generator of a realistic workspace with N attempts, for benchmarks.

    python bench/synth.py --attempts 1000000          # builds (or reuses) bench/out/synth-1000000-v1/

What it holds, in the proportions a curated Pico-Banana-style workspace would have:
- all 35 edit types, drawn with the release's SFT distribution (`EditType.sft_count`);
- pipeline edits (about 88% of attempts) with 1–3 attempts each: attempts stop at the first kept one, the
  chance of a kept attempt depends on the edit type (the paper's success rate where known, else 0.60–0.92),
  and each attempt that produced an image carries a judgment whose four sub-scores (two decimals, so equal
  scores are common) put the paper-policy score above or below 0.7 accordingly; some attempts failed in the
  editor (no image, blocked, ...) and a few are still pending;
- release-imported single-turn edits (about 10%), unjudged: the chosen attempt `ok`, and for a quarter of them
  one or two `rejected` attempts, keys and paths exactly as the importer writes them;
- release multi-turn chains (about 2% of attempts, 2–5 turns, no edit type);
- a few thousand human reviews (appended to `reviews`, so the trigger maintains `human_decisions`), some of
  them overriding the judge, some changed twice, some cleared.

Rows are written with `executemany` in large transactions straight into the tables (bypassing writes.py for
speed), with the ids assigned here, but with exactly the columns, key formats, timestamps and revisions the
real code writes. The result is cached: a finished workspace has a `synth.json` marker and is reused.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from picobanana.store import Store, active_policy, utc_now
from picobanana.taxonomy import EDIT_TYPES

SYNTH_VERSION = 1
OUT = ROOT / "bench" / "out"
CHUNK = 100_000  # attempts per transaction

FAILURE_STATUSES = ("no_image", "blocked", "api_error", "timeout")
CURATORS = ("alice", "bob", "carol", "dmitri")
JUDGE_MODEL = "qwen2.5-vl-72b-instruct"
EDITOR_MODEL = "gemini-2.5-flash-image"


def cached_workspace(n_attempts: int, *, seed: int = 0, force: bool = False, quiet: bool = False) -> Path:
    """The workspace for `n_attempts`, built once under bench/out/ and reused afterwards."""
    path = OUT / f"synth-{n_attempts}-v{SYNTH_VERSION}"
    marker = path / "synth.json"
    if marker.is_file() and not force:
        return path
    if path.exists():
        import shutil

        shutil.rmtree(path)
    started = time.perf_counter()
    summary = build_workspace(path, n_attempts, seed=seed, quiet=quiet)
    summary["build_seconds"] = round(time.perf_counter() - started, 1)
    marker.write_text(json.dumps(summary, indent=1))
    return path


def _type_rates(rng: random.Random) -> dict[int, float]:
    """Chance that one attempt of each edit type is kept: the paper's figure where known."""
    return {t.id: t.paper_success if t.paper_success is not None else round(rng.uniform(0.60, 0.92), 3)
            for t in EDIT_TYPES}


def _sha(kind: str, n: int) -> str:
    return hashlib.sha256(f"{kind}:{n}".encode()).hexdigest()


class _Ids:
    """Explicit row ids, so parents and foreign keys are known before the rows are written."""

    def __init__(self) -> None:
        self.source = self.edit = self.attempt = self.chain = self.job = 0

    def next(self, table: str) -> int:
        value = getattr(self, table) + 1
        setattr(self, table, value)
        return value


def _subscores(np_rng: np.random.Generator, keep: np.ndarray) -> np.ndarray:
    """Four sub-scores per attempt (two decimals) whose paper-weighted score lands on the intended side of 0.7,
    with noise so that some land across it and each type's pass rate is only roughly its target."""
    n = len(keep)
    centre = np.where(keep, np_rng.uniform(0.72, 0.97, n), np_rng.uniform(0.25, 0.69, n))
    scores = centre[:, None] + np_rng.normal(0.0, 0.06, (n, 4))
    return np.round(np.clip(scores, 0.0, 1.0), 2)


def build_workspace(path: Path, n_attempts: int, *, seed: int = 0, quiet: bool = False) -> dict:
    rng = random.Random(seed)
    np_rng = np.random.default_rng(seed)
    rates = _type_rates(rng)
    type_ids = [t.id for t in EDIT_TYPES]
    type_weights = [t.sft_count for t in EDIT_TYPES]
    category_of = {t.id: t.category.id for t in EDIT_TYPES}
    ids = _Ids()
    counts = dict.fromkeys(("sources", "edits", "attempts", "judgments", "chains", "reviews", "images"), 0)

    store = Store.open(path)
    conn = store.conn
    # The rows below are consistent by construction; checking every foreign key would only slow the load.
    conn.execute("PRAGMA foreign_keys = OFF")
    policy = active_policy(store)
    now = utc_now()

    with store.transaction() as rev:
        job_id = ids.next("job")
        conn.execute("INSERT INTO jobs (id, kind, status, params, total, done, created_at, started_at, "
                      "finished_at) VALUES (?, 'generate', 'done', '{}', ?, ?, ?, ?, ?)",
                      (job_id, n_attempts, n_attempts, now, now, now))
        import_ids = {}
        for kind in ("sft", "preference", "multi-turn"):
            import_ids[kind] = conn.execute(
                "INSERT INTO import_files (path, fingerprint, kind, size, status, started_at, finished_at) "
                "VALUES (?, ?, ?, 0, 'done', ?, ?) RETURNING id",
                (f"/data/release/{kind}.jsonl", _sha("file", len(import_ids)), kind, now, now)).fetchone()[0]

    made = 0
    release_no = 0
    chain_no = 0
    review_pool: list[tuple[int, str]] = []  # (attempt id, judge verdict) of judged attempts
    progress_at = 0
    while made < n_attempts:
        budget = min(CHUNK, n_attempts - made)
        rows = {"images": [], "sources": [], "chains": [], "edits": [], "attempts": []}
        judged: list[tuple[int, int, bool]] = []  # (attempt id, category id, intended keep)
        now = utc_now()
        with store.transaction() as rev:
            produced = 0
            while produced < budget:
                roll = rng.random()
                if roll < 0.02 and budget - produced >= 5:
                    produced += _release_chain(rows, ids, rng, chain_no, import_ids["multi-turn"], now, rev)
                    chain_no += 1
                elif roll < 0.10:
                    produced += _release_edit(rows, ids, rng, release_no, import_ids, type_ids, type_weights,
                                              category_of, now, rev, budget - produced)
                    release_no += 1
                else:
                    produced += _pipeline_edit(rows, ids, rng, judged, job_id, rates, type_ids, type_weights,
                                               category_of, now, rev, budget - produced)
            _write(conn, rows)
            judgments = _judgments(np_rng, judged, now, rev)
            conn.executemany(
                "INSERT INTO judgments (attempt_id, category_id, compliance, seamlessness, preservation, quality, "
                "judge_overall, rationale, judge_backend, judge_model, judge_model_version, prompt_version, "
                "created_at, rev) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)", judgments)
            for row in judgments:
                if rng.random() < 0.02:
                    score = policy.score(row[2:6], row[1])
                    review_pool.append((row[0], "keep" if policy.keeps(score, row[1]) else "fail"))
        for table, table_rows in rows.items():
            counts[table] += len(table_rows)
        counts["judgments"] += len(judgments)
        made += produced
        if not quiet and made - progress_at >= 200_000:
            progress_at = made
            print(f"  synth: {made:,} / {n_attempts:,} attempts", file=sys.stderr)

    counts["reviews"] = _reviews(store, rng, review_pool, max(50, n_attempts // 300))
    conn.execute("PRAGMA foreign_keys = ON")
    conn.execute("ANALYZE")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    store.close()
    counts["attempts"] = made
    return {"attempts": n_attempts, "seed": seed, "version": SYNTH_VERSION, "rows": counts}


def _release_edit(rows, ids, rng, n, import_ids, type_ids, type_weights, category_of, now, rev, room) -> int:
    """An sft record (and, for a quarter, the preference record with the same output): unjudged."""
    type_id = rng.choices(type_ids, type_weights)[0]
    category = category_of[type_id]
    n_rejected = min(rng.choice((1, 1, 2)) if rng.random() < 0.25 else 0, room - 1)
    if n_rejected and rng.random() < 0.7:
        output = f"images/positive-edit/{_base36(n)}_retry{n_rejected}.png"
        chosen_no = n_rejected + 1
    else:
        output = f"images/positive-edit/{n + 1}.png"
        chosen_no = n_rejected + 1 if n_rejected else 1
    source_id = ids.next("source")
    rows["sources"].append((source_id, _flickr(n), None, "release", None, None, None, None, now, rev))
    edit_id = ids.next("edit")
    key = "release:" + output
    rows["edits"].append((edit_id, key, source_id, None, None, 1, type_id, category, "release", None, now, rev))
    text = f"Apply the requested change number {n} to the photo with care for detail."
    short = f"change {n}"
    kind = "preference" if n_rejected else "sft"
    for i in range(n_rejected):
        ref = f"images/rejected-edit/{n * 3 + i}.png"
        rows["attempts"].append(_attempt_row(ids.next("attempt"), "release:" + ref, edit_id, i + 1, type_id,
                                             category, 1, "release", "rejected", "rejected by the release judge",
                                             text, short, ref, None, import_ids[kind], n + 1, now, rev))
    rows["attempts"].append(_attempt_row(ids.next("attempt"), key, edit_id, chosen_no, type_id, category, 1,
                                         "release", "ok", None, text, short, output, None, import_ids[kind],
                                         n + 1, now, rev))
    return n_rejected + 1


def _release_chain(rows, ids, rng, n, import_file_id, now, rev) -> int:
    """A multi-turn record: one chain, one edit and one kept attempt per turn, no edit type."""
    turns = rng.randint(2, 5)
    source_id = ids.next("source")
    rows["sources"].append((source_id, _flickr(10_000_000 + n), None, "release", None, None, None, None, now,
                            rev))
    refs = [f"images/multi-turn/{n}_attemptB_turn{k}.png" for k in range(1, turns + 1)]
    chain_id = ids.next("chain")
    final = refs[-1]
    rows["chains"].append((chain_id, "release-mt:" + final, source_id, turns, "release", None, import_file_id,
                           n + 1, now, rev))
    parent = None
    for k, ref in enumerate(refs, start=1):
        edit_id = ids.next("edit")
        rows["edits"].append((edit_id, f"release-mt:{final}#{k}", source_id, parent, chain_id, k, None, None,
                              "release", None, now, rev))
        attempt_id = ids.next("attempt")
        rows["attempts"].append(_attempt_row(attempt_id, "release:" + ref, edit_id, 1, None, None, k, "release",
                                             "ok", None, None, f"now make it turn {k}", ref, None,
                                             import_file_id, n + 1, now, rev))
        parent = attempt_id
    return turns


def _pipeline_edit(rows, ids, rng, judged, job_id, rates, type_ids, type_weights, category_of, now, rev,
                   room) -> int:
    type_id = rng.choices(type_ids, type_weights)[0]
    category = category_of[type_id]
    if rows["sources"] and rows["sources"][-1][3] == "ingest" and rng.random() < 0.5:
        source_id, source_sha = rows["sources"][-1][0], rows["sources"][-1][2]  # one photo, several edit types
    else:
        source_id = ids.next("source")
        source_sha = _sha("source", source_id)
        rows["images"].append((source_sha, "jpeg", 1024, 768, 250_000 + source_id % 50_000, now))
        rows["sources"].append((source_id, f"file:///photos/{source_id:08d}.jpg", source_sha, "ingest",
                                "CC BY 2.0", None, f"/photos/{source_id:08d}.jpg", None, now, rev))
    edit_id = ids.next("edit")
    rows["edits"].append((edit_id, f"pipeline:{source_sha[:16]}:{type_id}:{edit_id}", source_id, None, None, 1,
                          type_id, category, "pipeline", job_id, now, rev))
    text = f"In this photo, carry out edit type {type_id} on the main subject (request {edit_id})."
    short = f"edit {type_id} please"
    made = 0
    for attempt_no in (1, 2, 3):
        if made >= room:
            break
        attempt_id = ids.next("attempt")
        key = f"pipeline:{edit_id}#{attempt_no}"
        roll = rng.random()
        if roll < 0.01:
            status, reason, sha = "pending", None, None
        elif roll < 0.04:
            status, reason, sha = rng.choice(FAILURE_STATUSES), "the editor returned no usable image", None
        else:
            status, reason, sha = "ok", None, _sha("output", attempt_id)
            rows["images"].append((sha, "png", 1024, 1024, 900_000 + attempt_id % 100_000, now))
        rows["attempts"].append(_attempt_row(attempt_id, key, edit_id, attempt_no, type_id, category, 1, "pipeline",
                                             status, reason, text, short, None, sha, None, None, now, rev,
                                             backend="gemini", latency_ms=8000.0 + attempt_id % 7000,
                                             cost_usd=0.039))
        made += 1
        if status == "pending":
            break
        if status == "ok":
            keep = rng.random() < rates[type_id]
            judged.append((attempt_id, category, keep))
            if keep:
                break
    return made


def _attempt_row(attempt_id, key, edit_id, attempt_no, type_id, category, turn, origin, status, reason,
                 instruction, short, output_ref, output_sha, import_file_id, import_line, now, rev, *,
                 backend=None, latency_ms=None, cost_usd=None):
    model = EDITOR_MODEL if backend else None
    return (attempt_id, key, edit_id, attempt_no, type_id, category, turn, origin, status, reason, instruction,
            short, output_ref, output_sha, backend, model, "2025-08" if backend else None,
            "v1" if backend else None, latency_ms, cost_usd, import_file_id, import_line, now, rev)


ATTEMPT_COLUMNS = ("id, key, edit_id, attempt_no, edit_type_id, category_id, turn, origin, status, failure_reason, "
                   "instruction, short_instruction, output_ref, output_sha256, backend, model, model_version, "
                   "prompt_version, latency_ms, cost_usd, import_file_id, import_line, created_at, rev")


def _write(conn, rows) -> None:
    conn.executemany("INSERT INTO images (sha256, format, width, height, bytes, created_at) VALUES (?,?,?,?,?,?)",
                     rows["images"])
    conn.executemany("INSERT INTO sources (id, uri, image_sha256, origin, license, variant, local_path, "
                     "open_images_id, created_at, rev) VALUES (?,?,?,?,?,?,?,?,?,?)", rows["sources"])
    conn.executemany("INSERT INTO chains (id, key, source_id, n_turns, origin, job_id, import_file_id, "
                     "import_line, created_at, rev) VALUES (?,?,?,?,?,?,?,?,?,?)", rows["chains"])
    conn.executemany("INSERT INTO edits (id, key, source_id, parent_attempt_id, chain_id, turn, edit_type_id, "
                     "category_id, origin, job_id, created_at, rev) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                     rows["edits"])
    marks = ",".join("?" * len(ATTEMPT_COLUMNS.split(",")))
    conn.executemany(f"INSERT INTO attempts ({ATTEMPT_COLUMNS}) VALUES ({marks})", rows["attempts"])


def _judgments(np_rng, judged, now, rev) -> list[tuple]:
    if not judged:
        return []
    keep = np.array([k for _, _, k in judged])
    scores = _subscores(np_rng, keep).tolist()
    overall_noise = np_rng.normal(0.0, 0.03, len(judged)).tolist()
    out = []
    for (attempt_id, category, _), (c, s, p, q), noise in zip(judged, scores, overall_noise, strict=True):
        overall = round(min(1.0, max(0.0, 0.4 * c + 0.25 * s + 0.2 * p + 0.15 * q + noise)), 2)
        out.append((attempt_id, category, c, s, p, q, overall, "The edit follows the instruction; minor halo.",
                    "openai", JUDGE_MODEL, "2025-07", "judge-v1", now, rev))
    return out


def _reviews(store: Store, rng: random.Random, pool: list[tuple[int, str]], n: int) -> int:
    """Human decisions on judged attempts: most confirm the judge, a third override it, some are revised."""
    picked = rng.sample(pool, min(n, len(pool)))
    rows = []
    for attempt_id, judge in picked:
        other = "fail" if judge == "keep" else "keep"
        first = other if rng.random() < 0.35 else judge
        curator = rng.choice(CURATORS)
        rows.append((attempt_id, curator, judge, first, "looked at it"))
        roll = rng.random()
        if roll < 0.05:  # changed their mind
            rows.append((attempt_id, rng.choice(CURATORS), first, other if first == judge else judge, "second look"))
        elif roll < 0.08:  # cleared: the policy decides again
            rows.append((attempt_id, curator, first, None, "undo"))
    with store.transaction():
        now = utc_now()
        store.conn.executemany(
            "INSERT INTO reviews (attempt_id, curator, created_at, old_verdict, new_verdict, reason, batch_id) "
            "VALUES (?, ?, ?, ?, ?, ?, NULL)", [(a, c, now, o, v, r) for a, c, o, v, r in rows])
    return len(rows)


def _flickr(n: int) -> str:
    return f"https://farm{n % 9 + 1}.staticflickr.com/{1000 + n % 8000}/{10_000_000 + n}_{n * 7919 % 10**10:010x}_o.jpg"


def _base36(n: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    n += 36**5  # six characters, like the release's `kf3o5u`
    while n:
        n, r = divmod(n, 36)
        out = digits[r] + out
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--attempts", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--force", action="store_true", help="rebuild even if a cached workspace exists")
    args = parser.parse_args()
    started = time.perf_counter()
    path = cached_workspace(args.attempts, seed=args.seed, force=args.force)
    summary = json.loads((path / "synth.json").read_text())
    print(f"workspace {path} ({args.attempts:,} attempts) ready in {time.perf_counter() - started:.1f} s; "
          f"built in {summary['build_seconds']} s; rows: {summary['rows']}")


if __name__ == "__main__":
    main()
