"""Policy tuning: live counts from the mirror equal SQLite's own verdicts; drafts, saving, activating."""

from __future__ import annotations

import importlib.util
import shutil
from collections import Counter

import pytest
from conftest import REPO

from picobanana.curation.tuning import (
    DEFAULT_MARGIN,
    Draft,
    LiveMirror,
    activate,
    activation_preview,
    policy_counts,
    save_draft,
)
from picobanana.errors import StoreError
from picobanana.store import CategoryRule, Policy, Store, Weights, active_policy, record_review
from picobanana.store.db import DB_FILE_NAME
from picobanana.store.policies import EPSILON
from picobanana.store.verdicts import effective_verdict_view_sql

ODD = Policy(name="odd", weights=Weights(compliance=0.7, seamlessness=0.1, preservation=0.1, quality=0.1),
             threshold=0.6, per_category={1: CategoryRule(threshold=0.8),
                                          6: CategoryRule(weights=Weights(compliance=0, seamlessness=1,
                                                                          preservation=0, quality=0))})


@pytest.fixture(scope="module")
def synth_db(tmp_path_factory):
    spec = importlib.util.spec_from_file_location("bench_synth", REPO / "bench" / "synth.py")
    synth = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(synth)
    path = tmp_path_factory.mktemp("tuning") / "ws"
    synth.build_workspace(path, 4000, seed=3, quiet=True)
    return path / DB_FILE_NAME


@pytest.fixture
def store(synth_db, tmp_path):
    (tmp_path / "ws").mkdir()
    shutil.copyfile(synth_db, tmp_path / "ws" / DB_FILE_NAME)
    with Store.open(tmp_path / "ws") as opened:
        yield opened


@pytest.fixture
def live(store):
    opened = LiveMirror(store.workspace)
    yield opened
    opened.close()


def _sqlite_counts(store, policy, margin=DEFAULT_MARGIN):
    """Per category: keep / fail / pending / borderline over turn-1 attempts outside chains, from SQLite
    (borderline as analytics.what_if defines it: |score − (threshold − ε)| < margin)."""
    rows = store.query(
        f"SELECT v.category_id, v.verdict, v.human_verdict, v.score, j.category_id AS jc "
        f"FROM ({effective_verdict_view_sql(policy)}) v JOIN edits e ON e.id = v.edit_id "
        f"LEFT JOIN judgments j ON j.attempt_id = v.attempt_id WHERE v.turn = 1 AND e.chain_id IS NULL")
    out = Counter()
    for r in rows:
        out[(r["category_id"], r["verdict"])] += 1
        if r["score"] is not None and r["human_verdict"] is None and \
                abs(r["score"] - (policy.threshold_for(r["jc"]) - EPSILON)) < margin:
            out[(r["category_id"], "borderline")] += 1
    return out


def _verdicts(store, policy):
    return {r[0]: r[1] for r in store.query(
        f"SELECT attempt_id, verdict FROM ({effective_verdict_view_sql(policy)})")}


@pytest.mark.parametrize("which", ["active", "odd"])
def test_counts_agree_with_the_stores_verdicts(store, live, which):
    policy = active_policy(store) if which == "active" else ODD
    counts = policy_counts(live, policy)
    expected = _sqlite_counts(store, policy)
    assert counts.total.attempts > 3000
    for row in counts.rows:
        for verdict in ("keep", "fail", "pending", "borderline"):
            assert getattr(row, verdict) == expected[(row.category_id, verdict)], (row.category, verdict)
    assert counts.total.keep == sum(r.keep for r in counts.rows)
    assert counts.compared_to == "paper@1"


def test_delta_counts_the_verdicts_that_flip(store, live):
    active = active_policy(store)
    counts = policy_counts(live, ODD)
    before, after = _verdicts(store, active), _verdicts(store, ODD)
    population = {r[0] for r in store.query(
        "SELECT a.id FROM attempts a JOIN edits e ON e.id = a.edit_id WHERE a.turn = 1 AND e.chain_id IS NULL")}
    to_keep = sum(1 for a in population if before[a] == "fail" and after[a] == "keep")
    to_fail = sum(1 for a in population if before[a] == "keep" and after[a] == "fail")
    assert (counts.total.to_keep, counts.total.to_fail) == (to_keep, to_fail)
    assert to_keep + to_fail > 0
    assert counts.total.delta_keep == to_keep - to_fail == -counts.total.delta_fail
    same = policy_counts(live, active)
    assert all(r.delta_keep == r.delta_fail == r.changed == r.delta_borderline == 0 for r in same.rows)


def test_a_category_override_changes_only_its_category(store, live):
    active = active_policy(store)
    draft = Draft.from_policy(active).with_sliders(3, (*active.weights.as_tuple(), 0.95))
    assert draft.per_category == {3: CategoryRule(threshold=0.95)}  # weights still follow the global ones
    counts = policy_counts(live, draft.policy())
    for row in counts.rows:
        if row.category_id == 3:
            assert row.delta_keep < 0 and row.to_fail == -row.delta_keep and row.to_keep == 0
        else:
            assert (row.delta_keep, row.delta_fail, row.changed) == (0, 0, 0), row.category
    assert counts.total.delta_keep == next(r.delta_keep for r in counts.rows if r.category_id == 3)


def test_human_decisions_win_and_the_mirror_follows_new_ones(store, live):
    everything_kept = Policy(name="lenient", threshold=0.0)
    judged = store.query("SELECT a.id, a.category_id FROM attempts a JOIN judgments j ON j.attempt_id = a.id "
                         "JOIN edits e ON e.id = a.edit_id LEFT JOIN human_decisions h ON h.attempt_id = a.id "
                         "WHERE a.turn = 1 AND e.chain_id IS NULL AND h.attempt_id IS NULL LIMIT 1")[0]
    first = policy_counts(live, everything_kept)
    human_fails = store.scalar(
        "SELECT count(*) FROM human_decisions h JOIN attempts a ON a.id = h.attempt_id JOIN edits e "
        "ON e.id = a.edit_id WHERE h.verdict = 'fail' AND a.turn = 1 AND e.chain_id IS NULL")
    unjudged_fails = _sqlite_counts(store, everything_kept)
    assert first.total.fail == sum(n for (c, v), n in unjudged_fails.items() if v == "fail")
    assert first.total.fail >= human_fails > 0  # a threshold of 0 keeps every judged attempt, except these

    record_review(store, judged["id"], "fail", curator="alice")
    second = policy_counts(live, everything_kept)
    assert second.revision > first.revision
    assert second.total.fail == first.total.fail + 1
    row = next(r for r in second.rows if r.category_id == judged["category_id"])
    assert row.fail == next(r.fail for r in first.rows if r.category_id == judged["category_id"]) + 1


def test_draft_scopes_store_only_what_differs():
    draft = Draft()
    assert draft.sliders(None) == (0.40, 0.25, 0.20, 0.15, 0.7)
    custom = draft.with_sliders(6, (0.0, 1.0, 0.0, 0.0, 0.7))
    assert custom.per_category == {6: CategoryRule(weights=Weights(compliance=0, seamlessness=1, preservation=0,
                                                                   quality=0))}
    assert custom.sliders(6) == (0.0, 1.0, 0.0, 0.0, 0.7)
    assert custom.sliders(2) == custom.sliders(None)
    # Proportional weights are the same weights (they are normalised): setting them back removes the rule.
    assert custom.with_sliders(6, (0.8, 0.5, 0.4, 0.3, 0.7)).per_category == {}
    assert custom.without_category(6) == draft
    moved = custom.with_sliders(None, (0.4, 0.25, 0.2, 0.15, 0.6))
    assert moved.threshold == 0.6 and moved.per_category == custom.per_category
    with pytest.raises(ValueError):
        draft.with_sliders(None, (0, 0, 0, 0, 0.5))
    with pytest.raises(ValueError):
        draft.with_sliders(99, (0.4, 0.25, 0.2, 0.15, 0.5))


def test_save_versions_and_activation_records_the_curator(store, live):
    draft = Draft.from_policy(ODD)
    first = save_draft(store, draft, " strict ", curator="alice", note="first try")
    second = save_draft(store, draft.with_sliders(None, (1, 1, 1, 1, 0.8)), "strict", curator="bob")
    assert (first.name, first.version, second.version) == ("strict", 1, 2)
    assert second.weights == Weights(compliance=0.25, seamlessness=0.25, preservation=0.25, quality=0.25)
    assert first.per_category == ODD.per_category.__class__({1: CategoryRule(threshold=0.8),
                                                             6: ODD.per_category[6]})
    for bad in ("", "  ", "a@b", "123"):
        with pytest.raises(StoreError):
            save_draft(store, draft, bad, curator="alice")

    preview = activation_preview(live, store, "strict@1")
    assert preview.policy.name == "strict" and preview.compared_to == "paper@1"
    assert preview.total.delta_keep == policy_counts(live, ODD).total.delta_keep != 0
    activate(store, "strict@1", curator="carol")
    assert active_policy(store).id == first.id
    assert store.scalar("SELECT activated_by FROM policy_activations ORDER BY id DESC LIMIT 1") == "carol"
    after = policy_counts(live, first)  # the new active policy is the baseline now
    assert after.compared_to == "strict@1" and after.total.changed == 0


def test_same_figures_as_what_if_after_decisions_on_unjudged_attempts(store, live):
    from picobanana.analytics import what_if

    unjudged = store.query("SELECT a.id FROM attempts a JOIN edits e ON e.id = a.edit_id LEFT JOIN judgments j "
                           "ON j.attempt_id = a.id WHERE a.turn = 1 AND e.chain_id IS NULL AND j.attempt_id IS NULL "
                           "AND a.status = 'ok' LIMIT 2")
    before = policy_counts(live, ODD)
    record_review(store, unjudged[0]["id"], "fail", curator="bob")
    record_review(store, unjudged[1]["id"], "keep", curator="bob")
    counts = policy_counts(live, ODD)
    assert counts.total.fail == before.total.fail + 1  # a release-kept attempt failed by a human
    reference = what_if(live.fresh(), ODD, DEFAULT_MARGIN, compare_to=active_policy(store))
    by_category = {r.category_id: r for r in reference.rows}
    for row in counts.rows:
        ref = by_category[row.category_id]
        assert (row.keep, row.fail, row.pending, row.borderline, row.changed) == \
               (ref.keep, ref.fail, ref.pending, ref.borderline, ref.changed), row.category


@pytest.mark.parametrize("path", ["patched from SQLite", "re-read from the mirror"])
def test_counts_follow_new_and_rejudged_attempts(store, live, monkeypatch, path):
    from picobanana.curation import live_mirror
    from picobanana.store.writes import NewAttempt, NewJudgment, insert_attempts, record_judgments

    if path == "re-read from the mirror":
        monkeypatch.setattr(live_mirror, "MAX_PATCH_ROWS", 0)
    policy_counts(live, ODD)  # the snapshot exists before the writes
    edits = store.query("SELECT a.edit_id, a.edit_type_id, a.category_id FROM attempts a JOIN edits e "
                        "ON e.id = a.edit_id WHERE a.origin = 'pipeline' AND e.chain_id IS NULL AND a.turn = 1 "
                        "LIMIT 40")
    rejudged = [r[0] for r in store.query("SELECT attempt_id FROM judgments ORDER BY attempt_id LIMIT 30")]
    with store.transaction() as rev:
        insert_attempts(store, [NewAttempt(key=f"new:{i}", edit_id=r[0], attempt_no=50 + i, status="ok",
                                           origin="pipeline", edit_type_id=r[1], category_id=r[2])
                                for i, r in enumerate(edits)], rev)
        new_ids = [r[0] for r in store.query("SELECT id FROM attempts WHERE key LIKE 'new:%' ORDER BY id")]
        # Half of the new attempts are judged (the rest stay pending); old ones get new scores.
        record_judgments(store, [NewJudgment(a, 0.95, 0.9, 0.9, 0.9) for a in new_ids[:20]]
                         + [NewJudgment(a, 0.1, 0.1, 0.1, 0.1) for a in rejudged], rev)
    counts = policy_counts(live, ODD)
    _assert_same(counts, _sqlite_counts(store, ODD))
    assert counts.total.pending >= 20
    # Again on top: patched attempts re-judged, judged for the first time, and decided by a human.
    with store.transaction() as rev:
        record_judgments(store, [NewJudgment(a, 0.3, 0.3, 0.3, 0.3) for a in new_ids[10:30]], rev)
    record_review(store, new_ids[0], "fail", curator="alice")
    record_review(store, new_ids[35], "keep", curator="alice")
    _assert_same(policy_counts(live, ODD), _sqlite_counts(store, ODD))


def _assert_same(counts, expected):
    for row in counts.rows:
        for verdict in ("keep", "fail", "pending", "borderline"):
            assert getattr(row, verdict) == expected[(row.category_id, verdict)], (row.category, verdict)
