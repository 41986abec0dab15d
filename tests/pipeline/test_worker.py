"""Background jobs: a child process per job, driven and observed only through the job table."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
from pipeline.pipeline_helpers import add_sources

from picobanana.errors import ConfigError
from picobanana.pipeline import jobs
from picobanana.pipeline.spec import EditMix, JobSpec, RoleSettings
from picobanana.pipeline.worker import (
    JobBoard,
    JobWorkers,
    RateMeter,
    cancel_job,
    job_state,
    job_views,
    resumable,
    resume_job,
    start_job,
)
from picobanana.store import Store

ROLES = ("writer", "rewriter", "editor", "judge")


def _spec(sources: list[int], types: list[int], backend: str = "fake", attempts: int = 1,
          latency_s: float = 0.0, concurrency: int = 2) -> JobSpec:
    options = {"latency_s": latency_s} if backend == "fake" and latency_s else {}
    roles = {r: RoleSettings(backend=backend, concurrency=concurrency, options=options) for r in ROLES}
    return JobSpec(source_ids=sources, mix=EditMix(kind="each", type_ids=types), roles=roles, attempts=attempts)


@pytest.fixture
def store(tmp_path):
    with Store.open(tmp_path / "ws") as opened:
        yield opened


@pytest.fixture
def workers(store):
    started = JobWorkers(store.workspace)
    yield started
    started.kill_all()  # never leave a child writing into a deleted temporary folder


def _wait_until(predicate, timeout: float = 90.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def _attempt_numbers(store, job_id: int) -> dict[str, list[int]]:
    rows = store.query("SELECT e.key, a.attempt_no FROM edits e JOIN attempts a ON a.edit_id = e.id "
                       "WHERE e.job_id = ? ORDER BY e.key, a.attempt_no", (job_id,))
    out: dict[str, list[int]] = {}
    for key, n in rows:
        out.setdefault(key, []).append(n)
    return out


def test_a_small_local_job_runs_in_the_background_to_done(store, workers):
    from picobanana.demo import DEMO_PHOTOS, demo_photo_png
    from picobanana.io.ingest import ingest_bytes

    source = ingest_bytes(store, demo_photo_png(DEMO_PHOTOS[0]), uri="skimage:test", origin="demo")
    job_id = start_job(store, workers, _spec([source], [1, 2], backend="local"), created_by="alice")
    assert workers.alive(job_id)
    assert workers.wait(job_id, timeout=180) == 0
    job = jobs.get_job(store, job_id)
    assert (job.status, job.total, job.done, job.created_by) == ("done", 2, 2, "alice")
    assert workers.log_path(job_id).is_file()
    [view] = job_views(store, workers)
    assert view.state == "done" and not view.active and not view.can_cancel and not view.can_resume
    assert store.scalar("SELECT COUNT(*) FROM attempts a JOIN edits e ON e.id = a.edit_id WHERE e.job_id = ?",
                        (job_id,)) == 2


def test_cancel_stops_the_job_and_resume_finishes_it_without_duplicates(store, workers):
    sources = add_sources(store, 4)
    spec = _spec(sources, [1, 2, 3], attempts=2, latency_s=0.25, concurrency=1)
    job_id = start_job(store, workers, spec)
    _wait_until(lambda: jobs.get_job(store, job_id).done >= 2, what="two items done")
    assert job_views(store, workers)[0].state == "running"
    with pytest.raises(ConfigError, match="running"):
        resume_job(store, workers, job_id)  # two runners of one job would do the work twice

    assert cancel_job(store, workers, job_id) == "cancelled"
    assert workers.wait(job_id, timeout=60) == 0
    stopped = jobs.get_job(store, job_id)
    assert stopped.status == "cancelled" and stopped.finished_at is not None
    assert stopped.done < stopped.total == 12
    assert resumable(stopped) and job_views(store, workers)[0].can_resume
    partial = _attempt_numbers(store, job_id)
    assert 0 < len(partial) < 12

    assert resume_job(store, workers, job_id) == "starting"
    assert workers.wait(job_id, timeout=120) == 0
    finished = jobs.get_job(store, job_id)
    assert finished.status == "done" and finished.summary["items"] == 12
    numbers = _attempt_numbers(store, job_id)
    assert len(numbers) == 12  # every (source, type) exactly once
    for key, attempt_nos in numbers.items():  # 1..k without gaps or repeats, within the attempt budget
        assert attempt_nos == list(range(1, len(attempt_nos) + 1)) and len(attempt_nos) <= 2, key
    for key, attempt_nos in partial.items():  # work finished before the cancel is still there
        assert numbers[key][: len(attempt_nos)] == attempt_nos
    assert store.scalar("SELECT COUNT(*) FROM attempts WHERE status = 'running'") == 0


def test_cancelling_a_job_whose_process_is_still_starting_stops_it(store, workers):
    sources = add_sources(store, 2)
    job_id = start_job(store, workers, _spec(sources, [1, 2], latency_s=0.5, concurrency=1))
    assert cancel_job(store, workers, job_id) == "cancelled"
    assert not workers.alive(job_id)
    job = jobs.get_job(store, job_id)
    assert job.status == "cancelled"
    time.sleep(0.3)
    assert jobs.get_job(store, job_id).status == "cancelled"  # nothing runs it behind our back
    assert resume_job(store, workers, job_id) == "starting"
    assert workers.wait(job_id, timeout=120) == 0
    assert jobs.get_job(store, job_id).status == "done"


def test_an_empty_plan_is_refused_before_a_job_exists(store, workers):
    with pytest.raises(ConfigError, match="plan is empty"):
        start_job(store, workers, _spec([], [1]))
    assert jobs.list_jobs(store) == []


def _row(status: str, beat_age: float | None, started: bool = True, finished: bool = False) -> jobs.JobRow:
    now = datetime.now(UTC)

    def stamp(delta: float) -> str:
        return (now - timedelta(seconds=delta)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")

    return jobs.JobRow(1, "generate", status, JobSpec(), 10, 3, 0, None, None, stamp(100),
                       stamp(50) if started else None, stamp(1) if finished else None,
                       stamp(beat_age) if beat_age is not None else None)


@pytest.mark.parametrize(("row", "launched", "state", "can_resume"), [
    (("running", 0.5), False, "running", False),
    (("running", 30.0), False, "interrupted", True),  # its process is gone: the heartbeat stopped
    (("cancelled", 0.5), False, "stopping", False),  # the runner is finishing the items in flight
    (("cancelled", 0.5, True, True), False, "cancelled", True),
    (("cancelled", 30.0), False, "cancelled", True),
    (("queued", None, False), True, "starting", False),
    (("queued", None, False), False, "queued", True),
    (("done", 30.0, True, True), False, "done", False),
])
def test_job_state_from_the_row_and_its_heartbeat(row, launched, state, can_resume):
    job = _row(*row)  # built now: the heartbeat's age is what is tested
    assert job_state(job, launched=launched) == state
    assert resumable(job, launched=launched) is can_resume


def test_rate_meter_measures_recent_items_per_minute():
    meter = RateMeter(window_s=60)
    assert meter.observe(1, 0, at=0.0) is None
    assert meter.observe(1, 10, at=30.0) == pytest.approx(20.0)
    assert meter.observe(1, 40, at=90.0) == pytest.approx(30.0)  # the first sample fell out of the window
    assert meter.observe(1, 2, at=91.0) is None  # a resumed run counts again from 0


def test_a_job_whose_process_fails_before_running_shows_the_reason(store, workers):
    sources = add_sources(store, 1)
    spec = _spec(sources, [1])
    spec.roles["editor"].options = {"no_such_option": 1}  # the fake editor refuses it: the CLI exits 2
    job_id = start_job(store, workers, spec)
    assert workers.wait(job_id, timeout=60) == 2
    board = JobBoard(workers)
    [view] = board.views(store)
    assert view.state == "failed" and view.can_resume
    assert "exited with code 2" in view.message and "rejected its options" in view.message
    assert jobs.get_job(store, job_id).status == "failed"
    assert board.views(store)[0].message == view.message  # recorded once, then read like any other row
