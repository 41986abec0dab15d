"""A job's failures grouped by reason: attempt statuses, judged failures, skipped edits; one job at a time."""

from __future__ import annotations

import pytest
from pipeline.pipeline_helpers import add_sources, fakes

from picobanana.curation.failures import job_failures, reason_head
from picobanana.pipeline import jobs
from picobanana.pipeline.runner import run_job
from picobanana.pipeline.spec import EditMix, JobSpec, RoleSettings
from picobanana.store import Store, record_review

NO_PERSON = "no person in the image"


@pytest.fixture
def store(tmp_path):
    with Store.open(tmp_path / "ws") as opened:
        yield opened


def _job(store, sources, types, **backends) -> int:
    spec = JobSpec(source_ids=sources, mix=EditMix(kind="each", type_ids=types), attempts=3,
                   roles={r: RoleSettings(backend="fake", concurrency=1) for r in ("writer", "rewriter", "editor",
                                                                                     "judge")})
    job_id = jobs.create_job(store, spec)
    run_job(store, job_id, backends=fakes(**backends))
    return job_id


def test_failures_are_grouped_by_status_and_reason_with_examples(store):
    sources = add_sources(store, 3)
    job_id = _job(store, sources, [1, 2, 20], writer={"ineligible_types": {20: NO_PERSON}},
                  editor={"script": ["no_image"] * 4 + ["blocked"] * 2}, judge={"script": [0.1, 0.1]})
    groups = job_failures(store, job_id, examples=2)
    by_status = {g.status: g for g in groups}
    assert {s: g.count for s, g in by_status.items()} == {"no_image": 4, "blocked": 2, "judged_fail": 2,
                                                          "skipped": 3}
    assert [g.count for g in groups] == sorted((g.count for g in groups), reverse=True)
    assert by_status["skipped"].reason == NO_PERSON
    assert all(e.attempt_id is None and e.edit_type.startswith("Add/Remove/Replace Accessories")
               for e in by_status["skipped"].examples)
    assert by_status["judged_fail"].reason == "judged below the policy threshold"
    for group in groups:
        assert 1 <= len(group.examples) <= 2
        for example in group.examples:
            assert example.source_id in sources and example.reason
            if example.attempt_id is not None:
                key = store.scalar("SELECT key FROM attempts WHERE id = ?", (example.attempt_id,))
                assert key.startswith(f"job{job_id}:")


def test_a_curator_failing_a_kept_attempt_makes_it_a_failure_and_other_jobs_stay_apart(store):
    sources = add_sources(store, 2)
    first = _job(store, sources, [1])
    second = _job(store, sources, [2], editor={"script": ["api_error"]})
    assert job_failures(store, first) == []
    kept = store.scalar("SELECT a.id FROM attempts a WHERE a.key LIKE ? ORDER BY a.id LIMIT 1", (f"job{first}:%",))
    record_review(store, kept, "fail", curator="alice", reason="face distorted")
    [group] = job_failures(store, first)
    assert (group.status, group.count, group.examples[0].attempt_id) == ("judged_fail", 1, kept)
    assert [g.status for g in job_failures(store, second)] == ["api_error"]


def test_reason_heads_drop_per_call_details():
    assert reason_head("editor: HTTP 503 (after 4 tries)", "api_error") == "editor: HTTP 503"
    assert reason_head(None, "no_image") == "no_image"
    assert len(reason_head("x" * 500, "error")) == 120
