"""Multi-turn chains: extend kept single-turn edits of a job by 1–4 more edit types (2–5 turns in all).

Turn 1 of chain k is a copy of a kept single-turn attempt (its own edit and attempt rows, so the chain is a
self-contained record like a released multi-turn line, and the single-turn edit stays in the SFT split).
Each later turn's instruction is written from the current image AND the history of earlier turns (so a
writer can say "make it red" after "add a hat"), edits the previous turn's kept output, and is judged with
the usual retries. A turn that fails every attempt ends the chain when `keep_chain_only_if_all_pass`
(the chain then stays incomplete: kept for audit, never exported); otherwise the chain goes on from that
turn's last image. Which starts and types are chosen is seeded, so a resumed job makes the same chains.
"""

from __future__ import annotations

import random
from typing import TYPE_CHECKING

from picobanana.backends.base import Turn
from picobanana.pipeline.keys import attempt_key, chain_edit_key, chain_key, seed_for
from picobanana.store.verdicts import effective_verdict_sql
from picobanana.store.writes import NewChain, ensure_chains
from picobanana.taxonomy import EDIT_TYPES, edit_type_by_id

if TYPE_CHECKING:
    from picobanana.pipeline.runner import Runner

_MAX_TYPE_TRIES = 3  # ineligible types drawn for one turn before the chain stops


def _kept_starts(runner: Runner) -> list[tuple]:
    verdict = effective_verdict_sql(runner.policy, "a", "j", "h")
    return runner.store.conn.execute(
        "SELECT a.id, e.source_id, a.edit_type_id, a.output_sha256, a.instruction FROM attempts a "
        "JOIN edits e ON e.id = a.edit_id LEFT JOIN judgments j ON j.attempt_id = a.id "
        "LEFT JOIN human_decisions h ON h.attempt_id = a.id "
        f"WHERE e.job_id = ? AND e.chain_id IS NULL AND a.output_sha256 IS NOT NULL AND {verdict} = 'keep' "
        "ORDER BY a.id", (runner.job_id,)).fetchall()


def _copy_turn_one(runner: Runner, k: int, start: tuple, n_turns: int) -> tuple[int, int]:
    """Chain row + turn-1 edit/attempt/judgment copied from the start attempt (idempotent)."""
    store, job_id = runner.store, runner.job_id
    attempt_id, source_id, type_id, _, _ = start
    ekey = chain_edit_key(job_id, k, 1)
    akey = attempt_key(ekey, 1)
    with store.transaction() as rev:
        chain_id = ensure_chains(store, [NewChain(key=chain_key(job_id, k), source_id=source_id, n_turns=n_turns,
                                                  origin="pipeline", job_id=job_id)], rev)[chain_key(job_id, k)]
        category = edit_type_by_id(type_id).category.id
        store.conn.execute(
            "INSERT OR IGNORE INTO edits (key, source_id, parent_attempt_id, chain_id, turn, edit_type_id, "
            "category_id, origin, job_id, created_at, rev) VALUES (?, ?, ?, ?, 1, ?, ?, 'pipeline', ?, "
            "strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), ?)", (ekey, source_id, attempt_id, chain_id, type_id, category,
                                                          job_id, rev))
        edit_id = store.scalar("SELECT id FROM edits WHERE key = ?", (ekey,))
        store.conn.execute(
            "INSERT OR IGNORE INTO attempts (key, edit_id, attempt_no, edit_type_id, category_id, turn, origin, status, "
            "failure_reason, instruction, short_instruction, output_sha256, backend, model, model_version, "
            "prompt_version, latency_ms, cost_usd, created_at, rev) "
            "SELECT ?, ?, 1, edit_type_id, category_id, 1, origin, status, failure_reason, instruction, "
            "short_instruction, output_sha256, backend, model, model_version, prompt_version, latency_ms, 0.0, "
            "created_at, ? FROM attempts WHERE id = ?", (akey, edit_id, rev, attempt_id))
        copy_id = store.scalar("SELECT id FROM attempts WHERE key = ?", (akey,))
        store.conn.execute(
            "INSERT OR IGNORE INTO judgments (attempt_id, category_id, compliance, seamlessness, preservation, quality, "
            "judge_overall, rationale, judge_backend, judge_model, judge_model_version, prompt_version, created_at, "
            "rev) SELECT ?, category_id, compliance, seamlessness, preservation, quality, judge_overall, rationale, "
            "judge_backend, judge_model, judge_model_version, prompt_version, created_at, ? FROM judgments "
            "WHERE attempt_id = ?", (copy_id, rev, attempt_id))
    return chain_id, int(copy_id)


async def run_chain(runner: Runner, k: int, start: tuple, rng: random.Random, pool: list[int]) -> None:
    from picobanana.pipeline.runner import EditItem

    settings = runner.spec.chains
    n_turns = rng.randint(settings.min_turns, settings.max_turns)
    chain_id, parent_id = _copy_turn_one(runner, k, start, n_turns)
    _, source_id, type_id, sha, instruction = start
    history = [Turn(edit_type_id=type_id, instruction=instruction or "")]
    used = {type_id}
    for turn in range(2, n_turns + 1):
        image = runner._image(sha)
        outcome = None
        for try_no in range(_MAX_TYPE_TRIES):
            choices = [t for t in pool if t not in used] or pool
            next_type = rng.choice(choices)
            used.add(next_type)
            # The key names the turn, not the type: a resumed job redraws the same type from the same rng.
            item = EditItem(key=chain_edit_key(runner.job_id, k, turn) + (f"x{next_type}" if try_no else ""),
                            source_id=source_id, edit_type_id=next_type, image=image, turn=turn, chain_id=chain_id,
                            parent_attempt_id=parent_id, history=tuple(history))
            outcome = await runner.process_edit(item)
            if outcome.skipped is None:
                break
        if outcome is None or outcome.skipped is not None:
            return
        step = outcome.kept
        if step is None:
            if settings.keep_chain_only_if_all_pass or outcome.last_with_image is None:
                return
            step = outcome.last_with_image
        history.append(Turn(edit_type_id=item.edit_type_id, instruction=step["instruction"] or "",
                            hint=step.get("hint") or {}))
        sha, parent_id = step["sha256"], step["attempt_id"]


def plan_chains(runner: Runner) -> tuple[list[int], list[tuple]]:
    """The job's chains, drawn the same way online and in Batch mode (so a resume finds its rows): the pool of
    turn types, and (k, kept start, the chain's own seeded rng) per chain."""
    settings = runner.spec.chains
    starts = _kept_starts(runner)
    rng = random.Random(seed_for(runner.spec.seed, runner.job_id, "chains"))
    chosen = rng.sample(starts, min(settings.n_chains, len(starts)))
    # Default turn types: those this job's backends could actually do (not skipped as ineligible/unsupported).
    done_types = [r[0] for r in runner.store.conn.execute(
        "SELECT DISTINCT edit_type_id FROM edits WHERE job_id = ? AND chain_id IS NULL AND skip_reason IS NULL "
        "ORDER BY edit_type_id", (runner.job_id,))]
    pool = settings.type_ids or done_types or runner.spec.mix.type_ids or [t.id for t in EDIT_TYPES]
    work = [(k, start, random.Random(seed_for(runner.spec.seed, runner.job_id, "chain", k)))
            for k, start in enumerate(chosen, 1)]
    return pool, work


async def run_chains(runner: Runner) -> None:
    pool, work = plan_chains(runner)

    async def handle(entry: tuple) -> None:
        k, start, chain_rng = entry
        await run_chain(runner, k, start, chain_rng, pool)

    await runner.run_items(work, "chains", handle)
