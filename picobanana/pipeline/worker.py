"""Running generate jobs in the background from a long-lived process (the studio).

Each job runs in its own child process, `python -m picobanana --workspace WS resume ID` — exactly what a
curator would type. Why a process and not a thread of the studio:
  - the job outlives the browser tab *and* the studio (a restart does not kill a three-hour job);
  - the local backend's CPU work (OpenCV, OCR) never competes with the web server for the GIL;
  - a crash of a backend library cannot take the studio down.
The job row is the only channel: progress, heartbeat and cancellation are read from and written to the
`jobs` table, so every studio tab (and `picobanana jobs`) sees the same state. A job whose process died
shows as interrupted (its heartbeat stops) and can be resumed: the runner redoes exactly the attempts that
were in flight.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from picobanana.errors import ConfigError
from picobanana.pipeline import jobs
from picobanana.pipeline.jobs import JobRow
from picobanana.pipeline.plan import build_plan
from picobanana.pipeline.spec import JobSpec
from picobanana.store.db import Store

LOG_DIR = "logs"  # <workspace>/logs/job-<id>.log: the child's output (a crash's traceback lands here)
ACTIVE_STATES = ("starting", "running", "stopping")
EXIT_GRACE_S = 5.0


def _age(stamp: str | None, now: datetime) -> float | None:
    if not stamp:
        return None
    then = datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
    return max(0.0, (now - then).total_seconds())


def job_state(job: JobRow, *, launched: bool = False, now: datetime | None = None) -> str:
    """What a curator should read, from the row alone (plus whether this process just launched it).

    running + stale heartbeat → "interrupted" (its process is gone: resume it); cancelled while the runner
    still beats → "stopping" (items in flight finish); queued with a child starting up → "starting".
    """
    now = now or datetime.now(UTC)
    beat = _age(job.heartbeat_at, now)
    fresh = beat is not None and beat < jobs.ALIVE_S
    if job.status == "running":
        return "running" if fresh else "interrupted"
    if job.status == "cancelled" and job.finished_at is None and job.started_at is not None and fresh:
        return "stopping"
    if job.status == "queued" and launched:
        return "starting"
    return job.status


def resumable(job: JobRow, *, launched: bool = False) -> bool:
    return job.status in jobs.RESUMABLE and job_state(job, launched=launched) not in ACTIVE_STATES


class RateMeter:
    """Items per minute over the last `window_s` seconds of observations, per job (shared by every tab)."""

    def __init__(self, window_s: float = 60.0):
        self.window_s = window_s
        self._seen: dict[int, deque[tuple[float, int]]] = {}
        self._lock = threading.Lock()

    def observe(self, job_id: int, done: int, at: float | None = None) -> float | None:
        at = time.monotonic() if at is None else at
        with self._lock:
            seen = self._seen.setdefault(job_id, deque())
            if seen and done < seen[-1][1]:
                seen.clear()  # a resumed run counts again from 0
            seen.append((at, done))
            while len(seen) > 2 and at - seen[0][0] > self.window_s:
                seen.popleft()
            (t0, d0), (t1, d1) = seen[0], seen[-1]
        return (d1 - d0) / (t1 - t0) * 60.0 if t1 - t0 >= 1.0 else None


class JobWorkers:
    """The child processes this studio started. Other processes' jobs are seen through the job table only."""

    def __init__(self, workspace: str | Path, python: str = sys.executable):
        self.workspace = Path(workspace).resolve()
        self.python = python
        self._children: dict[int, subprocess.Popen] = {}
        self._failed_exits: dict[int, int] = {}  # job id → non-zero exit code, until someone takes it
        self._lock = threading.Lock()

    def log_path(self, job_id: int) -> Path:
        return self.workspace / LOG_DIR / f"job-{job_id}.log"

    def launch(self, job_id: int) -> None:
        log = self.log_path(job_id)
        log.parent.mkdir(parents=True, exist_ok=True)
        command = [self.python, "-m", "picobanana", "--workspace", str(self.workspace), "resume", str(job_id)]
        with self._lock:
            if self._alive_locked(job_id):
                raise ConfigError(f"job {job_id} is already running in this studio")
            with log.open("ab") as out:
                # A session of its own: Ctrl-C on the studio's terminal does not reach the job.
                self._children[job_id] = subprocess.Popen(
                    command, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                    start_new_session=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})

    def _alive_locked(self, job_id: int) -> bool:
        child = self._children.get(job_id)
        if child is None:
            return False
        if child.poll() is None:
            return True
        del self._children[job_id]  # reaped: no zombie left behind
        if child.returncode:
            self._failed_exits[job_id] = child.returncode
        return False

    def take_failed_exit(self, job_id: int) -> int | None:
        """The non-zero exit code of this job's finished child, once (None if it exited cleanly or runs)."""
        with self._lock:
            if self._alive_locked(job_id):
                return None
            return self._failed_exits.pop(job_id, None)

    def log_tail(self, job_id: int, max_chars: int = 400) -> str:
        try:
            with self.log_path(job_id).open("rb") as log:
                log.seek(0, os.SEEK_END)
                log.seek(max(0, log.tell() - max_chars))
                text = log.read().decode("utf-8", "replace")
        except OSError:
            return ""
        lines = [line.strip() for line in text.splitlines() if line.strip()]
        return lines[-1] if lines else ""

    def alive(self, job_id: int) -> bool:
        with self._lock:
            return self._alive_locked(job_id)

    def running(self) -> list[int]:
        with self._lock:
            return [job_id for job_id in list(self._children) if self._alive_locked(job_id)]

    def wait(self, job_id: int, timeout: float | None = None) -> int | None:
        """The child's exit code (None if this studio did not start it). Raises TimeoutExpired."""
        with self._lock:
            child = self._children.get(job_id)
        return None if child is None else child.wait(timeout)

    def stop(self, job_id: int) -> None:
        with self._lock:
            child = self._children.pop(job_id, None)
        if child is not None and child.poll() is None:
            child.kill()
        if child is not None:
            child.wait()

    def kill_all(self) -> None:
        """Hard stop (tests, emergency): the jobs become resumable from their last committed attempt."""
        with self._lock:
            children = list(self._children.values())
            self._children.clear()
        for child in children:
            if child.poll() is None:
                child.kill()
            child.wait()


# ------------------------------------------------------------------------------------------ actions


def start_job(store: Store, workers: JobWorkers, spec: JobSpec, created_by: str | None = None) -> int:
    """Create the job (its plan size as total) and start it in the background; returns its id."""
    plan = build_plan(store, spec)
    if not plan.items:
        raise ConfigError("the plan is empty: choose sources with images and at least one edit type")
    job_id = jobs.create_job(store, spec, len(plan.items), created_by=created_by)
    workers.launch(job_id)
    return job_id


def resume_job(store: Store, workers: JobWorkers, job_id: int) -> str:
    job = jobs.get_job(store, job_id)
    if job.status not in jobs.RESUMABLE:
        raise ConfigError(f"job {job_id} is {job.status}; nothing to resume")
    launched = workers.alive(job_id)
    state = job_state(job, launched=launched)
    if launched and state not in ACTIVE_STATES:
        # The runner has written its final status; its process is only exiting. Give it a moment.
        try:
            workers.wait(job_id, timeout=EXIT_GRACE_S)
        except subprocess.TimeoutExpired:
            pass
        launched = workers.alive(job_id)
    if launched or state in ACTIVE_STATES:
        raise ConfigError(f"job {job_id} is {state if state in ACTIVE_STATES else 'still stopping'}; "
                          "wait until it has stopped before resuming it")
    workers.launch(job_id)
    return "starting"


def cancel_job(store: Store, workers: JobWorkers, job_id: int) -> str:
    """Ask the job to stop; its runner sees it within a heartbeat and lets the items in flight finish.

    A child still starting up has not read the row yet and would run a cancelled job anyway (`resume`
    accepts cancelled jobs), so it is stopped outright: the runner is kill-safe by design.
    """
    if jobs.get_job(store, job_id).status == "queued" and workers.alive(job_id):
        workers.stop(job_id)
    return jobs.cancel_job(store, job_id)


@dataclass(frozen=True)
class JobView:
    id: int
    state: str  # job_state(): the stored status, refined by liveness
    total: int | None
    done: int
    failed: int
    kept: int | None
    rate_per_min: float | None
    heartbeat_age_s: float | None
    created_at: str
    created_by: str | None
    message: str | None
    can_cancel: bool
    can_resume: bool

    @property
    def active(self) -> bool:
        return self.state in ACTIVE_STATES


@dataclass(frozen=True)
class _JobHead:
    """A job row without its spec: the spec of a job over every source holds every source id (megabytes),
    and the job list is polled every few seconds by every open tab."""

    id: int
    status: str
    total: int | None
    done: int
    failed: int
    message: str | None
    summary: dict | None
    created_at: str
    started_at: str | None
    finished_at: str | None
    heartbeat_at: str | None
    created_by: str | None


_HEAD_COLUMNS = ("id", "status", "total", "done", "failed", "message", "summary", "created_at", "started_at",
                 "finished_at", "heartbeat_at", "created_by")
TERMINAL = ("done", "failed", "cancelled", "interrupted")


class JobBoard:
    """The job list as every studio tab polls it, cheap at any spec size.

    A job's columns after `params` (counts, heartbeat) sit behind its spec in the row, and the spec of a job
    over every source holds every source id: reading them walks ~600 overflow pages per such job (~3 ms).
    `id` and `status` come before `params`, so one cheap query finds what may have changed; rows are re-read
    only for active jobs, jobs whose status changed, and every `ttl_s` for resumable ones (one resumed and
    stopped again elsewhere between two polls keeps its status); "done" is final.
    """

    def __init__(self, workers: JobWorkers, meter: RateMeter | None = None, ttl_s: float = 30.0):
        self.workers, self.meter, self.ttl_s = workers, meter or RateMeter(), ttl_s
        self._cache: dict[int, tuple[_JobHead, float]] = {}
        self._lock = threading.Lock()

    def _read(self, store: Store, ids: list[int]) -> dict[int, _JobHead]:
        if not ids:
            return {}
        columns = ", ".join(_HEAD_COLUMNS)
        rows = store.query(f"SELECT {columns} FROM jobs WHERE id IN ({', '.join('?' * len(ids))})", ids)
        return {r[0]: _JobHead(*r[:6], json.loads(r[6]) if r[6] else None, *r[7:]) for r in rows}

    def heads(self, store: Store, limit: int = 50) -> list[_JobHead]:
        listed = store.query("SELECT id, status FROM jobs WHERE kind = ? ORDER BY id DESC LIMIT ?",
                             (jobs.KIND, limit))
        now = time.monotonic()
        with self._lock:
            stale = [job_id for job_id, status in listed
                     if (cached := self._cache.get(job_id)) is None or status not in TERMINAL
                     or cached[0].status != status or (status != "done" and now - cached[1] > self.ttl_s)]
        fresh = self._read(store, stale)
        with self._lock:
            for job_id, head in fresh.items():
                self._cache[job_id] = (head, now)
            return [self._cache[job_id][0] for job_id, _ in listed if job_id in self._cache]

    def _record_launch_failure(self, store: Store, job: _JobHead) -> _JobHead:
        """A child that exits non-zero before its runner starts (e.g. a backend refuses its options) leaves the
        row queued: the only trace is its log. Put the reason on the row, where every curator sees it."""
        code = self.workers.take_failed_exit(job.id)
        if code is None or job.status != "queued":
            return job
        message = (f"the job process exited with code {code}: {self.workers.log_tail(job.id)} "
                   f"(log: {self.workers.log_path(job.id)})")[:500]
        jobs.finish(store, job.id, "failed", {}, message=message)
        with self._lock:
            self._cache.pop(job.id, None)
        return self._read(store, [job.id]).get(job.id, job)

    def views(self, store: Store, limit: int = 50) -> list[JobView]:
        """The newest jobs with their live state, rate and heartbeat age."""
        now = datetime.now(UTC)
        views = []
        for job in self.heads(store, limit):
            launched = self.workers.alive(job.id)
            if not launched and job.status == "queued":
                job = self._record_launch_failure(store, job)
            state = job_state(job, launched=launched, now=now)  # type: ignore[arg-type]
            rate = self.meter.observe(job.id, job.done) if state == "running" else None
            views.append(JobView(
                id=job.id, state=state, total=job.total, done=job.done, failed=job.failed,
                kept=(job.summary or {}).get("kept") if job.status != "running" else None,
                rate_per_min=rate, heartbeat_age_s=_age(job.heartbeat_at, now), created_at=job.created_at,
                created_by=job.created_by, message=job.message, can_cancel=job.status in ("queued", "running"),
                can_resume=resumable(job, launched=launched)))  # type: ignore[arg-type]
        return views


def job_views(store: Store, workers: JobWorkers, limit: int = 50) -> list[JobView]:
    """The newest jobs with their live state (uncached: one-off callers; the studio keeps a JobBoard)."""
    return JobBoard(workers).views(store, limit)


__all__ = ["JobBoard", "JobView", "JobWorkers", "RateMeter", "cancel_job", "job_state", "job_views", "resumable",
           "resume_job", "start_job"]
