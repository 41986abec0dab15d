"""One attempt with everything a curator needs to judge it, and the decision they make on it.

    detail = load_item(store, 1234)            # images, instructions, scores, attempts, chain, audit
    result = decide(store, 1234, "fail", curator="ann", reason="face distorted",
                    expected_review_id=detail.latest_review_id)

`load_item` is a handful of primary-key and small-index lookups (no scan), so it costs the same at any
workspace size. The preference pair follows the export's definition: an edit's first kept attempt (chosen)
and every failed attempt before it (rejected).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel

from picobanana.errors import ImageError, ReviewConflict, StoreError
from picobanana.store.db import Store
from picobanana.store.policies import Policy, Weights, active_policy
from picobanana.store.reviews import ReviewEvent, record_review, review_history
from picobanana.store.verdicts import AttemptVerdict, Verdict, effective_verdict_sql, verdict_source_sql
from picobanana.taxonomy import category_by_id, edit_type_by_id


class SubScores(BaseModel):
    compliance: float
    seamlessness: float
    preservation: float
    quality: float


class Judgment(BaseModel):
    subscores: SubScores
    judge_overall: float | None
    rationale: str | None
    judge_backend: str | None
    judge_model: str | None
    judged_at: str
    score: float  # weighted under the policy below
    threshold: float
    weights: Weights  # normalised, for this attempt's category


class AttemptSummary(BaseModel):
    """One attempt of the same edit, for the attempt history."""

    attempt_id: int
    attempt_no: int
    status: str
    failure_reason: str | None
    score: float | None
    verdict: Verdict
    verdict_source: str
    output_sha256: str | None
    preference: Literal["chosen", "rejected"] | None  # its side of the edit's preference pair, if any


class ChainTurn(BaseModel):
    turn: int
    edit_id: int
    attempt_id: int | None  # the turn's first kept attempt, else its latest
    verdict: Verdict | None
    score: float | None
    thumbnail: Path | None


class ItemDetail(BaseModel):
    attempt_id: int
    edit_id: int
    attempt_no: int
    turn: int
    status: str
    failure_reason: str | None
    origin: str
    edit_type_id: int | None
    edit_type: str | None
    category_id: int | None
    category: str | None
    instruction: str | None
    short_instruction: str | None
    backend: str | None
    model: str | None
    model_version: str | None
    created_at: str
    latency_ms: float | None
    cost_usd: float | None
    source_id: int
    source_uri: str
    input_sha256: str | None  # the source photo, or in a chain the previous turn's output
    output_sha256: str | None
    input_image: Path | None  # None when the file is not in the workspace (e.g. release images not downloaded)
    output_image: Path | None
    judgment: Judgment | None
    verdict: AttemptVerdict
    policy: str  # name@version
    attempts: list[AttemptSummary]
    chain_id: int | None
    chain: list[ChainTurn]
    reviews: list[ReviewEvent]

    @property
    def latest_review_id(self) -> int | None:
        """What to pass as `expected_review_id` when deciding on what this detail showed."""
        return self.reviews[-1].id if self.reviews else None


def load_item(store: Store, attempt_id: int, policy: Policy | None = None) -> ItemDetail:
    policy = policy or active_policy(store)
    row = store.conn.execute(
        "SELECT a.*, e.source_id, e.parent_attempt_id, e.chain_id, s.uri AS source_uri, "
        "s.image_sha256 AS source_sha256, p.output_sha256 AS parent_output "
        "FROM attempts a JOIN edits e ON e.id = a.edit_id JOIN sources s ON s.id = e.source_id "
        "LEFT JOIN attempts p ON p.id = e.parent_attempt_id WHERE a.id = ?", (attempt_id,)).fetchone()
    if row is None:
        raise StoreError(f"no attempt {attempt_id}")
    input_sha = row["parent_output"] if row["parent_attempt_id"] is not None else row["source_sha256"]
    attempts = _attempts_of_edit(store, policy, row["edit_id"])
    current = next(a for a in attempts if a.attempt_id == attempt_id)
    judge_verdict = None
    judgment = _judgment(store, policy, attempt_id)
    if judgment is not None:
        judge_verdict = "keep" if policy.keeps(judgment.score, row["category_id"]) else "fail"
    human = store.scalar("SELECT verdict FROM human_decisions WHERE attempt_id = ?", (attempt_id,))
    verdict = AttemptVerdict(attempt_id=attempt_id, score=current.score, judge_verdict=judge_verdict,
                             human_verdict=human, verdict=current.verdict, source=current.verdict_source)
    return ItemDetail(
        attempt_id=attempt_id, edit_id=row["edit_id"], attempt_no=row["attempt_no"], turn=row["turn"],
        status=row["status"], failure_reason=row["failure_reason"], origin=row["origin"],
        edit_type_id=row["edit_type_id"], edit_type=_edit_type_name(row["edit_type_id"]),
        category_id=row["category_id"], category=_category_name(row["category_id"]),
        instruction=row["instruction"], short_instruction=row["short_instruction"], backend=row["backend"],
        model=row["model"], model_version=row["model_version"], created_at=row["created_at"],
        latency_ms=row["latency_ms"], cost_usd=row["cost_usd"], source_id=row["source_id"],
        source_uri=row["source_uri"], input_sha256=input_sha, output_sha256=row["output_sha256"],
        input_image=_existing_file(store, input_sha), output_image=_existing_file(store, row["output_sha256"]),
        judgment=judgment, verdict=verdict, policy=f"{policy.name}@{policy.version}", attempts=attempts,
        chain_id=row["chain_id"], chain=_chain(store, policy, row["chain_id"]) if row["chain_id"] else [],
        reviews=review_history(store, attempt_id),
    )


class Decision(BaseModel):
    ok: bool
    message: str
    event: ReviewEvent | None = None  # the decision written, or (on a conflict) the newer one that won


def decide(store: Store, attempt_id: int, verdict: Literal["keep", "fail"] | None, *, curator: str,
           reason: str | None = None, expected_review_id: int | None = None) -> Decision:
    """Record a curator's decision made on what they saw (`expected_review_id`, None = no review yet).

    A decision made on a stale view is refused, never written over the newer one; the result says who decided
    in between and when.
    """
    reason = (reason or "").strip() or None
    try:
        event = record_review(store, attempt_id, verdict, curator=curator, reason=reason,
                              expected_review_id=expected_review_id)
    except ReviewConflict:
        newer = review_history(store, attempt_id)[-1]
        said = newer.new_verdict or "cleared the decision"
        return Decision(ok=False, event=newer,
                        message=f"Not saved: {newer.curator} decided this at {_readable(newer.created_at)} "
                                f"({said}) after you opened it; reload the item to see it before deciding.")
    what = verdict or "cleared"
    return Decision(ok=True, event=event, message=f"Saved: {what} by {curator} (review {event.id}).")


# -- parts ------------------------------------------------------------------------------------------------


def _attempts_of_edit(store: Store, policy: Policy, edit_id: int) -> list[AttemptSummary]:
    score = f"CASE WHEN j.attempt_id IS NULL THEN NULL ELSE {policy.score_sql('j', category='j.category_id')} END"
    rows = store.query(
        f"SELECT a.id, a.attempt_no, a.status, a.failure_reason, a.output_sha256, {score} AS score, "
        f"{effective_verdict_sql(policy)} AS verdict, {verdict_source_sql()} AS verdict_source "
        f"FROM attempts a LEFT JOIN judgments j ON j.attempt_id = a.id "
        f"LEFT JOIN human_decisions h ON h.attempt_id = a.id WHERE a.edit_id = ? ORDER BY a.attempt_no",
        (edit_id,))
    chosen_no = next((r["attempt_no"] for r in rows if r["verdict"] == "keep"), None)

    def side(r) -> Literal["chosen", "rejected"] | None:
        if chosen_no is None or r["attempt_no"] > chosen_no:
            return None
        if r["attempt_no"] == chosen_no:
            has_rejected = any(x["verdict"] == "fail" and x["attempt_no"] < chosen_no for x in rows)
            return "chosen" if has_rejected else None
        return "rejected" if r["verdict"] == "fail" else None

    return [AttemptSummary(attempt_id=r["id"], attempt_no=r["attempt_no"], status=r["status"],
                           failure_reason=r["failure_reason"], score=r["score"], verdict=r["verdict"],
                           verdict_source=r["verdict_source"], output_sha256=r["output_sha256"],
                           preference=side(r)) for r in rows]


def _judgment(store: Store, policy: Policy, attempt_id: int) -> Judgment | None:
    row = store.conn.execute("SELECT * FROM judgments WHERE attempt_id = ?", (attempt_id,)).fetchone()
    if row is None:
        return None
    subscores = SubScores(compliance=row["compliance"], seamlessness=row["seamlessness"],
                          preservation=row["preservation"], quality=row["quality"])
    category = row["category_id"]
    return Judgment(subscores=subscores, judge_overall=row["judge_overall"], rationale=row["rationale"],
                    judge_backend=row["judge_backend"], judge_model=row["judge_model"],
                    judged_at=row["created_at"],
                    score=policy.score((subscores.compliance, subscores.seamlessness, subscores.preservation,
                                        subscores.quality), category),
                    threshold=policy.threshold_for(category), weights=policy.weights_for(category))


def _chain(store: Store, policy: Policy, chain_id: int) -> list[ChainTurn]:
    turns = []
    for edit in store.query("SELECT id, turn FROM edits WHERE chain_id = ? ORDER BY turn, id", (chain_id,)):
        attempts = _attempts_of_edit(store, policy, edit["id"])
        shown = next((a for a in attempts if a.verdict == "keep"), attempts[-1] if attempts else None)
        turns.append(ChainTurn(turn=edit["turn"], edit_id=edit["id"],
                               attempt_id=shown.attempt_id if shown else None,
                               verdict=shown.verdict if shown else None, score=shown.score if shown else None,
                               thumbnail=thumbnail_of(store, shown.output_sha256 if shown else None)))
    return turns


def _existing_file(store: Store, sha256: str | None) -> Path | None:
    if not sha256:
        return None
    path = store.images.file_of(sha256)
    return path if path is not None and path.exists() else None


def thumbnail_of(store: Store, sha256: str | None) -> Path | None:
    """The pre-made thumbnail (made now if an older import skipped it); None without the image file."""
    if not sha256:
        return None
    thumb = store.images.thumbnail_path(sha256)
    if thumb.exists():
        return thumb
    try:
        return store.images.ensure_thumbnail(sha256)
    except (ImageError, OSError):
        return None


def _edit_type_name(edit_type_id: int | None) -> str | None:
    try:
        return edit_type_by_id(edit_type_id).name if edit_type_id is not None else None
    except KeyError:
        return None


def _category_name(category_id: int | None) -> str | None:
    try:
        return category_by_id(category_id).name if category_id is not None else None
    except KeyError:
        return None


def _readable(timestamp: str) -> str:
    return timestamp.replace("T", " ").replace("Z", " UTC")
