"""Human decisions: appended to the `reviews` log, never updated or deleted (triggers enforce it).

A decision names the review it was made against (`expected_review_id`, the newest review the curator saw for
that attempt, or None if they saw none). If someone else decided in between, the write is refused with
ReviewConflict instead of silently replacing their decision.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Literal

from pydantic import BaseModel

from picobanana.errors import ReviewConflict, StoreError
from picobanana.store.db import Store, utc_now
from picobanana.store.policies import Policy, active_policy
from picobanana.store.verdicts import attempt_verdict

HumanVerdict = Literal["keep", "fail"] | None  # None = clear the human decision (the policy decides again)

_NOT_GIVEN = object()


class ReviewEvent(BaseModel):
    id: int
    attempt_id: int
    curator: str
    created_at: str
    old_verdict: str | None
    new_verdict: str | None
    reason: str | None
    batch_id: str | None


def latest_review_id(store: Store, attempt_id: int) -> int | None:
    return store.scalar("SELECT MAX(id) FROM reviews WHERE attempt_id = ?", (attempt_id,))  # type: ignore[return-value]


def record_review(store: Store, attempt_id: int, verdict: HumanVerdict, *, curator: str, reason: str | None = None,
                  expected_review_id: int | None | object = _NOT_GIVEN, batch_id: str | None = None,
                  policy: Policy | None = None) -> ReviewEvent:
    """Append one decision. `old_verdict` records the effective verdict the curator changed."""
    if verdict not in ("keep", "fail", None):
        raise ValueError(f"verdict must be 'keep', 'fail' or None, not {verdict!r}")
    if not curator:
        raise ValueError("a review needs a curator name")
    policy = policy or active_policy(store)
    with store.transaction():
        current = latest_review_id(store, attempt_id)
        if expected_review_id is not _NOT_GIVEN and expected_review_id != current:
            who = store.scalar("SELECT curator FROM reviews WHERE id = ?", (current,)) if current else "someone"
            raise ReviewConflict(f"attempt {attempt_id} was reviewed by {who} after you loaded it; "
                                 "reload to see their decision before changing it")
        old = attempt_verdict(store, attempt_id, policy).verdict
        row = store.conn.execute(
            "INSERT INTO reviews (attempt_id, curator, created_at, old_verdict, new_verdict, reason, batch_id) "
            "VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING *",
            (attempt_id, curator, utc_now(), old, verdict, reason, batch_id),
        ).fetchone()
    return ReviewEvent(**dict(row))


def record_batch(store: Store, attempt_ids: Iterable[int], verdict: HumanVerdict, *, curator: str,
                 reason: str | None = None) -> str:
    """Apply one decision to many attempts as a single, undoable batch; returns its batch id."""
    batch_id = uuid.uuid4().hex
    policy = active_policy(store)
    with store.transaction():
        for attempt_id in attempt_ids:
            record_review(store, attempt_id, verdict, curator=curator, reason=reason, batch_id=batch_id,
                          policy=policy)
    return batch_id


def undo_batch(store: Store, batch_id: str, *, curator: str) -> str:
    """Restore, for every attempt of a batch, the human decision it had before (appending new events).

    Attempts decided again after the batch are left alone: undo never overrides a later decision.
    Returns the id of the undo batch.
    """
    rows = store.query("SELECT id, attempt_id FROM reviews WHERE batch_id = ? ORDER BY id", (batch_id,))
    if not rows:
        raise StoreError(f"no review batch {batch_id}")
    undo_id = uuid.uuid4().hex
    policy = active_policy(store)
    with store.transaction():
        for row in rows:
            if latest_review_id(store, row["attempt_id"]) != row["id"]:
                continue
            before = store.scalar(
                "SELECT new_verdict FROM reviews WHERE attempt_id = ? AND id < ? ORDER BY id DESC LIMIT 1",
                (row["attempt_id"], row["id"]),
            )
            record_review(store, row["attempt_id"], before, curator=curator, reason=f"undo batch {batch_id}",
                          batch_id=undo_id, policy=policy)
    return undo_id


def review_history(store: Store, attempt_id: int) -> list[ReviewEvent]:
    return [ReviewEvent(**dict(r)) for r in
            store.query("SELECT * FROM reviews WHERE attempt_id = ? ORDER BY id", (attempt_id,))]
