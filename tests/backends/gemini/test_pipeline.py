"""The whole pipeline with every role = gemini, through the SDK, against the wire-level fake."""

from __future__ import annotations

import logging

from pipeline.pipeline_helpers import add_sources

from picobanana.backends.gemini.prompts import PROMPT_VERSION
from picobanana.io.export.selection import select_preference, select_sft
from picobanana.pipeline import JobSpec, create_job, run_job
from picobanana.pipeline.spec import EditMix, RoleSettings
from picobanana.store import active_policy


def _spec(fake, **extra) -> JobSpec:
    roles = {r: RoleSettings(backend="gemini", options={"base_url": fake.url, "timeout_s": 5}, concurrency=1,
                             timeout_s=10) for r in ("writer", "rewriter", "editor", "judge")}
    return JobSpec(mix=EditMix(type_ids=[1]), roles=roles, backoff_base_s=0.0, **extra)


def _attempts(store, job_id):
    return store.query("SELECT a.* FROM attempts a JOIN edits e ON e.id = a.edit_id WHERE e.job_id = ? "
                       "ORDER BY a.edit_id, a.attempt_no", (job_id,))


def test_a_gemini_job_keeps_edits_pairs_preferences_and_never_stores_the_key(store, fake, api_key, caplog,
                                                                           tmp_path):
    caplog.set_level(logging.DEBUG)
    first, second = add_sources(store, 2)
    # job 1: judged fail, then pass → a preference pair
    fake.script("judge", 0.2, 0.9)
    job1 = create_job(store, _spec(fake, source_ids=[first]))
    summary = run_job(store, job1)
    assert summary.kept == 1 and summary.failed == 0
    # job 2: output blocked, then 429 + 503 (retried by the runner, same attempt) → pass
    fake.script("editor", "image_safety", "rate_limited", "overloaded")
    job2 = create_job(store, _spec(fake, source_ids=[second]))
    summary = run_job(store, job2)
    assert summary.kept == 1 and summary.failed == 0
    assert fake.violations == []
    rows = _attempts(store, job1) + _attempts(store, job2)
    assert [(r["attempt_no"], r["status"]) for r in rows] == [(1, "ok"), (2, "ok"), (1, "blocked"), (2, "ok")]
    assert rows[2]["failure_reason"] == "output blocked: IMAGE_SAFETY"
    ok = [r for r in rows if r["status"] == "ok"]
    assert all(r["model_version"] == "gemini-3.1-flash-image-fake-001" for r in ok)
    assert all(r["prompt_version"] == PROMPT_VERSION for r in rows)
    assert all(r["output_sha256"] for r in ok)
    policy = active_policy(store)
    pairs = list(select_preference(store, policy))
    assert len(pairs) == 1 and pairs[0].chosen.attempt_no == 2
    assert len(list(select_sft(store, policy))) == 2
    judged = store.query("SELECT judge_model, judge_model_version, prompt_version FROM judgments")
    assert {tuple(r) for r in judged} == {("gemini-3.1-pro-preview", "gemini-3.1-pro-preview-fake-001",
                                           PROMPT_VERSION)}
    assert len(fake.calls("editor")) == 6  # 4 attempts + the 429 and 503 retried by the runner
    store.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    needle, scanned = api_key.encode(), []
    for path in (tmp_path / "ws").rglob("*"):
        if path.is_file():
            assert needle not in path.read_bytes(), path
            scanned.append(path.name)
    assert any(name.endswith((".db", ".sqlite", ".sqlite3")) for name in scanned), scanned
    assert api_key not in caplog.text and fake.requests and all(r["key_sent"] for r in fake.requests)


def test_cli_generate_with_the_gemini_backend_including_a_chain(tmp_path, fake, api_key):
    import json

    from click.testing import CliRunner
    from pipeline.pipeline_helpers import add_sources as add

    from picobanana.cli.main import cli
    from picobanana.store import Store

    ws = tmp_path / "ws"
    with Store.open(ws) as store:
        add(store, 2)
    result = CliRunner().invoke(cli, ["-w", str(ws), "generate", "--types", "1", "--backend", "all=gemini",
                                      "--backend-options", "all=" + json.dumps({"base_url": fake.url}),
                                      "--chains", "1", "--chain-turns", "2"])
    assert result.exit_code == 0, result.output
    assert "job 1: done" in result.output and api_key not in result.output
    assert fake.violations == [] and len(fake.calls("editor")) >= 3  # 2 single-turn items + 2 chain turns
    with Store.open(ws) as store:
        assert store.scalar("SELECT COUNT(*) FROM attempts WHERE status = 'ok'") >= 3
