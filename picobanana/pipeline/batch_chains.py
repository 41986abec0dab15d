"""Multi-turn chains in Batch mode: chains.run_chain's logic, but turn t of EVERY chain is one set of batch
rounds (a chain waits for its previous turn anyway, so batching across chains is what keeps batches full).
The seeded draws are the same as online, so a resumed job makes the same chains and finds its rows."""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import TYPE_CHECKING

from picobanana.backends.base import Turn
from picobanana.pipeline.chains import _MAX_TYPE_TRIES, _copy_turn_one, plan_chains
from picobanana.pipeline.keys import chain_edit_key
from picobanana.pipeline.runner import EditItem, Outcome

if TYPE_CHECKING:
    from picobanana.pipeline.batch_mode import BatchJob


@dataclass
class _Chain:
    k: int
    rng: random.Random
    n_turns: int
    chain_id: int
    parent_id: int
    source_id: int
    sha: str
    history: list[Turn]
    used: set[int]
    alive: bool = True


async def run_chains_batched(job: BatchJob) -> None:
    """chains.run_chain's logic with every chain's turn t in one set of rounds (the same seeded draws)."""
    runner, settings = job.runner, job.spec.chains
    pool, work = plan_chains(runner)
    chains = []
    for k, start, chain_rng in work:
        n_turns = chain_rng.randint(settings.min_turns, settings.max_turns)
        chain_id, parent_id = _copy_turn_one(runner, k, start, n_turns)
        _, source_id, type_id, sha, instruction = start
        chains.append(_Chain(k, chain_rng, n_turns, chain_id, parent_id, source_id, sha,
                             [Turn(edit_type_id=type_id, instruction=instruction or "")], {type_id}))
    for turn in range(2, settings.max_turns + 1):
        active = [c for c in chains if c.alive and turn <= c.n_turns]
        resolved: dict[int, tuple[EditItem, Outcome]] = {}
        for try_no in range(_MAX_TYPE_TRIES):
            items = {}
            for c in active:
                if c.k in resolved:
                    continue
                choices = [t for t in pool if t not in c.used] or pool
                next_type = c.rng.choice(choices)
                c.used.add(next_type)
                # The key names the turn, not the type (as chains.run_chain): a resume redraws the same type.
                key = chain_edit_key(runner.job_id, c.k, turn) + (f"x{next_type}" if try_no else "")
                items[c.k] = job.item(key, c.sha, source_id=c.source_id, edit_type_id=next_type, turn=turn,
                                      chain_id=c.chain_id, parent_attempt_id=c.parent_id, history=tuple(c.history))
            if not items or runner.cancelled:
                break
            outcomes = await job.run_items(list(items.values()), f"chain turn {turn}")
            for k, item in items.items():
                outcome = outcomes.get(item.key)
                if outcome is not None and outcome.skipped is None:
                    resolved[k] = (item, outcome)
        if runner.cancelled:
            return
        for c in active:
            if c.k not in resolved:
                c.alive = False
                continue
            item, outcome = resolved[c.k]
            step = outcome.kept
            if step is None:
                if settings.keep_chain_only_if_all_pass or outcome.last_with_image is None:
                    c.alive = False
                    continue
                step = outcome.last_with_image
            c.history.append(Turn(edit_type_id=item.edit_type_id, instruction=step["instruction"] or "",
                                  hint=step.get("hint") or {}))
            c.sha, c.parent_id = step["sha256"], step["attempt_id"]
