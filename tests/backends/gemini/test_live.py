"""A 3-image job against the real Gemini API. Skipped unless GEMINI_API_KEY is set (costs a few cents)."""

from __future__ import annotations

import os

import pytest
from pipeline.pipeline_helpers import add_sources

from picobanana.pipeline import JobSpec, create_job, run_job
from picobanana.pipeline.spec import EditMix, RoleSettings

pytestmark = [pytest.mark.live,
              pytest.mark.skipif(not os.environ.get("GEMINI_API_KEY"), reason="GEMINI_API_KEY is not set")]


def test_three_image_job_end_to_end(store):
    add_sources(store, 3)
    options = {"preset": os.environ.get("PICOBANANA_GEMINI_PRESET", "current")}
    roles = {r: RoleSettings(backend="gemini", options=options, concurrency=2, timeout_s=180)
             for r in ("writer", "rewriter", "editor", "judge")}
    job = create_job(store, JobSpec(mix=EditMix(type_ids=[1]), roles=roles, attempts=2))
    summary = run_job(store, job)
    rows = store.query("SELECT status, model_version FROM attempts")
    assert len(rows) >= 3 and summary.failed + summary.kept == 3
    assert any(r["status"] == "ok" and r["model_version"] for r in rows)
