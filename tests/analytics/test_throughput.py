"""Curator throughput: decisions per curator per day from the reviews log, over a window found by id."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from builders import add_attempt

from picobanana.analytics.throughput import curator_throughput, first_review_since
from picobanana.store import record_review

NOW = datetime(2026, 3, 10, 15, 0, tzinfo=UTC)


def _append(store, attempt_id, curator, day, verdict="keep", n=1):
    """Reviews with chosen timestamps (record_review stamps the clock; the log only needs increasing times)."""
    with store.transaction():
        for i in range(n):
            store.conn.execute("INSERT INTO reviews (attempt_id, curator, created_at, old_verdict, new_verdict) "
                               "VALUES (?, ?, ?, 'keep', ?)", (attempt_id, curator, f"{day}T10:{i % 60:02d}:00.000Z",
                                                                verdict))


@pytest.fixture
def reviewed(store):
    a = add_attempt(store, "a", scores=(0.9, 0.9, 0.9, 0.9))
    _append(store, a, "alice", "2026-01-05", n=3)  # outside a 30-day window
    _append(store, a, "alice", "2026-02-20", n=2)
    _append(store, a, "bob", "2026-02-20", "fail")
    _append(store, a, "alice", "2026-03-09", "fail", n=4)
    _append(store, a, "bob", "2026-03-10", None)  # a clear counts as a decision too
    _append(store, a, "carol", "2026-03-11")  # after `now`: not in the window
    return store


def test_decisions_per_curator_per_day_in_the_window(reviewed):
    result = curator_throughput(reviewed, days=30, now=NOW)
    assert result.since == "2026-02-09"
    got = [(d.day, d.curator, d.decisions, d.keep, d.fail, d.clear) for d in result.days]
    assert got == [("2026-02-20", "alice", 2, 2, 0, 0), ("2026-02-20", "bob", 1, 0, 1, 0),
                   ("2026-03-09", "alice", 4, 0, 4, 0), ("2026-03-10", "bob", 1, 0, 0, 1)]
    assert [(c.curator, c.decisions, c.days_active, c.per_active_day) for c in result.curators] == \
           [("alice", 6, 2, 3.0), ("bob", 2, 2, 1.0)]
    assert result.decisions == 8
    assert curator_throughput(reviewed, days=1, now=NOW).decisions == 1
    assert curator_throughput(reviewed, days=100, now=NOW).decisions == 11


def test_the_window_starts_at_the_first_review_of_its_first_day(reviewed):
    ids = [r[0] for r in reviewed.query("SELECT id FROM reviews ORDER BY id")]
    assert first_review_since(reviewed, "2026-01-01") == ids[0]
    assert first_review_since(reviewed, "2026-02-20") == ids[3]
    assert first_review_since(reviewed, "2026-03-09T10:00:30") == ids[7]
    assert first_review_since(reviewed, "2026-03-12") is None


def test_empty_log_and_real_decisions(store):
    assert curator_throughput(store).decisions == 0
    a = add_attempt(store, "b", scores=(0.2, 0.2, 0.2, 0.2))
    record_review(store, a, "keep", curator="dmitri")
    result = curator_throughput(store)
    assert [(c.curator, c.decisions) for c in result.curators] == [("dmitri", 1)]
    with pytest.raises(ValueError):
        curator_throughput(store, days=0)
