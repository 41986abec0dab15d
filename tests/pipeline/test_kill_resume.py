"""A real `kill -9` in the middle of a job, then `picobanana resume`: no duplicates, no lost finished work."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time

from pipeline.pipeline_helpers import add_sources

from picobanana.store import Store

ITEMS_SOURCES, TYPES = 10, "1,2,3"


def _cli(ws, *args) -> list[str]:
    return [sys.executable, "-m", "picobanana", "-w", str(ws), *args]


def _snapshot(db) -> dict[str, tuple]:
    with sqlite3.connect(db) as conn:
        return {r[0]: r[1:] for r in conn.execute(
            "SELECT key, id, status, output_sha256, instruction, failure_reason, rev FROM attempts")}


def test_kill_9_mid_job_then_resume_redoes_only_running_attempts(tmp_path):
    ws = tmp_path / "ws"
    with Store.open(ws) as store:
        add_sources(store, ITEMS_SOURCES)
    options = {"latency_s": 0.1}
    judge = {"latency_s": 0.1, "script": [0.1, 0.9, 0.1, 0.1, 0.9] * 20}
    args = ["generate", "--types", TYPES, "--backend", "all=fake", "--concurrency", "all=2", "--backend-options", f"all={json.dumps(options)}",
            "--backend-options", f"judge={json.dumps(judge)}"]
    proc = subprocess.Popen(_cli(ws, *args), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    db = ws / "picobanana.sqlite"
    deadline = time.monotonic() + 60
    before: dict[str, tuple] = {}
    while time.monotonic() < deadline:
        time.sleep(0.05)
        before = _snapshot(db) if db.exists() else {}
        finished = [k for k, v in before.items() if v[1] != "running"]
        running = [k for k, v in before.items() if v[1] == "running"]
        if len(finished) >= 8 and running:
            break
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    before = _snapshot(db)  # what the database holds after the kill
    finished_before = {k: v for k, v in before.items() if v[1] != "running"}
    running_before = [k for k, v in before.items() if v[1] == "running"]
    assert finished_before and running_before, "the kill must land mid-job with attempts in flight"
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT status FROM jobs WHERE id = 1").fetchone()[0] == "running"

    # Right after the kill the heartbeat is fresh: resume refuses (the job could be alive) unless --force.
    refused = subprocess.run(_cli(ws, "resume", "1"), check=False, capture_output=True, text=True, timeout=60)
    assert refused.returncode == 2 and "looks alive" in refused.stderr
    result = subprocess.run(_cli(ws, "resume", "1", "--force"), check=False, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr

    after = _snapshot(db)
    # every finished attempt is preserved exactly (same row, same revision: not rewritten)
    assert {k: after[k] for k in finished_before} == finished_before
    # the interrupted attempts were redone in their own rows
    for key in running_before:
        assert after[key][0] == before[key][0] and after[key][1] != "running"
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT COUNT(*) FROM attempts WHERE status = 'running'").fetchone()[0] == 0
        per_edit = conn.execute("SELECT e.key, GROUP_CONCAT(a.attempt_no) FROM edits e JOIN attempts a "
                                "ON a.edit_id = e.id GROUP BY e.id ORDER BY e.key").fetchall()
        status, summary = conn.execute("SELECT status, summary FROM jobs WHERE id = 1").fetchone()
    assert len(per_edit) == ITEMS_SOURCES * 3  # every item done exactly once
    for key, numbers in per_edit:  # attempt numbers 1..k, no gaps, no duplicates
        numbers = sorted(int(n) for n in numbers.split(","))
        assert numbers == list(range(1, len(numbers) + 1)) and len(numbers) <= 3, key
    assert len(after) == len(set(after))
    summary = json.loads(summary)
    assert status == "done" and summary["items"] == 30 and summary["kept"] + summary["failed"] == 30
    assert sum(summary["attempts"].values()) == len(after)
