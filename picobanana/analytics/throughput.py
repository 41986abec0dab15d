"""Curator throughput: human decisions per curator per day (UTC), from the append-only `reviews` log.

The mirror does not copy `reviews` (it has no `rev` column), so this reads SQLite — without a scan of the
whole log. Reviews are only ever appended, each inside a write transaction (BEGIN IMMEDIATE serialises the
writers) that stamps `created_at` from the clock, so ids and timestamps rise together: the first review of the
window is found by a binary search over the primary key (≈ log₂ n point lookups), and the window itself is a
primary-key range. Every event counts, including clears ("hand back to the policy") and undo batches.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from pydantic import BaseModel

from picobanana.store.db import Store


class CuratorDay(BaseModel):
    curator: str
    day: str  # YYYY-MM-DD, UTC
    decisions: int
    keep: int
    fail: int
    clear: int  # decisions handed back to the policy


class CuratorTotal(BaseModel):
    curator: str
    decisions: int
    days_active: int
    per_active_day: float


class Throughput(BaseModel):
    since: str  # the window's first day (UTC), inclusive
    days: list[CuratorDay]  # by day, then curator
    curators: list[CuratorTotal]  # most decisions first
    decisions: int


def first_review_since(store: Store, since: str) -> int | None:
    """A review id m such that the reviews created at or after `since` (an ISO timestamp) are exactly those
    with id ≥ m; None when there are none."""
    lo = store.scalar("SELECT MIN(id) FROM reviews")
    hi = store.scalar("SELECT MAX(id) FROM reviews")
    if lo is None or store.scalar("SELECT created_at FROM reviews WHERE id = ?", (hi,)) < since:
        return None
    # f(m) = "the first review with id ≥ m was created at or after `since`" is monotone in m (ids and
    # timestamps rise together); the smallest m where it holds bounds the window (gaps in ids do no harm).
    lo, hi = int(lo), int(hi)
    while lo < hi:
        mid = (lo + hi) // 2
        at = store.scalar("SELECT created_at FROM reviews WHERE id >= ? ORDER BY id LIMIT 1", (mid,))
        if at >= since:
            hi = mid
        else:
            lo = mid + 1
    return lo


def curator_throughput(store: Store, days: int = 30, now: datetime | None = None) -> Throughput:
    """Decisions per curator per day over the last `days` days (today included)."""
    if days < 1:
        raise ValueError("days must be at least 1")
    today = (now or datetime.now(UTC)).astimezone(UTC).date()
    since = (today - timedelta(days=days - 1)).isoformat()
    first = first_review_since(store, since)
    rows = [] if first is None else store.query(
        "SELECT curator, substr(created_at, 1, 10) AS day, count(*) AS n, "
        "sum(new_verdict IS 'keep') AS keep, sum(new_verdict IS 'fail') AS fail, "
        "sum(new_verdict IS NULL) AS clear FROM reviews WHERE id >= ? AND created_at < ? "
        "GROUP BY day, curator ORDER BY day, curator", (first, (today + timedelta(days=1)).isoformat()))
    per_day = [CuratorDay(curator=r["curator"], day=r["day"], decisions=r["n"], keep=r["keep"], fail=r["fail"],
                          clear=r["clear"]) for r in rows]
    totals: dict[str, list[int]] = {}
    for d in per_day:
        seen = totals.setdefault(d.curator, [0, 0])
        seen[0] += d.decisions
        seen[1] += 1
    curators = sorted((CuratorTotal(curator=c, decisions=n, days_active=active, per_active_day=n / active)
                       for c, (n, active) in totals.items()), key=lambda t: (-t.decisions, t.curator))
    return Throughput(since=since, days=per_day, curators=curators, decisions=sum(d.decisions for d in per_day))
