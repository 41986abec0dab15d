"""The review queue: borderline attempts nearest the threshold first, decisions, progress, apply-to-all + undo."""

from __future__ import annotations

import random
import time

import pytest
from builders import add_attempt

from picobanana.curation.queue import (
    QueueChanged,
    QueueFilter,
    apply_all,
    borderline,
    borderline_count,
    decide,
    decided_since,
    local_midnight_utc,
    next_item,
    preview_apply_all,
    progress,
    queue_view,
    undo_apply_all,
)
from picobanana.errors import ReviewConflict
from picobanana.store import CategoryRule, Policy, activate_policy, active_policy, record_review, save_policy
from picobanana.store.db import utc_now
from picobanana.store.policies import EPSILON
from picobanana.store.verdicts import attempt_verdict, effective_verdict_view_sql


def _flat(score: float) -> tuple[float, float, float, float]:
    return (score, score, score, score)  # equal sub-scores: the weighted score is `score` under any weights


def _scored(store, scores, *, edit_type_id=1, prefix="a") -> list[int]:
    return [add_attempt(store, f"{prefix}{i}", edit_type_id=edit_type_id, scores=_flat(s))
            for i, s in enumerate(scores)]


def _reference(store, policy: Policy, margin: float, category_id=None, edit_type_id=None) -> list[tuple[float, int]]:
    """Borderline by definition, straight from the effective-verdicts SQL: (distance, attempt id)."""
    rows = store.query(f"SELECT attempt_id, category_id, edit_type_id, score, human_verdict "
                       f"FROM ({effective_verdict_view_sql(policy)})")
    out = []
    for r in rows:
        if r["score"] is None or r["human_verdict"] is not None:
            continue
        if category_id is not None and r["category_id"] != category_id:
            continue
        if edit_type_id is not None and r["edit_type_id"] != edit_type_id:
            continue
        distance = abs(r["score"] - (policy.threshold_for(r["category_id"]) - EPSILON))
        if distance < margin:
            out.append((distance, r["attempt_id"]))
    return sorted(out)


def test_nearest_the_threshold_first_on_both_sides(store):
    ids = dict(zip([0.701, 0.685, 0.73, 0.66, 0.749, 0.751, 0.64, 0.9, 0.3],
                   _scored(store, [0.701, 0.685, 0.73, 0.66, 0.749, 0.751, 0.64, 0.9, 0.3]), strict=True))
    items = borderline(store, QueueFilter(margin=0.05), limit=None)
    assert [i.attempt_id for i in items] == [ids[s] for s in (0.701, 0.685, 0.73, 0.66, 0.749)]
    assert [i.judge_verdict for i in items] == ["keep", "fail", "keep", "fail", "keep"]
    assert next_item(store, QueueFilter(margin=0.05)).attempt_id == ids[0.701]
    assert borderline_count(store, QueueFilter(margin=0.05)) == 5


def test_the_margin_narrows_and_widens_the_queue(store):
    _scored(store, [0.70, 0.69, 0.68, 0.66, 0.62, 0.55])
    counts = [borderline_count(store, QueueFilter(margin=m)) for m in (0.005, 0.015, 0.05, 0.1, 0.2)]
    assert counts == [1, 2, 4, 5, 6]
    assert [len(borderline(store, QueueFilter(margin=m), limit=None)) for m in (0.005, 0.015, 0.05, 0.1, 0.2)] \
        == counts


def test_a_tie_at_the_threshold_counts_as_kept_and_comes_first(store):
    exact = _scored(store, [0.7])[0]
    item = next_item(store)
    assert item.attempt_id == exact and item.judge_verdict == "keep" and item.distance < 1e-8


def test_per_category_thresholds_decide_what_is_borderline(store):
    # Category 1 (edit type 1) keeps the global 0.7; Human-Centric (category 6, edit type 20) uses 0.5.
    pixel = _scored(store, [0.52, 0.69], edit_type_id=1, prefix="p")
    human = _scored(store, [0.52, 0.69], edit_type_id=20, prefix="h")
    activate_policy(store, save_policy(store, Policy(name="people", per_category={6: CategoryRule(threshold=0.5)}),
                                       created_by="t").id, activated_by="t")
    items = borderline(store, QueueFilter(margin=0.05), limit=None)
    assert [i.attempt_id for i in items] == [pixel[1], human[0]]  # 0.01 from 0.7, then 0.02 from 0.5
    assert [i.threshold for i in items] == [0.7, 0.5]
    assert [i.attempt_id for i in borderline(store, QueueFilter(category_id=6), limit=None)] == [human[0]]
    assert borderline_count(store, QueueFilter()) == 2
    assert borderline_count(store, QueueFilter(category_id=1)) == 1


def test_random_workspace_matches_the_definition(store):
    """Every filter and margin, under a policy with per-category weights and thresholds, against the SQL view."""
    rng = random.Random(7)
    types = (1, 2, 3, 13, 20, 21)
    for i in range(240):
        subs = tuple(round(rng.choice((0.5, 0.6, 0.65, 0.7, 0.72, 0.75, 0.8)) + rng.choice((0, 0.01, -0.01)), 2)
                     for _ in range(4))
        add_attempt(store, f"r{i}", edit_type_id=rng.choice(types), scores=subs)
    policy = save_policy(store, Policy(name="mixed", threshold=0.68, per_category={
        6: CategoryRule(threshold=0.62), 2: CategoryRule(weights=None, threshold=0.74),
        4: CategoryRule(weights=Policy().weights.model_copy(update={"quality": 0.6}))}), created_by="t")
    activate_policy(store, policy.id, activated_by="t")
    policy = active_policy(store)
    decided = [r["attempt_id"] for r in store.query("SELECT attempt_id FROM judgments ORDER BY attempt_id")][::9]
    for attempt_id in decided:
        record_review(store, attempt_id, rng.choice(("keep", "fail")), curator="bob")
    for flt in (QueueFilter(margin=0.03), QueueFilter(margin=0.08), QueueFilter(category_id=6, margin=0.05),
                QueueFilter(edit_type_id=3, margin=0.08), QueueFilter(category_id=4, margin=0.1)):
        expected = _reference(store, policy, flt.margin, flt.category_id, flt.edit_type_id)
        got = borderline(store, flt, limit=None)
        assert sorted(i.attempt_id for i in got) == sorted(a for _, a in expected)
        assert [round(i.distance, 12) for i in got] == sorted(round(d, 12) for d, _ in expected)
        assert borderline_count(store, flt) == len(expected)
        assert not set(decided) & {i.attempt_id for i in got}
    assert len(borderline(store, QueueFilter(margin=0.08), limit=3)) == 3


def test_human_decisions_leave_the_queue_and_clearing_brings_them_back(store):
    a, b = _scored(store, [0.70, 0.71])
    record_review(store, a, "fail", curator="bob")
    assert [i.attempt_id for i in borderline(store, limit=None)] == [b]
    record_review(store, a, None, curator="bob")
    item = next_item(store)
    assert item.attempt_id == a
    assert item.expected_review_id is not None  # the cleared decision is the review to decide against


def test_decide_records_and_advances_skip_only_moves_on(store):
    a, b, c = _scored(store, [0.70, 0.71, 0.73])
    view = queue_view(store, curator="alice")
    assert view.item.attempt_id == a and view.progress.remaining == 3
    step = decide(store, a, "keep", curator="alice", expected_review_id=view.item.expected_review_id)
    assert step.decided.curator == "alice" and step.decided.new_verdict == "keep"
    assert attempt_verdict(store, a).source == "human"
    assert step.view.item.attempt_id == b and step.view.progress.remaining == 2
    step = decide(store, b, "skip", curator="alice", expected_review_id=None, skipped=step.skipped)
    assert step.decided is None and step.skipped == (b,)
    assert step.view.item.attempt_id == c and step.view.progress.remaining == 2  # skipped is still borderline
    assert attempt_verdict(store, b).source == "judge"
    step = decide(store, c, "fail", curator="alice", expected_review_id=None, skipped=step.skipped)
    assert step.view.item is None  # only the skipped one is left
    assert next_item(store).attempt_id == b  # a new session sees it again


def test_a_stale_decision_is_refused(store):
    a = _scored(store, [0.70])[0]
    item = next_item(store)
    record_review(store, a, "fail", curator="bob")  # bob decides after alice loaded the item
    with pytest.raises(ReviewConflict, match="bob"):
        decide(store, a, "keep", curator="alice", expected_review_id=item.expected_review_id)
    assert attempt_verdict(store, a).human_verdict == "fail"


def test_progress_counts_today_session_and_remaining(store):
    ids = _scored(store, [0.70, 0.71, 0.72, 0.73])
    record_review(store, ids[0], "keep", curator="alice")
    time.sleep(0.005)  # timestamps have millisecond resolution
    session = utc_now()
    record_review(store, ids[1], "fail", curator="alice")
    record_review(store, ids[1], "keep", curator="alice")  # the same attempt twice counts once
    record_review(store, ids[2], "fail", curator="bob")
    got = progress(store, "alice", QueueFilter(), since=session)
    assert (got.decided_today, got.decided_session, got.remaining) == (2, 1, 1)
    assert got.line().startswith("alice: 2 decided today · 1 this session · 1 borderline left")
    assert decided_since(store, "bob", local_midnight_utc()) == [1]
    assert decided_since(store, "alice", "9999") == [0]


def test_apply_all_is_one_undoable_batch_and_undo_keeps_later_decisions(store):
    ids = _scored(store, [0.69, 0.70, 0.72, 0.90])  # 0.90 is not borderline
    flt = QueueFilter(margin=0.05)
    preview = preview_apply_all(store, flt)
    assert (preview.count, preview.judge_keep, preview.allowed) == (3, 2, True)
    with pytest.raises(QueueChanged, match="preview again"):
        apply_all(store, flt, "keep", curator="alice", expected_count=2)
    assert store.scalar("SELECT COUNT(*) FROM reviews") == 0  # nothing written
    result = apply_all(store, flt, "keep", curator="alice", expected_count=3)
    rows = store.query("SELECT DISTINCT batch_id, curator FROM reviews")
    assert [tuple(r) for r in rows] == [(result.batch_id, "alice")] and result.count == 3
    assert borderline_count(store, flt) == 0 and next_item(store, flt) is None
    record_review(store, ids[0], "fail", curator="bob")  # a later decision on one of them
    undone = undo_apply_all(store, result.batch_id, curator="alice")
    assert undone.count == 2
    assert attempt_verdict(store, ids[0]).human_verdict == "fail"  # bob's decision stays
    assert {i.attempt_id for i in borderline(store, flt, limit=None)} == {ids[1], ids[2]}
    assert attempt_verdict(store, ids[3]).source == "judge"
    with pytest.raises(QueueChanged, match="empty"):
        apply_all(store, QueueFilter(category_id=5), "keep", curator="alice", expected_count=0)


def test_the_seeks_use_the_score_indexes(store):
    """The next item is a range scan of the active policy's expression index, never a sort of the table."""
    from picobanana.curation import queue

    _scored(store, [0.7])
    policy = active_policy(store)
    for flt in (QueueFilter(), QueueFilter(category_id=2)):
        band = queue._bands(policy, flt.resolved())[0]
        conds, params = queue._conditions(band, flt, (5,))
        score = policy.score_sql("")
        plan = " | ".join(r[3] for r in store.query(
            f"EXPLAIN QUERY PLAN SELECT {score}, attempt_id FROM judgments WHERE {' AND '.join(conds)} "
            f"AND {score} >= 0.6 AND {score} < 0.7 ORDER BY {score} ASC, attempt_id ASC LIMIT 3", tuple(params)))
        assert "USING INDEX judgments_active" in plan and "TEMP B-TREE" not in plan, plan


def test_counts_follow_new_and_changed_judgments(store):
    """The range count is cached against the newest judgment: a new or re-judged attempt must show at once."""
    from picobanana.store.writes import NewJudgment, record_judgments

    ids = _scored(store, [0.70, 0.90])
    assert borderline_count(store) == 1
    _scored(store, [0.71], prefix="b")
    assert borderline_count(store) == 2
    with store.transaction() as rev:
        record_judgments(store, [NewJudgment(ids[1], *_flat(0.69))], rev)  # re-judged into the margin
    assert borderline_count(store) == 3
    record_review(store, ids[0], "keep", curator="bob")  # a decision: not a judgment, still counted at once
    assert borderline_count(store) == 2


def test_two_curators_are_shown_different_items(store):
    from picobanana.curation.queue import CLAIM_SECONDS

    a, b, c = _scored(store, [0.70, 0.71, 0.73], prefix="claims")
    assert queue_view(store, curator="alice", now=1000.0).item.attempt_id == a
    assert queue_view(store, curator="alice", now=1001.0).item.attempt_id == a  # her own claim is hers
    assert queue_view(store, curator="bob", now=1002.0).item.attempt_id == b
    step = decide(store, a, "keep", curator="alice", expected_review_id=None, now=1003.0)
    assert step.view.item.attempt_id == c  # b is bob's while he looks at it
    later = 1002.0 + CLAIM_SECONDS + 1
    assert queue_view(store, curator="carol", now=later).item.attempt_id == b  # bob's claim lapsed
