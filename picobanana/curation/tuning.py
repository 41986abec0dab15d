"""Policy tuning: what the Policy tab's sliders describe, and the live counts they show.

A `Draft` is an unsaved policy: global weights + threshold, and per-category exceptions. The sliders edit one
*scope* at a time (all categories, or one category); in a category scope only what differs from the global
values is stored, so moving a category's threshold leaves its weights following the global ones.

`policy_counts` answers "what if this draft were active?" per category: keep / fail / pending / borderline
(the effective verdict, so human decisions still win) and the change against the active policy — the figures
of `analytics.what_if`, fast enough for every slider move. They are counted on the snapshot of a `LiveMirror`
(live_mirror.py): the first call on a big workspace builds the mirror (seconds), every later one costs a
revision lookup plus a few milliseconds of NumPy.
"""

from __future__ import annotations

import time

from pydantic import BaseModel, Field

from picobanana.curation.live_mirror import LiveMirror, live_mirror, score
from picobanana.errors import StoreError
from picobanana.store import CategoryRule, Policy, Store, Weights, activate_policy, get_policy, save_policy
from picobanana.taxonomy import CATEGORIES, category_by_id

__all__ = ["DEFAULT_MARGIN", "CountsRow", "Draft", "LiveMirror", "PolicyCounts", "activate", "activation_preview",
           "live_mirror", "policy_counts", "save_draft"]

DEFAULT_MARGIN = 0.05  # borderline: judged, no human decision, score within this of the threshold


class Draft(BaseModel):
    """An unsaved policy, as the sliders hold it (weights are normalised only when saved or scored)."""

    weights: Weights = Field(default_factory=Weights)
    threshold: float = Field(0.7, ge=0, le=1)
    per_category: dict[int, CategoryRule] = Field(default_factory=dict)

    @classmethod
    def from_policy(cls, policy: Policy) -> Draft:
        return cls(weights=policy.weights, threshold=policy.threshold, per_category=dict(policy.per_category))

    def policy(self, name: str = "draft", note: str | None = None) -> Policy:
        return Policy(name=name, weights=self.weights, threshold=self.threshold,
                      per_category=self.per_category, note=note)

    def sliders(self, category_id: int | None = None) -> tuple[float, float, float, float, float]:
        """The five slider values of a scope: a category shows its own rule where it has one, else the global."""
        rule = self.per_category.get(category_id) if category_id is not None else None
        weights = rule.weights if rule and rule.weights else self.weights
        threshold = rule.threshold if rule and rule.threshold is not None else self.threshold
        return (*weights.as_tuple(), threshold)

    def with_sliders(self, category_id: int | None, values: tuple[float, float, float, float, float]) -> Draft:
        """The draft with one scope's sliders set. Raises ValueError for impossible values (all weights 0)."""
        *w, threshold = (round(float(v), 6) for v in values)
        weights = Weights(compliance=w[0], seamlessness=w[1], preservation=w[2], quality=w[3])
        if category_id is None:
            return self.model_copy(update={"weights": weights, "threshold": threshold})
        if not 1 <= category_id <= len(CATEGORIES):
            raise ValueError(f"no category with id {category_id} (valid: 1..{len(CATEGORIES)})")
        # Keep only what differs from the global values: a category whose sliders match them has no rule.
        same_weights = _same(weights.normalised().as_tuple(), self.weights.normalised().as_tuple())
        rule = CategoryRule(weights=None if same_weights else weights,
                            threshold=None if _same((threshold,), (self.threshold,)) else threshold)
        return self.without_category(category_id) if rule == CategoryRule() else self.model_copy(
            update={"per_category": {**self.per_category, category_id: rule}})

    def without_category(self, category_id: int) -> Draft:
        return self.model_copy(update={"per_category": {c: r for c, r in self.per_category.items()
                                                        if c != category_id}})


def _same(a: tuple[float, ...], b: tuple[float, ...]) -> bool:
    return all(abs(x - y) < 1e-6 for x, y in zip(a, b, strict=True))


# -- counts ----------------------------------------------------------------------------------------


class CountsRow(BaseModel):
    """One category (or the total, category_id None) under the draft, and its change against the baseline."""

    category_id: int | None
    category: str
    attempts: int
    keep: int
    fail: int
    pending: int
    borderline: int  # judged, no human decision, score within the margin of the threshold
    delta_keep: int  # keep under the draft − keep under the baseline
    delta_fail: int
    delta_borderline: int
    to_keep: int  # attempts the draft flips from fail to keep
    to_fail: int  # attempts the draft flips from keep to fail

    @property
    def changed(self) -> int:
        return self.to_keep + self.to_fail


class PolicyCounts(BaseModel):
    policy: Policy
    compared_to: str  # "name@version" of the baseline (the active policy unless told otherwise)
    margin: float
    revision: int | None
    rows: list[CountsRow]  # one per category, taxonomy order (then attempts without a category, if any)
    total: CountsRow
    milliseconds: float  # server-side time of this computation


def policy_counts(live: LiveMirror, policy: Policy, *, compare_to: Policy | None = None,
                  margin: float = DEFAULT_MARGIN) -> PolicyCounts:
    """Counts per category if `policy` applied (human decisions win), and the delta against `compare_to`
    (default: the active policy). Same figures as `analytics.what_if`, from the LiveMirror's snapshot."""
    started = time.perf_counter()
    snap = live.snapshot()
    baseline_policy = compare_to or snap.active
    # The baseline's scoring is cached until the snapshot changes: a slider move scores only the draft.
    key = (baseline_policy.model_dump_json(), margin, snap.revision)
    if key not in live.baselines:
        live.baselines[key] = score(snap, baseline_policy, margin)
    was_keep, before = live.baselines[key]
    _, now = score(snap, policy, margin, was_keep)
    fixed = snap.fixed or {}
    present = {c for c, _ in fixed} | set(now)
    rows = []
    for category in [c.id for c in CATEGORIES] + ([0] if 0 in present else []):
        moved = now.get(category, {"keep": 0, "judged": 0, "borderline": 0, "to_keep": 0, "to_fail": 0})
        base = before.get(category, {"keep": 0, "borderline": 0})
        keep = fixed.get((category, "keep"), 0) + moved["keep"]
        fail = fixed.get((category, "fail"), 0) + moved["judged"] - moved["keep"]
        delta = moved["keep"] - base["keep"]
        rows.append(CountsRow(category_id=category or None, category=_category_name(category or None),
                              attempts=keep + fail + fixed.get((category, "pending"), 0), keep=keep, fail=fail,
                              pending=fixed.get((category, "pending"), 0), borderline=moved["borderline"],
                              delta_keep=delta, delta_fail=-delta,
                              delta_borderline=moved["borderline"] - base["borderline"],
                              to_keep=moved["to_keep"], to_fail=moved["to_fail"]))
    sums = {name: sum(getattr(r, name) for r in rows) for name in CountsRow.model_fields
            if name not in ("category_id", "category")}
    total = CountsRow(category_id=None, category="All categories", **sums)
    return PolicyCounts(policy=policy, compared_to=f"{baseline_policy.name}@{baseline_policy.version}",
                        margin=margin, revision=snap.revision, rows=rows, total=total,
                        milliseconds=(time.perf_counter() - started) * 1000)


def activation_preview(live: LiveMirror, store: Store, ref: int | str,
                       margin: float = DEFAULT_MARGIN) -> PolicyCounts:
    """What activating saved policy `ref` would change, against the active policy (nothing is written)."""
    return policy_counts(live, get_policy(store, ref), margin=margin)


def _category_name(category_id: int | None) -> str:
    if category_id is None:
        return "(no category)"
    return category_by_id(category_id).name if 1 <= category_id <= len(CATEGORIES) else f"category {category_id}"


# -- saving and activating -------------------------------------------------------------------------


def save_draft(store: Store, draft: Draft, name: str, *, curator: str, note: str | None = None) -> Policy:
    """Save the draft as the next version of `name` (a new name starts at version 1)."""
    name = (name or "").strip()
    if not name:
        raise StoreError("a policy needs a name")
    if "@" in name or name.isdigit() or len(name) > 80:
        raise StoreError(f"{name!r} is not a usable policy name (no '@', not only digits, at most 80 characters)")
    return save_policy(store, draft.policy(name, note=(note or "").strip() or None), created_by=curator)


def activate(store: Store, ref: int | str, *, curator: str) -> Policy:
    """Make a saved policy the active one; the activation records the curator."""
    return activate_policy(store, ref, activated_by=curator)
