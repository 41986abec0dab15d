"""The effective verdict of an attempt: computed on read, never stored.

In order of precedence:
1. the latest human decision (`human_decisions`, the projection of the append-only `reviews` log);
2. the current judgment, scored under the active policy (keep ⇔ score ≥ threshold);
3. what the attempt itself says: a release edit with an image (`ok`) was kept by the release, `rejected` was
   failed by it; editor failures (`no_image`, `blocked`, ...) fail; anything else is still `pending`.

Changing the policy re-evaluates step 2 for every attempt and never touches step 1.
The SQL below runs unchanged in SQLite (views, paging) and DuckDB (analytics).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel

from picobanana.store.db import Store
from picobanana.store.policies import Policy, active_policy

Verdict = Literal["keep", "fail", "pending"]
VerdictSource = Literal["human", "judge", "release", "status", "none"]

OPEN_STATUSES = ("pending", "running")


def effective_verdict_sql(policy: Policy, a: str = "a", j: str = "j", h: str = "h") -> str:
    """CASE expression over attempt `a`, LEFT JOINed judgment `j` and human decision `h`."""
    score = policy.score_sql(j, category=f"{j}.category_id")
    return (
        f"CASE WHEN {h}.verdict IS NOT NULL THEN {h}.verdict "
        f"WHEN {j}.attempt_id IS NOT NULL THEN "
        f"CASE WHEN {score} >= {policy.threshold_sql(f'{j}.category_id')} THEN 'keep' ELSE 'fail' END "
        f"WHEN {a}.status = 'ok' AND {a}.origin = 'release' THEN 'keep' "
        f"WHEN {a}.status IN ('ok', 'pending', 'running') THEN 'pending' "
        f"ELSE 'fail' END"
    )


def verdict_source_sql(a: str = "a", j: str = "j", h: str = "h") -> str:
    return (
        f"CASE WHEN {h}.verdict IS NOT NULL THEN 'human' "
        f"WHEN {j}.attempt_id IS NOT NULL THEN 'judge' "
        f"WHEN {a}.origin = 'release' AND {a}.status IN ('ok', 'rejected') THEN 'release' "
        f"WHEN {a}.status IN ('ok', 'pending', 'running') THEN 'none' "
        f"ELSE 'status' END"
    )


def judge_verdict_sql(policy: Policy, j: str = "j") -> str:
    """The judge's verdict alone (NULL when unjudged): for judge-vs-human agreement."""
    score = policy.score_sql(j, category=f"{j}.category_id")
    return (f"CASE WHEN {j}.attempt_id IS NULL THEN NULL WHEN {score} >= "
            f"{policy.threshold_sql(f'{j}.category_id')} THEN 'keep' ELSE 'fail' END")


def effective_verdict_view_sql(policy: Policy) -> str:
    score = policy.score_sql("j", category="j.category_id")
    return (
        f"SELECT a.id AS attempt_id, a.edit_id, a.category_id, a.edit_type_id, a.turn, a.status, a.origin, "
        f"CASE WHEN j.attempt_id IS NULL THEN NULL ELSE {score} END AS score, "
        f"{judge_verdict_sql(policy)} AS judge_verdict, h.verdict AS human_verdict, "
        f"{effective_verdict_sql(policy)} AS verdict, {verdict_source_sql()} AS verdict_source "
        f"FROM attempts a LEFT JOIN judgments j ON j.attempt_id = a.id "
        f"LEFT JOIN human_decisions h ON h.attempt_id = a.id"
    )


class AttemptVerdict(BaseModel):
    attempt_id: int
    score: float | None
    judge_verdict: Literal["keep", "fail"] | None
    human_verdict: Literal["keep", "fail"] | None
    verdict: Verdict
    source: VerdictSource


def attempt_verdict(store: Store, attempt_id: int, policy: Policy | None = None) -> AttemptVerdict:
    policy = policy or active_policy(store)
    row = store.conn.execute(
        f"SELECT * FROM ({effective_verdict_view_sql(policy)}) WHERE attempt_id = ?", (attempt_id,)
    ).fetchone()
    if row is None:
        from picobanana.errors import StoreError

        raise StoreError(f"no attempt {attempt_id}")
    return AttemptVerdict(attempt_id=attempt_id, score=row["score"], judge_verdict=row["judge_verdict"],
                          human_verdict=row["human_verdict"], verdict=row["verdict"],
                          source=row["verdict_source"])
