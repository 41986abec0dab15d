"""Dashboard queries on the mirror equal the same figures computed by brute force from SQLite's own verdicts."""

from __future__ import annotations

import importlib.util
from collections import Counter, defaultdict

import pytest
from conftest import REPO

from picobanana.analytics import (
    Mirror,
    agreement,
    score_histograms,
    stats,
    stats_report,
    totals,
    verdict_breakdown,
    what_if,
)
from picobanana.store import CategoryRule, Policy, Store, Weights, active_policy, save_policy
from picobanana.store.policies import EPSILON
from picobanana.store.verdicts import effective_verdict_view_sql
from picobanana.taxonomy import EDIT_TYPES, edit_type_by_id


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    spec = importlib.util.spec_from_file_location("bench_synth", REPO / "bench" / "synth.py")
    synth = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(synth)
    path = tmp_path_factory.mktemp("analytics") / "ws"
    synth.build_workspace(path, 6000, seed=2, quiet=True)
    with Store.open(path) as store:
        yield store


@pytest.fixture(scope="module")
def mirror(workspace):
    with Mirror.open(workspace) as opened:
        opened.refresh()
        yield opened


ODD = Policy(name="odd", weights=Weights(compliance=0.7, seamlessness=0.1, preservation=0.1, quality=0.1),
             threshold=0.6, per_category={1: CategoryRule(threshold=0.8),
                                          6: CategoryRule(weights=Weights(compliance=0, seamlessness=1,
                                                                          preservation=0, quality=0))})


def _population(store, policy):
    """Turn-1 attempts outside chains, with SQLite's verdicts (the definition the queries must reproduce)."""
    return store.query(
        f"SELECT v.*, j.compliance, j.seamlessness, j.preservation, j.quality "
        f"FROM ({effective_verdict_view_sql(policy)}) v JOIN edits e ON e.id = v.edit_id "
        f"LEFT JOIN judgments j ON j.attempt_id = v.attempt_id WHERE v.turn = 1 AND e.chain_id IS NULL")


@pytest.mark.parametrize("policy_name", ["active", "odd"])
def test_counts_and_both_pass_rates_match_brute_force(workspace, mirror, policy_name):
    policy = active_policy(workspace) if policy_name == "active" else ODD
    rows = _population(workspace, policy)
    by_type: dict[int | None, Counter] = defaultdict(Counter)
    edits: dict[int, list[str]] = defaultdict(list)
    for r in rows:
        by_type[r["edit_type_id"]][r["verdict"]] += 1
        edits[r["edit_id"]].append(r["verdict"])
    edit_type_of = {r["edit_id"]: r["edit_type_id"] for r in rows}
    edit_outcome: dict[int | None, Counter] = defaultdict(Counter)
    for edit_id, verdicts in edits.items():
        outcome = "keep" if "keep" in verdicts else "pending" if "pending" in verdicts else "fail"
        edit_outcome[edit_type_of[edit_id]][outcome] += 1

    result = stats(mirror, policy)
    assert [t.edit_type_id for t in result.edit_types][:35] == [t.id for t in EDIT_TYPES]
    for t in result.edit_types:
        c, e = by_type[t.edit_type_id], edit_outcome[t.edit_type_id]
        assert (t.attempts, t.keep, t.fail, t.pending) == (sum(c.values()), c["keep"], c["fail"], c["pending"])
        assert (t.edits, t.edits_kept, t.edits_failed, t.edits_pending) == (
            sum(e.values()), e["keep"], e["fail"], e["pending"])
        if c["keep"] + c["fail"]:
            assert t.attempt_pass_rate == pytest.approx(c["keep"] / (c["keep"] + c["fail"]))
        if e["keep"] + e["fail"]:
            assert t.edit_pass_rate == pytest.approx(e["keep"] / (e["keep"] + e["fail"]))
        if t.edit_type_id:
            assert t.paper_success == edit_type_by_id(t.edit_type_id).paper_success
    assert result.total.attempts == len(rows)
    by_category = Counter()
    for r in rows:
        by_category[r["category_id"]] += 1
    for c in result.categories:
        assert c.attempts == by_category[c.category_id]
        assert c.share == pytest.approx(by_category[c.category_id] / len(rows))
    # The synthetic workspace has every verdict and a spread of pass rates.
    rates = [t.attempt_pass_rate for t in result.edit_types if t.attempt_pass_rate is not None]
    assert max(rates) - min(rates) > 0.1
    assert 0 < result.total.pending < result.total.fail < result.total.keep


def test_verdict_breakdown_matches_brute_force(workspace, mirror):
    policy = active_policy(workspace)
    expected = Counter((r["category_id"], r["edit_type_id"], r["verdict"], r["verdict_source"])
                       for r in _population(workspace, policy))
    found = {(v.category_id, v.edit_type_id, v.verdict, v.source): v.attempts
             for v in verdict_breakdown(mirror, policy)}
    assert found == dict(expected)
    assert {k[3] for k in found} == {"human", "judge", "release", "status", "none"}


@pytest.mark.parametrize("by_category", [False, True])
def test_histograms_match_brute_force(workspace, mirror, by_category):
    policy = ODD
    bins = 13
    rows = [r for r in _population(workspace, policy) if r["score"] is not None]
    expected: dict[tuple, list[int]] = defaultdict(lambda: [0] * bins)
    for r in rows:
        for measure in ("score", "compliance", "seamlessness", "preservation", "quality"):
            b = min(int(r[measure] * bins + EPSILON), bins - 1)
            expected[(r["category_id"] if by_category else None, measure)][b] += 1
    found = score_histograms(mirror, policy, bins=bins, by_category=by_category)
    assert {(h.category_id, h.measure): h.counts for h in found} == dict(expected)
    assert all(len(h.edges) == bins + 1 and h.edges[0] == 0 and h.edges[-1] == 1 for h in found)


def test_agreement_matrix_and_kappa(workspace, mirror):
    policy = active_policy(workspace)
    pairs = Counter((r["judge_verdict"], r["human_verdict"]) for r in _population(workspace, policy)
                    if r["judge_verdict"] and r["human_verdict"])
    result = agreement(mirror, policy)
    assert result.matrix == {j: {h: pairs[(j, h)] for h in ("keep", "fail")} for j in ("keep", "fail")}
    n = sum(pairs.values())
    assert result.attempts == n > 0
    observed = (pairs[("keep", "keep")] + pairs[("fail", "fail")]) / n
    pj = (pairs[("keep", "keep")] + pairs[("keep", "fail")]) / n
    ph = (pairs[("keep", "keep")] + pairs[("fail", "keep")]) / n
    chance = pj * ph + (1 - pj) * (1 - ph)
    assert result.agreement == pytest.approx(observed)
    assert result.kappa == pytest.approx((observed - chance) / (1 - chance))
    one = agreement(mirror, policy, category_id=2)
    assert 0 < one.attempts < n


def test_what_if_matches_sqlite_for_arbitrary_policies(workspace, mirror):
    active = active_policy(workspace)
    margin = 0.04
    result = what_if(mirror, ODD, margin=margin, compare_to=active)
    before = {r["attempt_id"]: r["verdict"] for r in _population(workspace, active)}
    expected: dict[int, Counter] = defaultdict(Counter)
    for r in _population(workspace, ODD):
        row = expected[r["category_id"]]
        row[r["verdict"]] += 1
        if r["score"] is not None and r["human_verdict"] is None:
            row["borderline"] += abs(r["score"] - (ODD.threshold_for(r["category_id"]) - EPSILON)) < margin
        row["changed"] += r["verdict"] != before[r["attempt_id"]]
    for row in result.rows:
        e = expected[row.category_id]
        assert (row.keep, row.fail, row.pending, row.borderline, row.changed) == (
            e["keep"], e["fail"], e["pending"], e["borderline"], e["changed"]), row
    assert result.total.changed == sum(e["changed"] for e in expected.values()) > 0
    assert result.total.borderline > 0
    # Without a comparison, nothing is counted as changed; the same policy compared to itself changes nothing.
    assert what_if(mirror, ODD).total.changed is None
    assert what_if(mirror, active, compare_to=active).total.changed == 0


def test_queries_default_to_the_mirrored_active_policy(workspace, mirror):
    assert stats(mirror).policy == f"{active_policy(workspace).name}@{active_policy(workspace).version}"
    saved = save_policy(workspace, ODD, created_by="t")
    mirror.refresh()
    assert stats(mirror, saved).total == stats(mirror, ODD).total


def test_totals_and_report(workspace, mirror):
    t = totals(mirror)
    assert t.attempts == workspace.scalar("SELECT COUNT(*) FROM attempts")
    assert t.chains == workspace.scalar("SELECT COUNT(*) FROM chains") > 0
    assert t.chain_attempts == workspace.scalar(
        "SELECT COUNT(*) FROM attempts a JOIN edits e ON e.id = a.edit_id WHERE e.chain_id IS NOT NULL")
    report = stats_report(mirror, histograms=True, bins=10)
    assert len(report.histograms) == 5 and report.threshold == 0.7
    dumped = report.model_dump(mode="json")
    assert dumped["stats"]["total"]["attempt_pass_rate"] == pytest.approx(report.stats.total.attempt_pass_rate)
