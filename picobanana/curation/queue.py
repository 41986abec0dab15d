"""The review queue: judged attempts the active policy barely keeps or barely fails, nearest the threshold first.

    view = queue_view(store, QueueFilter(category_id=6, margin=0.05), curator="alice", since=session_start)
    view.item            # the attempt to look at next (None: the queue is empty), with its expected_review_id
    step = decide(store, view.item.attempt_id, "keep", curator="alice",
                  expected_review_id=view.item.expected_review_id, flt=..., since=..., skipped=())
    step.view.item       # the next one: the decided attempt has left the queue

Borderline = judged, no human decision, and |score − cut| < margin, where cut = threshold − EPSILON is the exact
constant the verdict SQL compares with (so "borderline" here and in `analytics.what_if` count the same attempts)
and the threshold is the attempt's category's when the policy has per-category thresholds. Chain turns are
judged attempts too, so they are in the queue.

Two curators on the same queue are shown different items: the item shown is claimed (in memory, for two
minutes or until the curator moves on) and skipped for the others (`Claims`).

Order: by distance from the cut, nearest first; at equal distance the side the policy keeps first, then by
band (see below) in category order; equal scores by attempt id (ascending above the cut, descending below it,
the index's own order).

Why it stays fast at 1M attempts: the active policy's expression indexes (`judgments_active_score`,
`judgments_active_category_score`, policies.py) keep judgments in score order, so the next item is two seeks
per *band* — one up from the cut, one down from it — each stopping after the few rows it needs, merged by
distance. A band is a range of one index with one threshold: with a category filter, that category (the
per-category index); with one threshold for everything, the whole score index; with per-category thresholds
and no filter, one band per category that has its own threshold plus one band for all the others. Nothing
ever sorts the table. Counts are index range counts (cached until a judgment changes) minus the (few)
human-decided attempts in the range.
"""

from __future__ import annotations

import heapq
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from picobanana.errors import StoreError
from picobanana.store.db import Store
from picobanana.store.policies import EPSILON, Policy, active_policy
from picobanana.store.reviews import ReviewEvent, latest_review_id, record_batch, record_review, undo_batch
from picobanana.taxonomy import implied_category_id

DEFAULT_MARGIN = 0.05
MAX_BATCH = 10_000  # apply-to-all refuses more than this: narrow the filter or the margin instead

Decision = Literal["keep", "fail", "skip"]


class QueueChanged(StoreError):
    """Apply-to-all found a different number of attempts than the preview the curator confirmed."""


class QueueFilter(BaseModel):
    """Which borderline attempts: an optional category or edit type, and the margin around the threshold."""

    model_config = ConfigDict(frozen=True)

    category_id: int | None = None
    edit_type_id: int | None = None
    margin: float = Field(DEFAULT_MARGIN, gt=0, le=1)

    def resolved(self) -> QueueFilter:
        """An edit type implies its category, which lets the per-category index narrow the seek."""
        category_id = implied_category_id(self.category_id, self.edit_type_id)
        return self if category_id == self.category_id else self.model_copy(update={"category_id": category_id})


class QueueItem(BaseModel):
    attempt_id: int
    category_id: int | None
    score: float
    threshold: float  # the threshold that applies to this attempt's category
    distance: float  # |score − (threshold − EPSILON)|
    judge_verdict: Literal["keep", "fail"]
    expected_review_id: int | None = None  # the newest review of this attempt (pass it back when deciding)


class Progress(BaseModel):
    curator: str
    decided_today: int  # distinct attempts this curator decided (keep / fail) since local midnight
    decided_session: int  # … since the session started
    remaining: int  # borderline attempts left under the current filter

    def line(self) -> str:
        return (f"{self.curator}: {self.decided_today} decided today · {self.decided_session} this session · "
                f"{self.remaining:,} borderline left")


class QueueView(BaseModel):
    item: QueueItem | None
    progress: Progress
    filter: QueueFilter
    policy: str  # name@version of the policy the queue is computed under


class QueueStep(BaseModel):
    decided: ReviewEvent | None  # None for a skip
    skipped: tuple[int, ...]  # the session's skipped attempts, updated
    view: QueueView


class ApplyAllPreview(BaseModel):
    filter: QueueFilter
    policy: str
    count: int
    judge_keep: int  # of them, how many the policy keeps now (the rest it fails)
    max_items: int = MAX_BATCH

    @property
    def allowed(self) -> bool:
        return 0 < self.count <= self.max_items


class BatchResult(BaseModel):
    batch_id: str
    count: int
    verdict: Literal["keep", "fail"] | None


# -- bands and seeks ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Band:
    conds: tuple[str, ...]  # conditions on judgments' own columns that select the band
    params: tuple[object, ...]
    threshold: float


def _bands(policy: Policy, flt: QueueFilter) -> list[_Band]:
    if flt.category_id is not None:
        return [_Band(("category_id = ?",), (flt.category_id,), policy.threshold_for(flt.category_id))]
    own = {c: r.threshold for c, r in sorted(policy.per_category.items()) if r.threshold is not None}
    if not own:
        return [_Band((), (), policy.threshold)]
    bands = [_Band(("category_id = ?",), (c,), t) for c, t in own.items()]
    marks = ",".join("?" * len(own))
    # Everything else (other categories, no category) shares the global threshold: one seek of the score index.
    bands.append(_Band((f"(category_id IS NULL OR category_id NOT IN ({marks}))",), tuple(own), policy.threshold))
    return bands


def _conditions(band: _Band, flt: QueueFilter, skipped: tuple[int, ...]) -> tuple[list[str], list[object]]:
    conds = [*band.conds, "NOT EXISTS (SELECT 1 FROM human_decisions h WHERE h.attempt_id = judgments.attempt_id)"]
    params: list[object] = list(band.params)
    if flt.edit_type_id is not None:
        conds.append("EXISTS (SELECT 1 FROM attempts a WHERE a.id = judgments.attempt_id AND a.edit_type_id = ?)")
        params.append(flt.edit_type_id)
    if skipped:
        conds.append("attempt_id NOT IN (SELECT value FROM json_each(?))")
        params.append(json.dumps(list(skipped)))
    return conds, params


def _side(store: Store, policy: Policy, band: _Band, flt: QueueFilter, skipped: tuple[int, ...], upper: bool,
          limit: int) -> Iterator[QueueItem]:
    """One side of one band, nearest the cut first: a single range scan of a score index."""
    score = policy.score_sql("")  # word for word the index expression (see policies.activate_policy)
    cut = band.threshold - EPSILON
    conds, params = _conditions(band, flt, skipped)
    if upper:
        conds += [f"{score} >= ?", f"{score} < ?"]
        params += [cut, cut + flt.margin]
        order = f"{score} ASC, attempt_id ASC"
    else:
        conds += [f"{score} < ?", f"{score} > ?"]
        params += [cut, cut - flt.margin]
        order = f"{score} DESC, attempt_id DESC"
    sql = (f"SELECT {score} AS score, attempt_id, category_id FROM judgments WHERE {' AND '.join(conds)} "
           f"ORDER BY {order} LIMIT ?")
    for score_value, attempt_id, category_id in store.conn.execute(sql, (*params, limit)):
        yield QueueItem(attempt_id=attempt_id, category_id=category_id, score=score_value,
                        threshold=band.threshold, distance=abs(score_value - cut),
                        judge_verdict="keep" if upper else "fail")


def borderline(store: Store, flt: QueueFilter | None = None, *, limit: int | None = 1,
               skipped: tuple[int, ...] = (), policy: Policy | None = None) -> list[QueueItem]:
    """The first `limit` borderline attempts (None: all of them), nearest the threshold first.

    `skipped` attempts (the curator's "not now") are left out. Items carry no expected_review_id; `next_item`
    adds it to the one it returns.
    """
    flt = (flt or QueueFilter()).resolved()
    policy = policy or active_policy(store)
    per_side = -1 if limit is None else limit  # LIMIT -1 = no limit
    streams = [_side(store, policy, band, flt, tuple(skipped), upper, per_side)
               for band in _bands(policy, flt) for upper in (True, False)]
    merged = heapq.merge(*streams, key=lambda item: item.distance)  # stable: earlier streams win ties
    out: list[QueueItem] = []
    for item in merged:
        out.append(item)
        if limit is not None and len(out) >= limit:
            break
    return out


def next_item(store: Store, flt: QueueFilter | None = None, *, skipped: tuple[int, ...] = (),
              policy: Policy | None = None) -> QueueItem | None:
    found = borderline(store, flt, limit=1, skipped=skipped, policy=policy)
    if not found:
        return None
    return found[0].model_copy(update={"expected_review_id": latest_review_id(store, found[0].attempt_id)})


def borderline_count(store: Store, flt: QueueFilter | None = None, *, policy: Policy | None = None) -> int:
    """How many borderline attempts the filter holds: per band, a range count of the score index."""
    flt = (flt or QueueFilter()).resolved()
    policy = policy or active_policy(store)
    score = policy.score_sql("")
    total = 0
    for band in _bands(policy, flt):
        cut = band.threshold - EPSILON
        conds, params = list(band.conds), list(band.params)
        if flt.edit_type_id is not None:
            conds.append("EXISTS (SELECT 1 FROM attempts a WHERE a.id = judgments.attempt_id AND a.edit_type_id = ?)")
            params.append(flt.edit_type_id)
        conds += [f"{score} > ?", f"{score} < ?"]
        params += [cut - flt.margin, cut + flt.margin]
        where = " AND ".join(conds)
        # The human-decided attempts are few: subtracting them keeps the big count a range count, which only
        # new judgments can change (decisions cannot), so it is cached against the newest judgment's revision.
        in_range = _range_count(store, f"SELECT COUNT(*) FROM judgments WHERE {where}", tuple(params))
        # CROSS JOIN fixes the loop order: over human_decisions, each judgment found by its primary key.
        decided = store.scalar(
            f"SELECT COUNT(*) FROM human_decisions h CROSS JOIN judgments ON judgments.attempt_id = h.attempt_id "
            f"WHERE {where}", tuple(params))
        total += int(in_range) - int(decided)  # type: ignore[arg-type]
    return total


_RANGE_COUNTS: dict[tuple, tuple[object, int]] = {}  # (database, sql, params) -> (judgments' max rev, count)


def _range_count(store: Store, sql: str, params: tuple) -> int:
    version = store.scalar("SELECT MAX(rev) FROM judgments")  # the judgments_rev index: one seek
    key = (str(store.workspace.resolve()), sql, params)
    cached = _RANGE_COUNTS.get(key)
    if cached is not None and cached[0] == version:
        return cached[1]
    count = int(store.scalar(sql, params))  # type: ignore[arg-type]
    if len(_RANGE_COUNTS) > 1000:
        _RANGE_COUNTS.clear()
    _RANGE_COUNTS[key] = (version, count)
    return count


# -- progress --------------------------------------------------------------------------------------------


def local_midnight_utc(now: datetime | None = None) -> str:
    """Today's start in the server's local time, as a store timestamp (UTC, the format reviews use)."""
    local = (now or datetime.now()).astimezone()
    midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
    return midnight.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def decided_since(store: Store, curator: str, *since: str) -> list[int]:
    """For each timestamp, the distinct attempts `curator` decided (keep or fail) since then.

    Reviews are appended in time order (one writer at a time; the timestamp is taken inside the write), so this
    reads the log backwards and stops at the first event older than the oldest `since`: the cost is the day's
    reviews, not the whole log.
    """
    oldest = min(since)
    seen: list[set[int]] = [set() for _ in since]
    cursor = store.conn.execute("SELECT curator, created_at, attempt_id, new_verdict FROM reviews ORDER BY id DESC")
    while rows := cursor.fetchmany(500):
        for who, created_at, attempt_id, new_verdict in rows:
            if created_at < oldest:
                cursor.close()
                return [len(s) for s in seen]
            if who == curator and new_verdict is not None:
                for i, start in enumerate(since):
                    if created_at >= start:
                        seen[i].add(attempt_id)
    return [len(s) for s in seen]


def progress(store: Store, curator: str, flt: QueueFilter | None = None, *, since: str | None = None,
             policy: Policy | None = None) -> Progress:
    today = local_midnight_utc()
    session = since or today
    decided_today, decided_session = decided_since(store, curator, today, session)
    return Progress(curator=curator, decided_today=decided_today, decided_session=decided_session,
                    remaining=borderline_count(store, flt, policy=policy))


# -- what the tab calls ------------------------------------------------------------------------------------


CLAIM_SECONDS = 120.0


class Claims:
    """Which curator is looking at which queue item right now, so that curators working the same queue are
    shown different items instead of racing for the nearest one (the slower would only get a conflict).

    Kept in memory: the studio is one process, and a claim is a courtesy, not a lock — a decision is still
    checked against the review log (expected_review_id). A claim lapses after CLAIM_SECONDS, so a tab left open
    holds nothing for long, and each curator holds one item at a time.
    """

    def __init__(self, seconds: float = CLAIM_SECONDS):
        self.seconds = seconds
        self._lock = threading.Lock()
        self._held: dict[tuple[str, int], tuple[str, float]] = {}  # (workspace, attempt) -> (curator, expiry)

    def held_by_others(self, workspace: str, curator: str, now: float) -> tuple[int, ...]:
        with self._lock:
            self._held = {k: v for k, v in self._held.items() if v[1] > now}
            return tuple(a for (w, a), (c, _) in self._held.items() if w == workspace and c != curator)

    def claim(self, workspace: str, attempt_id: int, curator: str, now: float) -> None:
        with self._lock:
            self._held = {k: v for k, v in self._held.items() if not (k[0] == workspace and v[0] == curator)}
            self._held[(workspace, attempt_id)] = (curator, now + self.seconds)


CLAIMS = Claims()


def queue_view(store: Store, flt: QueueFilter | None = None, *, curator: str, since: str | None = None,
               skipped: tuple[int, ...] = (), now: float | None = None) -> QueueView:
    """The next item (not one another curator is looking at) and the curator's progress, under the active
    policy. The item is claimed for `curator` until they move on or CLAIM_SECONDS pass."""
    flt = flt or QueueFilter()
    policy = active_policy(store)
    workspace, now = str(store.workspace.resolve()), time.monotonic() if now is None else now
    held = CLAIMS.held_by_others(workspace, curator, now)
    item = next_item(store, flt, skipped=(*skipped, *held), policy=policy)
    if item is not None:
        CLAIMS.claim(workspace, item.attempt_id, curator, now)
    return QueueView(item=item, progress=progress(store, curator, flt, since=since, policy=policy), filter=flt,
                     policy=f"{policy.name}@{policy.version}")


def decide(store: Store, attempt_id: int, decision: Decision, *, curator: str, expected_review_id: int | None,
           flt: QueueFilter | None = None, since: str | None = None, skipped: tuple[int, ...] = (),
           reason: str | None = None, now: float | None = None) -> QueueStep:
    """Keep or fail the attempt (refused with ReviewConflict if someone decided it since it was shown), or skip
    it for this session; then the queue's next item."""
    if decision not in ("keep", "fail", "skip"):
        raise ValueError(f"decision must be keep, fail or skip, not {decision!r}")
    event = None
    if decision == "skip":
        skipped = (*skipped, attempt_id) if attempt_id not in skipped else tuple(skipped)
    else:
        event = record_review(store, attempt_id, decision, curator=curator, reason=reason or None,
                              expected_review_id=expected_review_id)
    return QueueStep(decided=event, skipped=tuple(skipped),
                     view=queue_view(store, flt, curator=curator, since=since, skipped=tuple(skipped), now=now))


def preview_apply_all(store: Store, flt: QueueFilter | None = None) -> ApplyAllPreview:
    """What "apply to all in the current filter" would touch: every borderline attempt of the filter."""
    flt = flt or QueueFilter()
    policy = active_policy(store)
    items = borderline(store, flt, limit=MAX_BATCH + 1, policy=policy)
    count = len(items) if len(items) <= MAX_BATCH else borderline_count(store, flt, policy=policy)
    return ApplyAllPreview(filter=flt, policy=f"{policy.name}@{policy.version}", count=count,
                           judge_keep=sum(i.judge_verdict == "keep" for i in items))


def apply_all(store: Store, flt: QueueFilter | None, verdict: Literal["keep", "fail"], *, curator: str,
              expected_count: int, reason: str | None = None) -> BatchResult:
    """One undoable batch deciding every borderline attempt of the filter.

    The list is read inside the batch's write transaction, so an attempt another curator decides meanwhile is
    either decided before (then it is no longer borderline and is left alone) or waits for the batch. If the
    number differs from the preview the curator confirmed, nothing is written (QueueChanged).
    """
    if verdict not in ("keep", "fail"):
        raise ValueError(f"verdict must be keep or fail, not {verdict!r}")
    flt = flt or QueueFilter()
    with store.transaction():
        ids = [i.attempt_id for i in borderline(store, flt, limit=MAX_BATCH + 1)]
        if len(ids) > MAX_BATCH:
            raise QueueChanged(f"more than {MAX_BATCH:,} attempts: narrow the filter or the margin")
        if len(ids) != expected_count:
            raise QueueChanged(f"the queue changed since the preview ({expected_count} then, {len(ids)} now): "
                               "preview again")
        if not ids:
            raise QueueChanged("nothing to apply: the queue is empty under this filter")
        batch_id = record_batch(store, ids, verdict, curator=curator, reason=reason or None)
    return BatchResult(batch_id=batch_id, count=len(ids), verdict=verdict)


def undo_apply_all(store: Store, batch_id: str, *, curator: str) -> BatchResult:
    """Undo a batch (later decisions on its attempts stay); returns the undo batch and how many it restored."""
    undo_id = undo_batch(store, batch_id, curator=curator)
    restored = int(store.scalar("SELECT COUNT(*) FROM reviews WHERE batch_id = ?", (undo_id,)))  # type: ignore[arg-type]
    return BatchResult(batch_id=undo_id, count=restored, verdict=None)
