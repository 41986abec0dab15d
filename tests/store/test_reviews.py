"""Human decisions: append-only log, conflicts between curators, batches and undo."""

from __future__ import annotations

import sqlite3

import pytest
from builders import add_attempt

from picobanana.errors import ReviewConflict
from picobanana.store import attempt_verdict, record_batch, record_review, review_history, undo_batch
from picobanana.store.reviews import latest_review_id


def test_a_review_records_who_when_old_and_new_verdict(store):
    attempt = add_attempt(store, "a", scores=(0.9, 0.9, 0.9, 0.9))
    event = record_review(store, attempt, "fail", curator="ann", reason="blurry face")
    assert (event.curator, event.old_verdict, event.new_verdict, event.reason) == ("ann", "keep", "fail",
                                                                                  "blurry face")
    assert event.created_at.endswith("Z")
    assert attempt_verdict(store, attempt).verdict == "fail"


def test_the_log_cannot_be_edited_or_deleted(store):
    attempt = add_attempt(store, "a")
    record_review(store, attempt, "keep", curator="ann")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        store.conn.execute("UPDATE reviews SET new_verdict = 'fail'")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        store.conn.execute("DELETE FROM reviews")


def test_clearing_hands_the_decision_back_to_the_policy(store):
    attempt = add_attempt(store, "a", scores=(0.9, 0.9, 0.9, 0.9))
    record_review(store, attempt, "fail", curator="ann")
    record_review(store, attempt, None, curator="ann")
    verdict = attempt_verdict(store, attempt)
    assert (verdict.verdict, verdict.source) == ("keep", "judge")
    assert [e.new_verdict for e in review_history(store, attempt)] == ["fail", None]


def test_a_stale_decision_is_refused_not_silently_applied(store):
    attempt = add_attempt(store, "a", scores=(0.9, 0.9, 0.9, 0.9))
    seen_by_both = latest_review_id(store, attempt)
    record_review(store, attempt, "fail", curator="ann", expected_review_id=seen_by_both)
    with pytest.raises(ReviewConflict, match="ann"):
        record_review(store, attempt, "keep", curator="bob", expected_review_id=seen_by_both)
    assert attempt_verdict(store, attempt).human_verdict == "fail"
    assert len(review_history(store, attempt)) == 1


def test_batch_undo_restores_previous_decisions_but_not_later_ones(store):
    a = add_attempt(store, "a", scores=(0.9, 0.9, 0.9, 0.9))
    b = add_attempt(store, "b", scores=(0.9, 0.9, 0.9, 0.9))
    c = add_attempt(store, "c", scores=(0.9, 0.9, 0.9, 0.9))
    record_review(store, a, "keep", curator="ann")
    batch = record_batch(store, [a, b, c], "fail", curator="bob")
    record_review(store, c, "keep", curator="cy")  # decided again after the batch
    undo_batch(store, batch, curator="bob")
    assert attempt_verdict(store, a).human_verdict == "keep"  # ann's decision is back
    assert attempt_verdict(store, b).source == "judge"  # had no human decision before
    assert attempt_verdict(store, c).human_verdict == "keep"  # cy's later decision untouched
    assert store.scalar("SELECT COUNT(*) FROM reviews") == 1 + 3 + 1 + 2
