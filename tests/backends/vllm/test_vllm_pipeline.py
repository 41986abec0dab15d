"""The whole pipeline with every role = vllm, against the loopback fake: kept edits, preference pairs, failures
injected at the wire (429 / 503 / malformed JSON / no image / content policy) all end in recorded final states."""

from __future__ import annotations

import io

from PIL import Image
from pipeline.pipeline_helpers import add_sources

from picobanana.backends.vllm.prompts import PROMPT_VERSION
from picobanana.io.export.selection import select_preference, select_sft
from picobanana.pipeline import JobSpec, create_job, run_job
from picobanana.pipeline.spec import EditMix, RoleSettings
from picobanana.store import active_policy

MODELS = {"writer": "judge", "rewriter": "rewriter", "editor": "editor", "judge": "judge"}


def _spec(url: str, types=(1,), concurrency: int = 1, **extra) -> JobSpec:
    roles = {role: RoleSettings(backend="vllm", concurrency=concurrency, timeout_s=10,
                                options={"base_url": url, "model": MODELS[role]}) for role in MODELS}
    return JobSpec(mix=EditMix(type_ids=list(types)), roles=roles, backoff_base_s=0.0, **extra)


def _attempts(store, job_id):
    return store.query("SELECT a.*, j.prompt_version AS judge_prompt, j.judge_model FROM attempts a "
                       "JOIN edits e ON e.id = a.edit_id LEFT JOIN judgments j ON j.attempt_id = a.id "
                       "WHERE e.job_id = ? ORDER BY a.edit_id, a.attempt_no", (job_id,))


def test_all_roles_vllm_end_to_end_keeps_edits_and_forms_a_preference_pair(store, server):
    add_sources(store, 3)
    server.script("judge", [0.2, 0.9])  # item 1: attempt 1 fails the judge, attempt 2 passes → a pair
    job = create_job(store, _spec(server.url))
    summary = run_job(store, job)
    assert summary.kept == 3 and summary.failed == 0, summary.as_dict()
    rows = _attempts(store, job)
    assert [r["attempt_no"] for r in rows] == [1, 2, 1, 1]
    for row in rows:
        assert row["status"] == "ok" and row["backend"] == "vllm" and row["model"] == "editor"
        assert row["prompt_version"] == PROMPT_VERSION and row["judge_prompt"] == PROMPT_VERSION
        assert row["judge_model"] == "judge" and row["short_instruction"] and row["instruction"]
        edited = store.images.file_of(row["output_sha256"])
        assert Image.open(io.BytesIO(edited.read_bytes())).size == (48, 48)
    assert len({r["output_sha256"] for r in rows}) == 4  # real, different edits
    policy = active_policy(store)
    pairs = list(select_preference(store, policy))
    assert len(pairs) == 1 and pairs[0].chosen.attempt_no == 2 and [a.attempt_no for a in pairs[0].rejected] == [1]
    assert len(list(select_sft(store, policy))) == 3
    roles_seen = {r["role"] for r in server.requests}
    assert roles_seen == {"writer", "rewriter", "editor", "judge"}


def test_wire_failures_are_retried_slowed_down_or_recorded_and_never_crash_the_job(store, server):
    add_sources(store, 2)
    server.retry_after = "0"
    server.script("writer", ["malformed", "503"])           # transient: retried within the call
    server.script("rewriter", ["429", "429"])               # rate limited: the backend slows down, then retries
    server.script("editor", ["blocked", "empty", "503"])    # two failed attempts, then ok after a retry
    server.script("judge", ["truncated"])
    job = create_job(store, _spec(server.url, call_retries=2))
    summary = run_job(store, job)
    rows = _attempts(store, job)
    # Items run concurrently across roles, so which item got which scripted failure is not fixed.
    assert sorted(r["status"] for r in rows) == ["blocked", "no_image", "ok", "ok"]
    reasons = {r["status"]: r["failure_reason"] for r in rows}
    assert "content policy" in reasons["blocked"] and "no image" in reasons["no_image"]
    assert server.counts[("judge", "truncated")] == 1 and server.counts[("writer", "malformed")] == 1
    assert summary.kept == 2 and summary.rate_limited >= 2 and summary.status == "done"


def test_a_permanently_broken_judge_fails_attempts_with_the_reason(store, server):
    add_sources(store, 1)
    server.script("judge", ["malformed"] * 20)
    job = create_job(store, _spec(server.url, call_retries=1, attempts=2))
    summary = run_job(store, job)
    assert summary.status == "done" and summary.kept == 0
    rows = _attempts(store, job)
    # The image is kept unjudged (not a pair side), with the judge's reason after the bounded retries.
    assert len(rows) == 2 and all(r["status"] == "ok" and r["output_sha256"] for r in rows)
    assert all(r["failure_reason"].startswith("not judged: judge: vllm judge: invalid JSON reply") for r in rows)
    assert all("(after 2 tries)" in r["failure_reason"] for r in rows)
    assert store.scalar("SELECT COUNT(*) FROM judgments") == 0
