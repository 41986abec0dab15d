"""The `gemini_batches` table: every batch a job submitted, so a restarted job polls it by name instead of
submitting (and paying for) the same requests twice. Also what `jobs`, `resume` and the summary show."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass

from picobanana.store.db import Store, utc_now


@dataclass(frozen=True)
class BatchRow:
    id: int
    role: str
    name: str
    state: str  # submitted (live) | ingested | failed
    items: dict[str, dict]  # request key (the attempt key) → {"attempt_id": int, "hint": dict}
    submitted_at: str


def record_submitted(store: Store, job_id: int, role: str, name: str, items: dict[str, dict]) -> None:
    with store.transaction():
        store.conn.execute(
            "INSERT INTO gemini_batches (job_id, role, name, state, items, n_requests, submitted_at) "
            "VALUES (?, ?, ?, 'submitted', ?, ?, ?)", (job_id, role, name, json.dumps(items), len(items), utc_now()))


def close(store: Store, batch_id: int, state: str, service_state: str | None, *, output: str | None = None,
          cost_usd: float = 0.0, error: str | None = None) -> None:
    """Mark a batch ingested or failed; called inside the transaction that records its attempts."""
    store.conn.execute("UPDATE gemini_batches SET state = ?, service_state = ?, output = ?, cost_usd = ?, error = ?, "
                       "finished_at = ? WHERE id = ?",
                       (state, service_state, output, cost_usd, error, utc_now(), batch_id))


def batches(store: Store, job_id: int, role: str | None = None, live_only: bool = False) -> list[BatchRow]:
    sql = "SELECT id, role, name, state, items, submitted_at FROM gemini_batches WHERE job_id = ?"
    params: list = [job_id]
    if role:
        sql += " AND role = ?"
        params.append(role)
    if live_only:
        sql += " AND state = 'submitted'"
    return [BatchRow(r[0], r[1], r[2], r[3], json.loads(r[4]), r[5])
            for r in store.conn.execute(sql + " ORDER BY id", params)]


def summary(store: Store, job_id: int) -> dict | None:
    """Counts by role and state, requests, and what Batch mode cost and saved (it bills half)."""
    rows = store.conn.execute("SELECT role, state, COUNT(*), SUM(n_requests), SUM(cost_usd) FROM gemini_batches "
                              "WHERE job_id = ? GROUP BY role, state ORDER BY role, state", (job_id,)).fetchall()
    if not rows:
        return None
    cost = round(sum(r[4] or 0.0 for r in rows), 6)
    return {"batches": {f"{r[0]} {r[1]}": r[2] for r in rows}, "requests": sum(r[3] for r in rows),
            "cost_usd": cost, "saved_usd": cost}  # −50 %: what was paid is what was saved


def states_text(store: Store, job_id: int) -> str:
    """'2 submitted, 5 ingested' for `picobanana jobs` (empty for an online job)."""
    counts = Counter(r[0] for r in store.conn.execute("SELECT state FROM gemini_batches WHERE job_id = ?",
                                                      (job_id,)))
    return ", ".join(f"{n} {state}" for state, n in sorted(counts.items()))
