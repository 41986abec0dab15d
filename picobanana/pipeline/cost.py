"""Cost of a call from its Usage and the price table; an estimate of a whole job before it starts."""

from __future__ import annotations

from pydantic import BaseModel

from picobanana.backends.base import ROLES, Usage
from picobanana.pipeline.spec import JobSpec, Price
from picobanana.taxonomy import edit_type_by_id

# Without a per-type success rate from the paper, assume this share of attempts passes the judge.
_DEFAULT_SUCCESS = 0.6


def call_cost(usage: Usage, price: Price | None) -> float:
    """A backend's own figure wins; else tokens and images × the price table; no price = free (local)."""
    if usage.cost_usd:
        return usage.cost_usd
    if price is None:
        return 0.0
    return (usage.input_tokens * price.input_per_mtok / 1e6 + usage.output_tokens * price.output_per_mtok / 1e6
            + usage.images_out * price.per_image + price.per_call)


class CostEstimate(BaseModel):
    items: int
    attempts_min: int
    attempts_expected: float
    attempts_max: int
    usd_per_attempt: float
    usd_min: float
    usd_expected: float
    usd_max: float


def per_attempt_cost(spec: JobSpec) -> float:
    total = 0.0
    for role in ROLES:
        settings = spec.role(role)
        usage = Usage(input_tokens=settings.expected_input_tokens, output_tokens=settings.expected_output_tokens,
                      images_out=settings.expected_images)
        total += call_cost(usage, spec.prices.get(settings.backend))
    return total


def expected_attempts(edit_type_id: int, attempts: int) -> float:
    """Expected tries until the first pass (geometric, truncated at `attempts`), using the paper's rate."""
    p = edit_type_by_id(edit_type_id).paper_success or _DEFAULT_SUCCESS
    return sum((1 - p) ** k for k in range(attempts))


def estimate(spec: JobSpec, plan: list[tuple[int, int]]) -> CostEstimate:
    """Cost bounds of the single-turn part of a job: every item passes first time … every item uses all tries.

    Chains add up to (max_turns - 1) × attempts more attempts per chain, counted in the maximum only.
    """
    unit = per_attempt_cost(spec)
    n = len(plan)
    expected = sum(expected_attempts(t, spec.attempts) for _, t in plan)
    chain_max = spec.chains.n_chains * (spec.chains.max_turns - 1) * spec.attempts
    chain_min = spec.chains.n_chains * (spec.chains.min_turns - 1)
    at_max = n * spec.attempts + chain_max
    return CostEstimate(items=n, attempts_min=n + chain_min, attempts_expected=round(expected + chain_min, 1),
                        attempts_max=at_max, usd_per_attempt=unit, usd_min=unit * (n + chain_min),
                        usd_expected=unit * (expected + chain_min), usd_max=unit * at_max)


class JobEstimate(BaseModel):
    """What a job would do before it runs: the plan's size and what could not be placed, and its cost."""

    sources: int
    items: int
    missing_sources: list[int]
    shortfall: int
    cost: CostEstimate


def estimate_job(store, spec: JobSpec) -> JobEstimate:
    """The plan (`plan.build_plan`, deterministic: the job will run exactly these items) and its cost bounds."""
    from picobanana.pipeline.plan import build_plan  # plan needs the store; cost alone does not

    plan = build_plan(store, spec)
    return JobEstimate(sources=plan.sources, items=len(plan.items), missing_sources=plan.missing_sources,
                       shortfall=plan.shortfall, cost=estimate(spec, plan.items))
