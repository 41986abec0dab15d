"""A 3-image job end to end against real `vllm serve` / vllm-omni services. Skipped unless PICOBANANA_VLLM_URL
is set. PICOBANANA_VLLM_URL serves the vision-language model (writer + judge); PICOBANANA_VLLM_REWRITER_URL and
PICOBANANA_VLLM_EDITOR_URL default to it. Model names: PICOBANANA_VLLM_{WRITER,REWRITER,EDITOR,JUDGE}_MODEL
(defaults: the --served-model-name values in the README: judge, rewriter, editor)."""

from __future__ import annotations

import os

import pytest
from pipeline.pipeline_helpers import add_sources

from picobanana.pipeline import JobSpec, create_job, run_job
from picobanana.pipeline.spec import EditMix, RoleSettings

URL = os.environ.get("PICOBANANA_VLLM_URL")
pytestmark = [pytest.mark.live, pytest.mark.skipif(not URL, reason="PICOBANANA_VLLM_URL is not set")]


def test_a_three_image_job_runs_end_to_end(store):
    urls = {"writer": URL, "judge": URL, "rewriter": os.environ.get("PICOBANANA_VLLM_REWRITER_URL", URL),
            "editor": os.environ.get("PICOBANANA_VLLM_EDITOR_URL", URL)}
    defaults = {"writer": "judge", "judge": "judge", "rewriter": "rewriter", "editor": "editor"}
    roles = {role: RoleSettings(backend="vllm", concurrency=2, timeout_s=600, options={
        "base_url": urls[role], "model": os.environ.get(f"PICOBANANA_VLLM_{role.upper()}_MODEL", defaults[role])})
        for role in urls}
    add_sources(store, 3)
    job = create_job(store, JobSpec(mix=EditMix(type_ids=[1]), roles=roles, attempts=1))
    summary = run_job(store, job)
    assert summary.status == "done" and summary.items == 3
    # Every item ended in a recorded final state (a real VLM may call a tiny synthetic photo ineligible).
    assert summary.kept + summary.failed + sum(summary.skipped.values()) == 3, summary.as_dict()
    assert store.scalar("SELECT COUNT(*) FROM attempts WHERE status IN ('pending', 'running')") == 0
