"""Job rows: create, list, read, cancel, and the runner's status transitions.

A generate job's row holds its JobSpec (params), its plan size (total), progress counters (done = items
finished, failed = items with no kept attempt), a heartbeat, and at the end a JSON summary. Cancelling is a
write to the row that the runner polls between items; work already finished stays.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime

from picobanana.errors import StoreError
from picobanana.pipeline.spec import JobSpec
from picobanana.store.db import Store, utc_now

KIND = "generate"
RESUMABLE = ("queued", "running", "interrupted", "failed", "cancelled")
ALIVE_S = 5.0  # a running job's heartbeat is at most this old while its process lives (it beats every 0.2 s)


@dataclass(frozen=True)
class JobRow:
    id: int
    kind: str
    status: str
    spec: JobSpec
    total: int | None
    done: int
    failed: int
    message: str | None
    summary: dict | None
    created_at: str
    started_at: str | None
    finished_at: str | None
    heartbeat_at: str | None
    created_by: str | None = None  # who started it (the studio's curator; None from the command line)


def _row(row) -> JobRow:
    return JobRow(row["id"], row["kind"], row["status"], JobSpec.model_validate_json(row["params"]), row["total"],
                  row["done"], row["failed"], row["message"], json.loads(row["summary"]) if row["summary"] else None,
                  row["created_at"], row["started_at"], row["finished_at"], row["heartbeat_at"], row["created_by"])


def create_job(store: Store, spec: JobSpec, total: int | None = None, created_by: str | None = None) -> int:
    """Store a queued job. "Every source" is frozen into the spec now, so a resume never grows the plan
    with sources ingested after the job started."""
    if not spec.source_ids:
        ids = [r[0] for r in store.conn.execute("SELECT id FROM sources WHERE image_sha256 IS NOT NULL ORDER BY id")]
        spec = spec.model_copy(update={"source_ids": ids})
    with store.transaction():
        return int(store.conn.execute(
            "INSERT INTO jobs (kind, status, params, total, created_at, created_by) VALUES (?, ?, ?, ?, ?, ?) "
            "RETURNING id", (KIND, "queued", spec.model_dump_json(), total, utc_now(), created_by)).fetchone()[0])


def get_job(store: Store, job_id: int) -> JobRow:
    row = store.conn.execute("SELECT * FROM jobs WHERE id = ? AND kind = ?", (job_id, KIND)).fetchone()
    if row is None:
        raise StoreError(f"no generate job {job_id}")
    return _row(row)


def list_jobs(store: Store, limit: int = 50) -> list[JobRow]:
    return [_row(r) for r in store.query("SELECT * FROM jobs WHERE kind = ? ORDER BY id DESC LIMIT ?", (KIND, limit))]


def heartbeat_age(job: JobRow) -> float | None:
    """Seconds since the job's last heartbeat (None if it never beat)."""
    if not job.heartbeat_at:
        return None
    beat = datetime.strptime(job.heartbeat_at, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
    return (datetime.now(UTC) - beat).total_seconds()


def job_status(store: Store, job_id: int) -> str:
    return str(store.scalar("SELECT status FROM jobs WHERE id = ?", (job_id,)))


def cancel_job(store: Store, job_id: int) -> str:
    """Ask a job to stop: a running job stops after the items in flight; a queued one never starts."""
    job = get_job(store, job_id)
    if job.status in ("done", "cancelled"):
        return job.status
    with store.transaction():
        store.conn.execute("UPDATE jobs SET status = 'cancelled', message = 'cancel requested', heartbeat_at = ? "
                           "WHERE id = ?", (utc_now(), job_id))
    return "cancelled"


def mark_running(store: Store, job_id: int, total: int) -> None:
    with store.transaction():
        store.conn.execute("UPDATE jobs SET status = 'running', total = ?, started_at = COALESCE(started_at, ?), "
                           "heartbeat_at = ?, finished_at = NULL, message = NULL WHERE id = ?",
                           (total, utc_now(), utc_now(), job_id))


def heartbeat(store: Store, job_id: int, done: int, failed: int) -> str:
    """Record progress; returns the row's status so the runner sees a cancellation (one statement)."""
    with store.transaction():
        row = store.conn.execute("UPDATE jobs SET done = ?, failed = ?, heartbeat_at = ? WHERE id = ? "
                                 "RETURNING status", (done, failed, utc_now(), job_id)).fetchone()
    return row[0]


def finish(store: Store, job_id: int, status: str, summary: dict, message: str | None = None) -> None:
    with store.transaction():
        store.conn.execute("UPDATE jobs SET status = ?, summary = ?, message = ?, finished_at = ?, heartbeat_at = ?, "
                           "done = ?, failed = ? WHERE id = ?",
                           (status, json.dumps(summary), message, utc_now(), utc_now(),
                            summary.get("items_done", 0), summary.get("items_failed", 0), job_id))
