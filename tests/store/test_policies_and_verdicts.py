"""Policies and the computed effective verdict: human > judge > release/status."""

from __future__ import annotations

import pytest
from builders import add_attempt
from pydantic import ValidationError

from picobanana.errors import StoreError
from picobanana.store import (
    CategoryRule,
    Policy,
    Weights,
    activate_policy,
    active_policy,
    attempt_verdict,
    get_policy,
    record_review,
    save_policy,
)


def test_a_new_workspace_is_judged_by_the_paper_policy(store):
    policy = active_policy(store)
    assert (policy.name, policy.version, policy.threshold) == ("paper", 1, 0.7)
    assert policy.weights.as_tuple() == (0.40, 0.25, 0.20, 0.15)


def test_saving_normalises_weights_and_numbers_versions(store):
    first = save_policy(store, Policy(name="mine", weights=Weights(compliance=2, seamlessness=1, preservation=1,
                                                                  quality=0)), created_by="ann")
    second = save_policy(store, Policy(name="mine", threshold=0.5), created_by="ann")
    assert (first.version, second.version) == (1, 2)
    assert first.weights.as_tuple() == (0.5, 0.25, 0.25, 0.0)
    assert get_policy(store, "mine").id == second.id
    assert get_policy(store, "mine@1").id == first.id
    with pytest.raises(StoreError):
        get_policy(store, "nope")


def test_weights_must_not_all_be_zero():
    with pytest.raises(ValidationError):
        Weights(compliance=0, seamlessness=0, preservation=0, quality=0)


def test_scores_exactly_at_the_threshold_are_kept(store):
    attempt = add_attempt(store, "a", scores=(0.7, 0.7, 0.7, 0.7))
    verdict = attempt_verdict(store, attempt)
    assert verdict.verdict == "keep" and verdict.source == "judge"
    assert verdict.score == pytest.approx(0.7)
    below = add_attempt(store, "b", scores=(0.69, 0.7, 0.7, 0.7))
    assert attempt_verdict(store, below).verdict == "fail"


def test_sql_and_python_scores_agree(store):
    policy = Policy(weights=Weights(compliance=0.3, seamlessness=0.3, preservation=0.3, quality=0.1),
                    per_category={2: CategoryRule(weights=Weights(compliance=1, seamlessness=0, preservation=0,
                                                                  quality=0))})
    policy = save_policy(store, policy, created_by="t")
    activate_policy(store, policy.id, activated_by="t")
    subscores = (0.91, 0.37, 0.55, 0.12)
    for edit_type_id, category_id in ((1, 1), (4, 2)):
        attempt = add_attempt(store, f"a{edit_type_id}", edit_type_id=edit_type_id, scores=subscores)
        assert attempt_verdict(store, attempt).score == policy.score(subscores, category_id)
    assert policy.score(subscores, 2) == 0.91


def test_per_category_threshold_applies_only_to_its_category(store):
    policy = save_policy(store, Policy(name="lenient-text", per_category={5: CategoryRule(threshold=0.5)}),
                         created_by="t")
    activate_policy(store, policy.id, activated_by="t")
    text_edit = add_attempt(store, "text", edit_type_id=16, scores=(0.6, 0.6, 0.6, 0.6))
    tone_edit = add_attempt(store, "tone", edit_type_id=1, scores=(0.6, 0.6, 0.6, 0.6))
    assert attempt_verdict(store, text_edit).verdict == "keep"
    assert attempt_verdict(store, tone_edit).verdict == "fail"


def test_changing_the_policy_moves_judged_verdicts_but_never_human_decisions(store):
    judged = add_attempt(store, "judged", scores=(0.75, 0.75, 0.75, 0.75))
    overruled = add_attempt(store, "overruled", scores=(0.75, 0.75, 0.75, 0.75))
    record_review(store, overruled, "keep", curator="ann")
    strict = save_policy(store, Policy(name="strict", threshold=0.9), created_by="t")
    activate_policy(store, strict.id, activated_by="t")
    assert attempt_verdict(store, judged).verdict == "fail"
    assert attempt_verdict(store, overruled).verdict == "keep"
    assert attempt_verdict(store, overruled).source == "human"
    activate_policy(store, "paper", activated_by="t")
    assert attempt_verdict(store, judged).verdict == "keep"


@pytest.mark.parametrize("status, origin, expected, source", [
    ("ok", "release", "keep", "release"),
    ("rejected", "release", "fail", "release"),
    ("ok", "pipeline", "pending", "none"),
    ("running", "pipeline", "pending", "none"),
    ("no_image", "pipeline", "fail", "status"),
    ("blocked", "pipeline", "fail", "status"),
])
def test_unjudged_attempts_follow_their_status(store, status, origin, expected, source):
    attempt = add_attempt(store, "a", status=status, origin=origin)
    verdict = attempt_verdict(store, attempt)
    assert (verdict.verdict, verdict.source) == (expected, source)


def test_a_judgment_overrides_the_release_verdict(store):
    attempt = add_attempt(store, "a", origin="release", scores=(0.1, 0.1, 0.1, 0.1))
    assert attempt_verdict(store, attempt).verdict == "fail"


def test_rejudging_keeps_the_old_judgment_in_history(store):
    from picobanana.store.writes import NewJudgment, record_judgments

    attempt = add_attempt(store, "a", scores=(0.9, 0.9, 0.9, 0.9))
    with store.transaction() as rev:
        record_judgments(store, [NewJudgment(attempt, 0.1, 0.1, 0.1, 0.1)], rev)
    assert attempt_verdict(store, attempt).verdict == "fail"
    assert store.scalar("SELECT compliance FROM judgments_history WHERE attempt_id = ?", (attempt,)) == 0.9


def test_activation_rebuilds_the_score_indexes_for_the_new_formula(store):
    policy = save_policy(store, Policy(name="c", weights=Weights(compliance=1, seamlessness=0, preservation=0,
                                                                 quality=0)), created_by="t")
    activate_policy(store, policy.id, activated_by="t")
    plan = store.query(f"EXPLAIN QUERY PLAN SELECT attempt_id FROM judgments WHERE category_id = 3 "
                       f"ORDER BY {policy.score_sql('')} DESC LIMIT 48")
    assert "judgments_active_category_score" in plan[0]["detail"]
    sql = store.scalar("SELECT sql FROM sqlite_master WHERE name = 'judgments_active_score'")
    assert "1.0 * compliance" in sql


def test_a_judgment_always_carries_its_attempts_category(store):
    attempt = add_attempt(store, "text", edit_type_id=16, scores=(0.5, 0.5, 0.5, 0.5))
    assert store.scalar("SELECT category_id FROM judgments WHERE attempt_id = ?", (attempt,)) == 5
