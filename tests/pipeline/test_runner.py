"""The runner with the fake backend at the protocol level: retries, pairing, failures, limits, cost."""

from __future__ import annotations

import asyncio
import time

import pytest
from pipeline.pipeline_helpers import add_sources, fakes

from picobanana.io.export.selection import select_multi_turn, select_preference, select_sft
from picobanana.pipeline import JobSpec, create_job, get_job, run_job
from picobanana.pipeline.cost import estimate
from picobanana.pipeline.plan import build_plan
from picobanana.pipeline.runner import run_job_async
from picobanana.pipeline.spec import EditMix, Price, RoleSettings
from picobanana.store import Store, active_policy


def _spec(types=(1,), concurrency=1, **extra) -> JobSpec:
    roles = {r: RoleSettings(backend="fake", concurrency=concurrency, timeout_s=5) for r in ("writer", "rewriter", "editor", "judge")}
    return JobSpec(mix=EditMix(type_ids=list(types)), roles=roles, backoff_base_s=0.0, **extra)


def _attempts(store, job_id):
    return store.query("SELECT a.* FROM attempts a JOIN edits e ON e.id = a.edit_id WHERE e.job_id = ? "
                       "ORDER BY a.edit_id, a.attempt_no", (job_id,))


def test_failed_attempts_retry_with_fresh_seeds_and_form_a_preference_pair(store):
    add_sources(store, 1)
    backends = fakes(judge={"script": [0.2, 0.3, 0.9]})
    job = create_job(store, _spec())
    summary = run_job(store, job, backends)
    rows = _attempts(store, job)
    assert [r["attempt_no"] for r in rows] == [1, 2, 3]
    assert [r["key"] for r in rows] == [f"job{job}:src1:t1#a{n}" for n in (1, 2, 3)]
    seeds = [req.seed for req in backends.writer.requests]
    assert len(set(seeds)) == 3  # a fresh instruction sample per attempt
    assert len({r["instruction"] for r in rows}) == 3
    assert all(r["status"] == "ok" and r["output_sha256"] for r in rows)
    assert summary.kept == 1 and summary.failed == 0 and summary.attempts == {"judged_fail": 2, "ok": 1}
    policy = active_policy(store)
    pairs = list(select_preference(store, policy))
    assert len(pairs) == 1
    assert pairs[0].chosen.attempt_no == 3 and [a.attempt_no for a in pairs[0].rejected] == [1, 2]
    assert [item.attempt.attempt_no for item in select_sft(store, policy)] == [3]


def test_all_fail_edits_are_kept_for_audit_and_excluded_from_splits(store):
    add_sources(store, 1)
    job = create_job(store, _spec())
    summary = run_job(store, job, fakes(judge={"script": [0.1, 0.1, 0.1]}))
    rows = _attempts(store, job)
    assert len(rows) == 3 and all(r["output_sha256"] for r in rows)
    assert {r["failure_reason"] for r in rows} == {"judged below the policy threshold"}
    assert summary.kept == 0 and summary.failed == 1
    policy = active_policy(store)
    assert list(select_sft(store, policy)) == [] and list(select_preference(store, policy)) == []
    assert get_job(store, job).status == "done" and get_job(store, job).failed == 1


def test_ineligible_item_is_skipped_with_the_reason_and_no_attempt(store):
    add_sources(store, 2)
    job = create_job(store, _spec(types=(1, 2)))
    summary = run_job(store, job, fakes(writer={"ineligible_types": {2: "no person in the image"}}))
    assert summary.skipped == {"no person in the image": 2}
    assert summary.kept == 2
    skipped = store.query("SELECT e.key, (SELECT COUNT(*) FROM attempts a WHERE a.edit_id = e.id) AS n "
                          "FROM edits e WHERE e.skip_reason IS NOT NULL ORDER BY e.key")
    assert [(r["key"], r["n"]) for r in skipped] == [(f"job{job}:src1:t2", 0), (f"job{job}:src2:t2", 0)]


def test_typed_editor_failures_are_recorded_and_retried(store):
    add_sources(store, 1)
    job = create_job(store, _spec(call_retries=0))
    summary = run_job(store, job, fakes(editor={"script": ["blocked", "permanent", "no_image"]}))
    rows = _attempts(store, job)
    assert [r["status"] for r in rows] == ["blocked", "api_error", "no_image"]
    assert rows[0]["failure_reason"] == "fake blocked"
    assert rows[1]["failure_reason"] == "editor: fake 400 bad request"
    assert all(r["output_sha256"] is None for r in rows)
    assert summary.failed == 1 and summary.failure_reasons["fake blocked"] == 1


def test_unsupported_is_not_retried(store):
    add_sources(store, 1)
    job = create_job(store, _spec())
    run_job(store, job, fakes(editor={"script": ["unsupported"]}))
    assert [r["status"] for r in _attempts(store, job)] == ["unsupported"]


def test_transient_errors_retry_the_same_call_then_fail_the_attempt(store):
    add_sources(store, 2)
    # Item 1: two 503s then success within one attempt. Item 2: 503 × 3 with 2 call retries → api_error.
    job = create_job(store, _spec(types=(1,), call_retries=2))
    backends = fakes(editor={"script": ["transient", "transient", "ok", "transient", "transient", "transient"]})
    run_job(store, job, backends)
    rows = _attempts(store, job)
    assert [r["status"] for r in rows] == ["ok", "api_error", "ok"]
    assert rows[1]["failure_reason"] == "editor: fake 503 (after 3 tries)"


def test_a_call_that_hangs_times_out(store):
    add_sources(store, 1)
    spec = _spec(call_retries=0)
    spec.roles["editor"].timeout_s = 0.05
    job = create_job(store, spec)
    started = time.perf_counter()
    run_job(store, job, fakes(editor={"script": ["hang"]}))
    rows = _attempts(store, job)
    assert rows[0]["status"] == "timeout" and "no answer within 0.05 s" in rows[0]["failure_reason"]
    assert rows[1]["status"] == "ok"
    assert time.perf_counter() - started < 5


def test_rate_limit_pauses_the_backend_honours_retry_after_and_retries(store):
    add_sources(store, 1)
    job = create_job(store, _spec(types=(1, 2)))
    backends = fakes(editor={"script": ["rate_limited"], "retry_after": 0.4})
    started = time.perf_counter()
    summary = run_job(store, job, backends)
    assert time.perf_counter() - started >= 0.4
    assert summary.rate_limited == 1 and summary.kept == 2
    assert [r["status"] for r in _attempts(store, job)] == ["ok", "ok"]  # the call was retried, not failed
    assert backends.editor.calls == 3


def test_rate_limit_retries_are_bounded(store):
    add_sources(store, 1)
    job = create_job(store, _spec(rate_limit_retries=2))
    run_job(store, job, fakes(editor={"script": ["rate_limited"] * 3, "retry_after": 0.0}))
    row = _attempts(store, job)[0]
    assert row["status"] == "api_error" and "rate limited 3 times" in row["failure_reason"]


def test_cost_per_attempt_from_usage_and_price_table_and_estimate(store):
    add_sources(store, 2)
    spec = _spec(prices={"fake": Price(per_image=0.04, input_per_mtok=1.0)})
    spec.roles["editor"].expected_images = 1
    job = create_job(store, spec)
    summary = run_job(store, job, fakes(editor={"usage": {"images_out": 1}}, judge={"script": [0.1],
                                                                                     "usage": {"input_tokens": 1000}}))
    costs = [r["cost_usd"] for r in _attempts(store, job)]
    assert costs == pytest.approx([0.041, 0.041, 0.041])  # one image (0.04) + 1000 judge tokens (0.001)
    assert summary.cost_usd == pytest.approx(0.123)
    plan = build_plan(store, spec)
    est = estimate(spec, plan.items)
    assert est.items == 2 and est.usd_per_attempt == pytest.approx(0.04)
    assert est.usd_min == pytest.approx(0.08) and est.usd_max == pytest.approx(0.24)
    assert est.usd_min <= est.usd_expected <= est.usd_max


def test_local_backends_cost_nothing(store):
    add_sources(store, 1)
    job = create_job(store, _spec())
    assert run_job(store, job, fakes(editor={"usage": {"images_out": 1}})).cost_usd == 0.0


def test_cancel_stops_between_items_and_keeps_finished_work(store, tmp_path):
    add_sources(store, 3)
    spec = _spec(types=(1, 2, 3, 4))
    job = create_job(store, spec)
    backends = fakes(editor={"latency_s": 0.1})

    async def cancel_soon():
        await asyncio.sleep(0.25)
        from picobanana.pipeline import cancel_job

        with Store.open(store.workspace) as other:  # another process would do this: its own connection
            cancel_job(other, job)

    async def both():
        return (await asyncio.gather(run_job_async(store, job, backends), cancel_soon()))[0]

    summary = asyncio.run(both())
    rows = _attempts(store, job)
    assert summary.status == "cancelled" and get_job(store, job).status == "cancelled"
    assert 0 < len(rows) < 12
    assert all(r["status"] == "ok" for r in rows)  # nothing left half-done


def test_chains_pass_history_and_are_kept_only_when_every_turn_passes(store):
    add_sources(store, 2)
    spec = _spec(types=(1, 2, 3))
    spec.chains.n_chains, spec.chains.min_turns, spec.chains.max_turns = 2, 3, 3
    job = create_job(store, spec)
    backends = fakes()
    summary = run_job(store, job, backends)
    assert summary.chains == 2 and summary.chains_complete == 2
    chains = list(select_multi_turn(store, active_policy(store)))
    assert len(chains) == 2 and all(len(c.turns) == 3 for c in chains)
    for chain in chains:
        turn1, turn2, turn3 = chain.turns
        request = next(r for r in backends.writer.requests if r.history and len(r.history) == 2
                       and r.history[1].instruction == turn2.instruction)
        assert [t.instruction for t in request.history] == [turn1.instruction, turn2.instruction]
        assert f"after '{turn2.instruction}'" in turn3.instruction  # the writer saw the history
        # Each turn edits the previous turn's output.
        assert request.image == store.images.file_of(turn2.output_sha256).read_bytes()
    # the single-turn edits stay in SFT
    assert len(list(select_sft(store, active_policy(store)))) == 6


def test_a_chain_whose_turn_fails_is_not_exported(store):
    add_sources(store, 1)
    spec = _spec(types=(1, 2), attempts=1)
    spec.chains.n_chains, spec.chains.min_turns, spec.chains.max_turns = 1, 2, 2
    job = create_job(store, spec)
    # Two single-turn items pass; the chain's turn 2 (third judge call) fails its only attempt.
    summary = run_job(store, job, fakes(judge={"script": [0.9, 0.9, 0.1]}))
    assert summary.chains == 1 and summary.chains_complete == 0
    assert list(select_multi_turn(store, active_policy(store))) == []
    turn2 = store.query("SELECT a.status, a.failure_reason FROM attempts a JOIN edits e ON e.id = a.edit_id "
                        "WHERE e.chain_id IS NOT NULL AND e.turn = 2")
    assert [(r["status"], r["failure_reason"]) for r in turn2] == [("ok", "judged below the policy threshold")]


def test_release_and_category_mixes_plan_distinct_items(store):
    add_sources(store, 5)
    spec = JobSpec(mix=EditMix(kind="release", total=40), seed=7)
    plan = build_plan(store, spec)
    assert len(plan.items) == 40 and len(set(plan.items)) == 40
    assert build_plan(store, spec).items == plan.items  # deterministic
    quotas = build_plan(store, JobSpec(mix=EditMix(kind="categories", category_quotas={5: 3, 6: 2})))
    from picobanana.taxonomy import edit_type_by_id

    categories = sorted(edit_type_by_id(t).category.id for _, t in quotas.items)
    assert categories == [5, 5, 5, 6, 6]
    counts = build_plan(store, JobSpec(mix=EditMix(kind="counts", counts={3: 2, 4: 9})))
    assert len(counts.items) == 7 and counts.shortfall == 4


def test_writer_and_judge_failures_are_recorded_with_reasons(store):
    add_sources(store, 1)
    job = create_job(store, _spec(call_retries=0))
    run_job(store, job, fakes(writer={"script": ["permanent"]}, judge={"script": ["transient"]}))
    rows = _attempts(store, job)
    assert (rows[0]["status"], rows[0]["failure_reason"]) == ("api_error", "writer: fake 400 bad request")
    # The judge failed: the image is kept unjudged (verdict pending, not a pair side) and the edit retried.
    assert rows[1]["status"] == "ok" and rows[1]["output_sha256"]
    assert rows[1]["failure_reason"].startswith("not judged: judge: fake 503")
    assert store.scalar("SELECT COUNT(*) FROM judgments WHERE attempt_id = ?", (rows[1]["id"],)) == 0
    assert rows[2]["status"] == "ok" and len(rows) == 3


def test_requests_per_minute_are_limited(store):
    add_sources(store, 15)
    spec = _spec(concurrency=8)
    spec.roles["writer"].rpm = 600  # 10 per second, bursts of 10
    job = create_job(store, spec)
    started = time.perf_counter()
    run_job(store, job, fakes())
    assert time.perf_counter() - started >= 0.45  # 15 calls: 10 at once, then 5 at 10/s


def test_backoff_grows_exponentially_with_jitter_and_a_cap():
    import random

    from picobanana.pipeline.limits import backoff_delay

    rng = random.Random(1)
    delays = [backoff_delay(k, 1.0, 60.0, rng) for k in range(8)]
    for k, d in enumerate(delays):
        assert 0.5 * min(60, 2 ** k) <= d <= 1.5 * min(60, 2 ** k)
    assert len({round(backoff_delay(3, 1.0, 60.0, rng), 6) for _ in range(5)}) == 5  # jittered


def test_a_given_policy_decides_the_verdict(store):
    from picobanana.store import Policy, save_policy

    save_policy(store, Policy(name="lenient", threshold=0.3), created_by="t")
    add_sources(store, 1)
    job = create_job(store, _spec(policy="lenient"))
    summary = run_job(store, job, fakes(judge={"script": [0.4]}))
    assert summary.kept == 1 and len(_attempts(store, job)) == 1  # 0.4 passes 0.3: no retry


def test_a_rate_limit_signal_pauses_every_role_sharing_the_backend():
    from picobanana.pipeline.limits import BackendGate

    async def scenario():
        gate = BackendGate("svc")
        gate.slow_down(0.3)  # e.g. the editor got a 429 with retry_after = 0.3
        started = time.perf_counter()
        await asyncio.gather(gate.wait(), gate.wait())  # the writer and the judge of the same service
        return time.perf_counter() - started, gate.rate_factor

    waited, factor = asyncio.run(scenario())
    assert waited >= 0.29 and factor == 0.5


def test_running_a_finished_job_again_adds_nothing(store):
    add_sources(store, 2)
    spec = _spec(types=(1, 2))
    spec.chains.n_chains, spec.chains.min_turns, spec.chains.max_turns = 2, 3, 4
    job = create_job(store, spec)
    first = run_job(store, job, fakes(judge={"script": [0.1, 0.9, 0.1]}))
    snapshot = store.query("SELECT key, id, status, output_sha256, rev FROM attempts ORDER BY id")
    again = run_job(store, job, fakes(judge={"script": [0.1, 0.9, 0.1]}))
    assert [tuple(r) for r in store.query("SELECT key, id, status, output_sha256, rev FROM attempts ORDER BY id")] \
        == [tuple(r) for r in snapshot]
    assert (again.kept, again.failed, again.chains, again.attempts) == (first.kept, first.failed, first.chains,
                                                                       first.attempts)


def test_a_chain_may_go_on_past_a_failed_turn_when_configured(store):
    add_sources(store, 1)
    spec = _spec(types=(1, 2), attempts=1)
    spec.chains.n_chains, spec.chains.min_turns, spec.chains.max_turns = 1, 3, 3
    spec.chains.keep_chain_only_if_all_pass = False
    job = create_job(store, spec)
    run_job(store, job, fakes(judge={"script": [0.9, 0.9, 0.1, 0.9]}))
    turns = store.query("SELECT e.turn, e.parent_attempt_id, a.id, a.output_sha256 FROM edits e "
                        "JOIN attempts a ON a.edit_id = e.id WHERE e.chain_id IS NOT NULL ORDER BY e.turn")
    assert [t["turn"] for t in turns] == [1, 2, 3]
    assert turns[2]["parent_attempt_id"] == turns[1]["id"]  # turn 3 continued from turn 2's (failed) image
    assert list(select_multi_turn(store, active_policy(store))) == []  # still not a fully kept chain


def test_sources_added_after_a_job_started_do_not_join_it(store):
    add_sources(store, 1)
    job = create_job(store, _spec())
    from pipeline.pipeline_helpers import png

    from picobanana.store.writes import NewSource, ensure_sources

    with store.transaction() as rev:
        ensure_sources(store, [NewSource(uri="file:///late.png", origin="ingest",
                                         image_sha256=store.images.put_bytes(png(99)).sha256)], rev)
    assert run_job(store, job, fakes()).items == 1
