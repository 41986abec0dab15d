"""Turn a JobSpec into its list of (source id, edit type id) items — deterministically, so a resumed job
re-derives exactly the same plan from the same spec and sources."""

from __future__ import annotations

import random

from pydantic import BaseModel

from picobanana.pipeline.keys import seed_for
from picobanana.pipeline.spec import JobSpec
from picobanana.store.db import Store
from picobanana.taxonomy import EDIT_TYPES, edit_type_by_id


class Plan(BaseModel):
    items: list[tuple[int, int]]
    sources: int
    missing_sources: list[int] = []  # asked for, but unknown or without an image
    shortfall: int = 0  # items asked for that could not be placed (not enough distinct sources)


def _sources(store: Store, spec: JobSpec) -> tuple[list[int], list[int]]:
    with_image = [r[0] for r in store.conn.execute(
        "SELECT id FROM sources WHERE image_sha256 IS NOT NULL ORDER BY id")]
    if not spec.source_ids:
        return with_image, []
    usable = set(with_image)
    return [s for s in spec.source_ids if s in usable], [s for s in spec.source_ids if s not in usable]


def _draw(rng: random.Random, sources: list[int], type_ids: list[int], n: int,
          used: set[tuple[int, int]]) -> tuple[list[tuple[int, int]], int]:
    """n items with types drawn ∝ the release's sft counts, each (source, type) at most once."""
    pool = list(type_ids)
    items: list[tuple[int, int]] = []
    while len(items) < n and pool:
        t = rng.choices(pool, weights=[max(1, edit_type_by_id(x).sft_count) for x in pool])[0]
        free = [s for s in sources if (s, t) not in used]
        if not free:
            pool.remove(t)
            continue
        s = rng.choice(free)
        used.add((s, t))
        items.append((s, t))
    return items, n - len(items)


def build_plan(store: Store, spec: JobSpec) -> Plan:
    sources, missing = _sources(store, spec)
    mix = spec.mix
    rng = random.Random(seed_for(spec.seed, "plan"))
    allowed = mix.type_ids or [t.id for t in EDIT_TYPES]
    items: list[tuple[int, int]] = []
    shortfall = 0
    used: set[tuple[int, int]] = set()
    if mix.kind == "each":
        items = [(s, t) for s in sources for t in allowed]
    elif mix.kind == "counts":
        for t, n in sorted(mix.counts.items()):
            chosen = rng.sample(sources, min(n, len(sources)))
            items += [(s, t) for s in chosen]
            shortfall += n - len(chosen)
    elif mix.kind == "categories":
        for category_id, n in sorted(mix.category_quotas.items()):
            types = [t for t in allowed if edit_type_by_id(t).category.id == category_id]
            drawn, short = _draw(rng, sources, types, n, used)
            items += drawn
            shortfall += short
    else:
        items, shortfall = _draw(rng, sources, allowed, mix.total, used)
    return Plan(items=items, sources=len(sources), missing_sources=missing, shortfall=shortfall)
