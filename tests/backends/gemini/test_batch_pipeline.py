"""A whole job in Batch mode (editor and judge as Gemini batch jobs) against the wire-level fake: rounds,
preference pairs, chains, per-item failures, inline and file results, failed batches, the CLI, and a real
`kill -9` between submission and ingestion followed by `picobanana resume`."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time

import pytest
from pipeline.pipeline_helpers import add_sources

from picobanana.config import Price
from picobanana.io.export.selection import select_preference
from picobanana.pipeline import JobSpec, create_job, run_job
from picobanana.pipeline.spec import BatchSettings, ChainSettings, EditMix, RoleSettings
from picobanana.store import Store, active_policy

ROLES = ("writer", "rewriter", "editor", "judge")
IMAGE_COST = 1290 * 30.0 / 1e6  # the fake editor's output tokens × $30 / M
TEXT_COST = (40 + 10) * 30.0 / 1e6  # a fake text answer: candidates + thinking tokens
WIDE = {"COLUMNS": "250"}  # rich wraps tables to the terminal width


def _spec(fake, batch: BatchSettings | None = None, **extra) -> JobSpec:
    roles = {r: RoleSettings(backend="gemini", options={"base_url": fake.url, "timeout_s": 5}, concurrency=2,
                             timeout_s=10) for r in ROLES}
    return JobSpec(mix=EditMix(type_ids=[1]), roles=roles, backoff_base_s=0.0,
                   batch=batch or BatchSettings(poll_s=0.01, max_requests=2), **extra)


def _attempts(store, job_id) -> list:
    return store.query("SELECT e.key AS edit, e.turn, a.* FROM attempts a JOIN edits e ON e.id = a.edit_id "
                       "WHERE e.job_id = ? ORDER BY a.id", (job_id,))


def _batched_requests(fake) -> int:
    return sum(len(b["responses"]) for b in fake.batches.values())


def test_a_batch_job_retries_in_rounds_pairs_preferences_and_grows_a_chain(store, fake, api_key, tmp_path):
    sources = add_sources(store, 3)
    # round 1: editor answers in submission order (chunks of 2 + 1); one no_image; the judge fails one edit
    fake.script("editor", "ok", "no_image", "ok")
    fake.script("judge", 0.2, 0.9)
    spec = _spec(fake, source_ids=sources, prices={"gemini": Price(output_per_mtok=30.0)},
                 chains=ChainSettings(n_chains=1, min_turns=2, max_turns=2))
    job = create_job(store, spec)
    summary = run_job(store, job)

    assert fake.violations == []
    assert summary.status == "done" and summary.kept == 3 and summary.failed == 0
    rows = _attempts(store, job)
    assert all(r["status"] != "running" for r in rows)
    single = [(r["edit"].rsplit(":", 1)[1], r["attempt_no"], r["status"]) for r in rows if r["turn"] == 1
              and ":chain" not in r["edit"]]
    assert sorted(single) == [("t1", 1, "no_image"), ("t1", 1, "ok"), ("t1", 1, "ok"), ("t1", 2, "ok"),
                              ("t1", 2, "ok")]
    # every editor and judge request went through a batch, none online: edits 3 + 2 + 1 (chain), judge 2 + 2 + 1
    assert _batched_requests(fake) == len(fake.calls("editor")) + len(fake.calls("judge")) == 6 + 5
    stored = store.query("SELECT name, role, state, n_requests, output FROM gemini_batches WHERE job_id = ?", (job,))
    assert {r["name"] for r in stored} == set(fake.batches)
    assert all(r["state"] == "ingested" and r["n_requests"] <= 2 and r["output"] == "inline" for r in stored)
    # the chain's second turn edits the first turn's output, through its own batches
    turn2 = [r for r in rows if r["turn"] == 2]
    assert turn2 and turn2[-1]["status"] == "ok" and summary.chains == summary.chains_complete == 1
    pairs = list(select_preference(store, active_policy(store)))
    assert len(pairs) == 1 and pairs[0].chosen.attempt_no == 2
    # Batch bills half: 5 edited images and 5 judgments at half price; writer and rewriter (online) in full
    assert summary.batch["cost_usd"] == pytest.approx((5 * IMAGE_COST + 5 * TEXT_COST) / 2)
    online = len(fake.calls("writer")) + len(fake.calls("rewriter"))
    assert summary.cost_usd == pytest.approx(summary.batch["cost_usd"] + online * TEXT_COST)
    assert summary.batch["requests"] == 11 and summary.batch["batches"] == {"editor ingested": 4,
                                                                            "judge ingested": 3}
    store.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # the key never reaches the workspace
    files = [f for f in (tmp_path / "ws").rglob("*") if f.is_file()]
    assert any(f.name.endswith(".sqlite") for f in files)
    assert all(api_key.encode() not in f.read_bytes() for f in files)


def test_item_failures_become_attempt_statuses_like_online(store, fake):
    sources = add_sources(store, 4)
    fake.script("editor", "prompt_blocked", "bad_request", "text_only", "ok")
    fake.script("judge", "truncated")
    job = create_job(store, _spec(fake, batch=BatchSettings(poll_s=0.01, max_requests=10), source_ids=sources,
                                  attempts=1))
    summary = run_job(store, job)
    rows = {r["edit"]: r for r in _attempts(store, job)}
    by_status = sorted((r["status"], r["failure_reason"] or "") for r in rows.values())
    assert [s for s, _ in by_status] == ["api_error", "blocked", "no_image", "ok"]
    reasons = dict(by_status)
    assert reasons["blocked"] == "prompt blocked: SAFETY"
    assert reasons["api_error"].startswith("editor: batch item failed: Request contains an invalid argument")
    assert reasons["no_image"].startswith("no image (STOP): I can't edit this image.")
    assert reasons["ok"].startswith("not judged: judge:") and "truncated JSON" in reasons["ok"]
    assert summary.failed == 4 and fake.violations == []


def test_file_results_and_an_expired_batch_that_is_retried_next_round(store, fake):
    sources = add_sources(store, 2)
    # editor batch 1 answers as a JSONL file; batch 2 expires; the judge batch answers as a file too
    fake.script_batches("file", "expired", "file")
    job = create_job(store, _spec(fake, batch=BatchSettings(poll_s=0.01, max_requests=1), source_ids=sources))
    summary = run_job(store, job)
    rows = sorted(_attempts(store, job), key=lambda r: (r["edit"], r["attempt_no"]))  # plan order
    assert [(r["attempt_no"], r["status"]) for r in rows] == [(1, "ok"), (1, "api_error"), (2, "ok")]
    assert rows[1]["failure_reason"] == "editor batch batches/fake2 ended JOB_STATE_EXPIRED"
    stored = store.query("SELECT role, state, service_state, output FROM gemini_batches ORDER BY id")
    assert [tuple(r) for r in stored][:3] == [("editor", "ingested", "JOB_STATE_SUCCEEDED", "file"),
                                              ("editor", "failed", "JOB_STATE_EXPIRED", None),
                                              ("judge", "ingested", "JOB_STATE_SUCCEEDED", "file")]
    assert summary.kept == 2 and fake.files and fake.violations == []


def test_a_batch_is_cut_by_its_inline_size_too(store, fake):
    sources = add_sources(store, 3)
    image_bytes = len(store.images.file_of(store.scalar("SELECT image_sha256 FROM sources LIMIT 1")).read_bytes())
    # room for the images of two edit requests (base64 included), not three; one judge request holds two images
    two = 2.5 * image_bytes * 4 / 3 / 2**20
    job = create_job(store, _spec(fake, batch=BatchSettings(poll_s=0.01, max_requests=10, max_inline_mb=two),
                                  source_ids=sources))
    assert run_job(store, job).kept == 3
    sizes = store.query("SELECT role, n_requests FROM gemini_batches ORDER BY id")
    assert [tuple(r) for r in sizes] == [("editor", 2), ("editor", 1)] + [("judge", 1)] * 3
    assert fake.violations == []


def test_only_the_judge_in_batch_and_a_non_batch_backend_is_refused(store, fake):
    sources = add_sources(store, 2)
    job = create_job(store, _spec(fake, batch=BatchSettings(roles=["judge"], poll_s=0.01), source_ids=sources))
    summary = run_job(store, job)
    assert summary.kept == 2
    assert _batched_requests(fake) == len(fake.calls("judge")) == 2 and len(fake.calls("editor")) == 2
    spec = _spec(fake, source_ids=sources)
    spec.roles["editor"] = RoleSettings(backend="fake")
    refused = create_job(store, spec)
    with pytest.raises(Exception, match="has no Batch mode"):
        run_job(store, refused)
    assert store.scalar("SELECT status FROM jobs WHERE id = ?", (refused,)) == "failed"


def _cli(ws, *args) -> list[str]:
    return [sys.executable, "-m", "picobanana", "-w", str(ws), *args]


def test_cli_generate_batch_then_jobs_shows_the_batches(tmp_path, fake, api_key):
    from click.testing import CliRunner

    from picobanana.cli.main import cli

    ws = tmp_path / "ws"
    with Store.open(ws) as store:
        add_sources(store, 2)
    result = CliRunner().invoke(cli, ["-w", str(ws), "generate", "--types", "1", "--backend", "all=gemini",
                                      "--backend-options", "all=" + json.dumps({"base_url": fake.url}),
                                      "--batch", "--batch-poll", "0.01", "--batch-size", "1"], env=WIDE)
    assert result.exit_code == 0, result.output
    assert "job 1: done" in result.output and "batch jobs editor ingested" in result.output
    assert api_key not in result.output and fake.violations == []
    assert len(fake.batches) == 4  # 2 editor + 2 judge batches of one request
    listed = CliRunner().invoke(cli, ["-w", str(ws), "jobs"], env=WIDE)
    assert listed.exit_code == 0 and "4 ingested" in listed.output
    refused = CliRunner().invoke(cli, ["-w", str(ws), "generate", "--batch-roles", "writer", "--dry-run"])
    assert refused.exit_code == 2 and "--batch: roles.0: Input should be 'editor' or 'judge'" in refused.output


@pytest.mark.parametrize("stage", ["editor", "judge"])
def test_kill_9_between_submit_and_ingest_then_resume_polls_the_stored_batches(tmp_path, fake, api_key, stage):
    ws = tmp_path / "ws"
    with Store.open(ws) as store:
        add_sources(store, 3)
    # "editor": the edit batches stay RUNNING until the job is dead. "judge": they finish at their 2nd poll,
    # 1.5 s after submission; the test then holds every later batch (the judge's) until the job is dead.
    fake.batch_pending_polls = 10**9 if stage == "editor" else 1
    options = json.dumps({"base_url": fake.url})
    env = dict(os.environ, GEMINI_API_KEY=api_key, **WIDE)
    proc = subprocess.Popen(_cli(ws, "generate", "--types", "1", "--backend", "all=gemini", "--backend-options",
                                 f"all={options}", "--batch", "--batch-poll", "0.05" if stage == "editor" else "1.5",
                                 "--batch-size", "2"), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    db = ws / "picobanana.sqlite"
    deadline = time.monotonic() + 60
    submitted: list = []
    polls_before: dict[str, int] = {}
    try:
        while time.monotonic() < deadline and not (len(submitted) == 2 and min(polls_before.values()) >= 1):
            time.sleep(0.05)
            if len(fake.batches) >= 2:  # both edit batches exist: the judge batches to come are held
                fake.batch_pending_polls = 10**9
            with sqlite3.connect(db) as conn:
                submitted = conn.execute("SELECT name, items FROM gemini_batches WHERE state = 'submitted' "
                                         "AND role = ?", (stage,)).fetchall()
            polls_before = {name: fake.batches[name]["polls"] for name, _ in submitted} or {"": 0}
        assert len(submitted) == 2 and min(polls_before.values()) >= 1, "killed before the batches"
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    with sqlite3.connect(db) as conn:
        running = conn.execute("SELECT key, output_sha256 FROM attempts WHERE status = 'running'").fetchall()
    keys = {k for _, items in submitted for k in json.loads(items)}
    assert {r[0] for r in running} == keys and len(keys) == 3
    assert all(bool(sha) == (stage == "judge") for _, sha in running)  # judged later = already edited
    sent = {role: len(fake.calls(role)) for role in ROLES}

    fake.batch_pending_polls = 0  # the service finishes while the job is down
    result = subprocess.run(_cli(ws, "resume", "1", "--force"), env=env, check=False, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("is still open: polling it") == 2
    resent = {role: len(fake.calls(role)) - sent[role] for role in ROLES}
    # nothing resubmitted: after the editor stage only the judge has work left; after the judge stage, nobody
    assert resent == {"writer": 0, "rewriter": 0, "editor": 0, "judge": 3 if stage == "editor" else 0}
    assert all(fake.batches[name]["polls"] > polls_before[name] for name, _ in submitted)
    with sqlite3.connect(db) as conn:
        attempts = conn.execute("SELECT key, status FROM attempts").fetchall()
        states = conn.execute("SELECT role, state FROM gemini_batches ORDER BY id").fetchall()
        status, summary = conn.execute("SELECT status, summary FROM jobs WHERE id = 1").fetchone()
        judged = conn.execute("SELECT COUNT(*) FROM judgments").fetchone()[0]
    assert sorted(k for k, _ in attempts) == sorted(keys) and all(s == "ok" for _, s in attempts)
    assert states == [("editor", "ingested")] * 2 + [("judge", "ingested")] * 2 and judged == 3
    assert status == "done" and json.loads(summary)["kept"] == 3 and fake.violations == []
    assert api_key not in result.stdout + result.stderr


def test_cancel_while_a_batch_runs_then_the_service_has_lost_it_on_resume(tmp_path, fake):
    import threading

    from picobanana.pipeline.jobs import cancel_job

    ws = tmp_path / "ws"
    with Store.open(ws) as store:
        sources = add_sources(store, 2)
    fake.batch_pending_polls = 10**9
    with Store.open(ws) as store:
        job = create_job(store, _spec(fake, source_ids=sources))
    done: list = []

    def run() -> None:
        with Store.open(ws) as own:
            done.append(run_job(own, job))

    thread = threading.Thread(target=run)
    thread.start()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not any(b["polls"] for b in fake.batches.values()):
        time.sleep(0.02)
    with Store.open(ws) as store:
        cancel_job(store, job)
    thread.join(30)
    assert done and done[0].status == "cancelled"
    with Store.open(ws) as store:
        assert store.scalar("SELECT COUNT(*) FROM gemini_batches WHERE state = 'submitted'") == 1
        assert store.scalar("SELECT COUNT(*) FROM attempts WHERE status = 'running'") == 2
    # The service has lost the batch (404): its attempts fail with the reason, the next round submits afresh.
    fake.batches.clear()
    fake.batch_pending_polls = 0
    with Store.open(ws) as store:
        summary = run_job(store, job)
        rows = sorted(_attempts(store, job), key=lambda r: (r["edit"], r["attempt_no"]))
        lost = store.query("SELECT state, error FROM gemini_batches ORDER BY id")[0]
    assert fake.violations == []
    assert summary.status == "done" and summary.kept == 2
    assert [(r["attempt_no"], r["status"]) for r in rows] == [(1, "api_error"), (2, "ok")] * 2
    assert lost["state"] == "failed" and "batches/fake1" in lost["error"] and "404" in lost["error"]
    assert rows[0]["failure_reason"] == lost["error"]
