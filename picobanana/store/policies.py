"""Judging policies: named, versioned weights + threshold, optionally per category.

score = w_c·compliance + w_s·seamlessness + w_p·preservation + w_q·quality  (weights normalised to sum 1)
keep  ⇔ score ≥ threshold   (the paper says "above ~0.7"; we keep ties, and allow 1e-9 of float noise so
                              that four sub-scores of exactly 0.7 pass a 0.7 threshold)

Activating a policy rebuilds two expression indexes on `judgments` with that policy's score formula, so
"sort by score" and "score ≥ threshold" are index range scans under whatever policy is active. The view
`effective_verdicts` is rebuilt at the same time for ad-hoc SQL.
"""

from __future__ import annotations

import json

from pydantic import BaseModel, ConfigDict, Field, model_validator

from picobanana.errors import StoreError
from picobanana.store.db import Store, utc_now

EPSILON = 1e-9
SUBSCORES = ("compliance", "seamlessness", "preservation", "quality")


class Weights(BaseModel):
    model_config = ConfigDict(frozen=True)

    compliance: float = Field(0.40, ge=0)
    seamlessness: float = Field(0.25, ge=0)
    preservation: float = Field(0.20, ge=0)
    quality: float = Field(0.15, ge=0)

    @model_validator(mode="after")
    def _not_all_zero(self) -> Weights:
        if self.total <= 0:
            raise ValueError("at least one weight must be positive")
        return self

    @property
    def total(self) -> float:
        return self.compliance + self.seamlessness + self.preservation + self.quality

    def normalised(self) -> Weights:
        t = self.total
        return Weights(compliance=self.compliance / t, seamlessness=self.seamlessness / t,
                       preservation=self.preservation / t, quality=self.quality / t)

    def as_tuple(self) -> tuple[float, float, float, float]:
        return (self.compliance, self.seamlessness, self.preservation, self.quality)


class CategoryRule(BaseModel):
    """A category's exceptions to the policy: its own weights, its own threshold, or both."""

    model_config = ConfigDict(frozen=True)
    weights: Weights | None = None
    threshold: float | None = Field(None, ge=0, le=1)


class Policy(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: int | None = None
    name: str = "paper"
    version: int = 1
    weights: Weights = Field(default_factory=Weights)
    threshold: float = Field(0.7, ge=0, le=1)
    per_category: dict[int, CategoryRule] = Field(default_factory=dict)
    note: str | None = None

    # -- Python side (tests, single items) --------------------------------------------------------

    def weights_for(self, category_id: int | None) -> Weights:
        rule = self.per_category.get(category_id) if category_id is not None else None
        return ((rule.weights if rule and rule.weights else None) or self.weights).normalised()

    def threshold_for(self, category_id: int | None) -> float:
        rule = self.per_category.get(category_id) if category_id is not None else None
        return rule.threshold if rule and rule.threshold is not None else self.threshold

    def score(self, subscores: tuple[float, float, float, float], category_id: int | None = None) -> float:
        w = self.weights_for(category_id).as_tuple()
        # Same order of operations as score_sql(), so Python and SQL agree to the last bit.
        return w[0] * subscores[0] + w[1] * subscores[1] + w[2] * subscores[2] + w[3] * subscores[3]

    def keeps(self, score: float, category_id: int | None = None) -> bool:
        return score + EPSILON >= self.threshold_for(category_id)

    # -- SQL side (SQLite and DuckDB share this dialect subset) ----------------------------------

    def score_sql(self, j: str = "j", category: str | None = None) -> str:
        """The weighted score of judgment alias `j`; `category` is the column holding its category id.

        With j="" the columns are unqualified: the form SQLite needs for index expressions, and that
        single-table queries must repeat word for word to use those indexes.
        """
        prefix = f"{j}." if j else ""

        def formula(weights: Weights) -> str:
            w = weights.normalised().as_tuple()
            return " + ".join(f"{w[i]!r} * {prefix}{name}" for i, name in enumerate(SUBSCORES))

        special = {c: r for c, r in sorted(self.per_category.items()) if r.weights is not None}
        if not special:
            return f"({formula(self.weights)})"
        column = category or f"{prefix}category_id"
        whens = " ".join(f"WHEN {c} THEN {formula(r.weights)}" for c, r in special.items())
        return f"(CASE {column} {whens} ELSE {formula(self.weights)} END)"

    def threshold_sql(self, category: str) -> str:
        special = {c: r.threshold for c, r in sorted(self.per_category.items()) if r.threshold is not None}
        if not special:
            return repr(self.threshold - EPSILON)
        whens = " ".join(f"WHEN {c} THEN {t - EPSILON!r}" for c, t in special.items())
        return f"(CASE {category} {whens} ELSE {self.threshold - EPSILON!r} END)"

    def thresholds_span(self) -> tuple[float, float]:
        values = [self.threshold] + [r.threshold for r in self.per_category.values() if r.threshold is not None]
        return min(values), max(values)


PAPER_POLICY = Policy(note="Pico-Banana-400K paper: 0.40 / 0.25 / 0.20 / 0.15, threshold 0.7")


def _row_to_policy(row) -> Policy:
    per_category = {int(k): CategoryRule.model_validate(v) for k, v in json.loads(row["per_category"]).items()}
    return Policy(
        id=row["id"], name=row["name"], version=row["version"],
        weights=Weights(compliance=row["w_compliance"], seamlessness=row["w_seamlessness"],
                        preservation=row["w_preservation"], quality=row["w_quality"]),
        threshold=row["threshold"], per_category=per_category, note=row["note"],
    )


def save_policy(store: Store, policy: Policy, *, created_by: str) -> Policy:
    """Store `policy` as the next version of its name (weights normalised). Returns it with id and version."""
    w = policy.weights.normalised()
    per_category = {
        str(c): r.model_copy(update={"weights": r.weights.normalised() if r.weights else None}).model_dump()
        for c, r in policy.per_category.items()
    }
    with store.transaction():
        version = int(store.scalar("SELECT COALESCE(MAX(version), 0) + 1 FROM policies WHERE name = ?",
                                   (policy.name,)))
        row = store.conn.execute(
            "INSERT INTO policies (name, version, w_compliance, w_seamlessness, w_preservation, w_quality, "
            "threshold, per_category, note, created_by, created_at) VALUES (?,?,?,?,?,?,?,?,?,?,?) RETURNING *",
            (policy.name, version, *w.as_tuple(), policy.threshold, json.dumps(per_category), policy.note,
             created_by, utc_now()),
        ).fetchone()
    return _row_to_policy(row)


def get_policy(store: Store, ref: int | str) -> Policy:
    """A policy by id, by "name" (its newest version) or by "name@version"."""
    if isinstance(ref, int) or (isinstance(ref, str) and ref.isdigit()):
        row = store.conn.execute("SELECT * FROM policies WHERE id = ?", (int(ref),)).fetchone()
    elif "@" in ref:
        name, _, version = ref.rpartition("@")
        row = store.conn.execute("SELECT * FROM policies WHERE name = ? AND version = ?",
                                 (name, int(version))).fetchone()
    else:
        row = store.conn.execute("SELECT * FROM policies WHERE name = ? ORDER BY version DESC LIMIT 1",
                                 (ref,)).fetchone()
    if row is None:
        raise StoreError(f"no policy {ref!r}")
    return _row_to_policy(row)


def list_policies(store: Store) -> list[Policy]:
    return [_row_to_policy(r) for r in store.query("SELECT * FROM policies ORDER BY name, version")]


def active_policy(store: Store) -> Policy:
    row = store.conn.execute(
        "SELECT p.* FROM policy_activations a JOIN policies p ON p.id = a.policy_id ORDER BY a.id DESC LIMIT 1"
    ).fetchone()
    if row is None:
        raise StoreError("no active policy (the workspace was not initialised)")
    return _row_to_policy(row)


def activate_policy(store: Store, ref: int | str, *, activated_by: str) -> Policy:
    from picobanana.store.verdicts import effective_verdict_view_sql

    policy = get_policy(store, ref)
    score = policy.score_sql("")
    with store.transaction():
        store.conn.execute("INSERT INTO policy_activations (policy_id, activated_by, activated_at) VALUES (?,?,?)",
                           (policy.id, activated_by, utc_now()))
        # The expression indexes must use exactly the text that paging queries generate (see paging.py).
        store.conn.execute("DROP INDEX IF EXISTS judgments_active_score")
        store.conn.execute("DROP INDEX IF EXISTS judgments_active_category_score")
        store.conn.execute(f"CREATE INDEX judgments_active_score ON judgments({score})")
        store.conn.execute(f"CREATE INDEX judgments_active_category_score ON judgments(category_id, {score})")
        store.conn.execute("DROP VIEW IF EXISTS effective_verdicts")
        store.conn.execute(f"CREATE VIEW effective_verdicts AS {effective_verdict_view_sql(policy)}")
    return policy


def ensure_default_policy(store: Store) -> None:
    if store.scalar("SELECT COUNT(*) FROM policies") == 0:
        policy = save_policy(store, PAPER_POLICY, created_by="picobanana")
        activate_policy(store, policy.id, activated_by="picobanana")
