"""Keyset paging: walking every page equals filtering and sorting the `effective_verdicts` definition."""

from __future__ import annotations

import random

import pytest

from picobanana.errors import InputError
from picobanana.store import (
    CategoryRule,
    Policy,
    Weights,
    activate_policy,
    active_policy,
    record_review,
    save_policy,
)
from picobanana.store.paging import AttemptFilter, Cursor, page_attempts
from picobanana.store.verdicts import effective_verdict_view_sql
from picobanana.store.writes import (
    NewAttempt,
    NewEdit,
    NewJudgment,
    NewSource,
    ensure_edits,
    ensure_sources,
    insert_attempts,
    record_judgments,
)
from picobanana.taxonomy import edit_type_by_id

# Few distinct sub-scores, so that many attempts share a score (ties must neither repeat nor vanish).
LEVELS = (0.5, 0.7, 0.9)
# Few types over three categories keep every filter combination populated.
TYPE_IDS = (1, 2, 3, 4, 13)


def _populate(store, rng: random.Random, n_edits: int = 120) -> list[int]:
    """Random attempts through the real write path: judged, unjudged release, failures, pending, chains."""
    with store.transaction() as rev:
        source_id = ensure_sources(store, [NewSource(uri="src", origin="ingest")], rev)["src"]
        edits, attempts, judge = [], [], []
        for e in range(n_edits):
            type_id = rng.choice(TYPE_IDS + (None,)) if rng.random() < 0.1 else rng.choice(TYPE_IDS)
            category = edit_type_by_id(type_id).category.id if type_id else None
            origin = "release" if rng.random() < 0.25 else "pipeline"
            edits.append(NewEdit(key=f"e{e}", source_id=source_id, edit_type_id=type_id, category_id=category,
                                 origin=origin, turn=1 if type_id or rng.random() < 0.5 else 2))
        ids = ensure_edits(store, edits, rev)
        for edit in edits:
            for no in range(1, rng.randint(1, 3) + 1):
                if edit.origin == "release":
                    status = rng.choice(("ok", "ok", "rejected"))
                else:
                    status = rng.choice(("ok",) * 6 + ("no_image", "pending", "running", "blocked"))
                attempts.append(NewAttempt(key=f"{edit.key}#{no}", edit_id=ids[edit.key], attempt_no=no,
                                           status=status, origin=edit.origin, edit_type_id=edit.edit_type_id,
                                           category_id=edit.category_id, turn=edit.turn,
                                           short_instruction=f"do {edit.key}"))
        insert_attempts(store, attempts, rev)
        attempt_ids = [r[0] for r in store.query("SELECT id FROM attempts ORDER BY id")]
        statuses = dict(store.query("SELECT id, status FROM attempts"))
        for attempt_id in attempt_ids:
            judged_chance = 0.85 if statuses[attempt_id] == "ok" else 0.15
            if rng.random() < judged_chance:
                judge.append(NewJudgment(attempt_id, *(rng.choice(LEVELS) for _ in range(4))))
        record_judgments(store, judge, rev)
    for attempt_id in rng.sample(attempt_ids, len(attempt_ids) // 6):
        record_review(store, attempt_id, rng.choice(("keep", "fail")), curator="tester")
    for attempt_id in rng.sample(attempt_ids, 5):  # some decisions cleared again
        record_review(store, attempt_id, None, curator="tester")
    return attempt_ids


def _brute_force(store, policy: Policy, flt: AttemptFilter, sort: str) -> list[int]:
    rows = store.query(f"SELECT v.*, a.origin AS a_origin FROM ({effective_verdict_view_sql(policy)}) v "
                       "JOIN attempts a ON a.id = v.attempt_id")
    keep = [r for r in rows
            if all(getattr(flt, f) is None or r[c] == getattr(flt, f)
                   for f, c in (("category_id", "category_id"), ("edit_type_id", "edit_type_id"),
                                ("verdict", "verdict"), ("origin", "a_origin"), ("status", "status"),
                                ("turn", "turn")))]
    if sort == "newest":
        return [r["attempt_id"] for r in sorted(keep, key=lambda r: -r["attempt_id"])]
    sign = -1 if sort == "score_desc" else 1
    ordered = sorted(keep, key=lambda r: (r["score"] is None, sign * (r["score"] or 0), sign * r["attempt_id"]))
    return [r["attempt_id"] for r in ordered]


def _walk(store, flt, sort, limit, policy=None) -> tuple[list[int], set[str]]:
    seen, plans, cursor = [], set(), None
    for _ in range(10_000):
        page = page_attempts(store, flt, sort=sort, after=cursor, limit=limit, policy=policy)
        assert len(page.items) <= limit
        assert page.next_cursor is None or len(page.items) == limit
        seen += [item.attempt_id for item in page.items]
        plans.add(page.plan)
        if page.next_cursor is None:
            return seen, plans
        cursor = page.next_cursor
    raise AssertionError("paging did not terminate")


def _random_filter(rng: random.Random) -> AttemptFilter:
    type_id = rng.choice((None, None) + TYPE_IDS)
    category = rng.choice((None, None, 1, 2, 4)) if type_id is None else rng.choice((None, None, 99))
    if category == 99:
        category = edit_type_by_id(type_id).category.id
    return AttemptFilter(category_id=category, edit_type_id=type_id,
                         verdict=rng.choice((None, "keep", "fail", "fail", "keep", "pending")),
                         origin=rng.choice((None, None, None, "release", "pipeline")),
                         status=rng.choice((None,) * 6 + ("ok", "rejected")),
                         turn=rng.choice((None,) * 6 + (1, 2)))


@pytest.mark.parametrize("seed", range(4))
def test_walking_all_pages_equals_brute_force(store, seed):
    rng = random.Random(seed)
    _populate(store, rng)
    policy = active_policy(store)
    plans_used = set()
    for _ in range(40):
        flt = _random_filter(rng)
        sort = rng.choice(("score_desc", "score_desc", "score_asc", "newest"))
        limit = rng.choice((1, 3, 7, 48))
        seen, plans = _walk(store, flt, sort, limit)
        plans_used |= plans
        expected = _brute_force(store, policy, flt, sort)
        assert len(seen) == len(set(seen)), f"duplicates for {flt} {sort} limit {limit}"
        assert seen == expected, f"{flt} {sort} limit {limit}"
    assert "score_index" in plans_used


def test_per_category_policy_and_inactive_policy_page_correctly(store):
    rng = random.Random(7)
    _populate(store, rng, n_edits=150)
    special = save_policy(store, Policy(name="strict-objects", weights=Weights(compliance=1, quality=1),
                                        threshold=0.65, per_category={
                                            2: CategoryRule(threshold=0.8),
                                            4: CategoryRule(weights=Weights(compliance=0, seamlessness=1,
                                                                            preservation=0, quality=0))}),
                          created_by="tester")
    other = save_policy(store, Policy(name="lenient", threshold=0.55), created_by="tester")
    activate_policy(store, special.id, activated_by="tester")
    for policy, plan in ((special, "score_index"), (other, "generic")):
        for flt in (AttemptFilter(category_id=2, verdict="keep"), AttemptFilter(category_id=4, verdict="fail"),
                    AttemptFilter(verdict="keep"), AttemptFilter(edit_type_id=13, verdict="fail"),
                    AttemptFilter()):
            for sort in ("score_desc", "score_asc"):
                seen, plans = _walk(store, flt, sort, 5, policy=policy)
                assert seen == _brute_force(store, policy, flt, sort), (policy.name, flt, sort)
        assert plan in plans
    # Without a category filter, per-category thresholds cannot be one index range: the generic plan serves it.
    page = page_attempts(store, AttemptFilter(verdict="keep"), policy=special)
    assert page.plan == "generic"
    assert page_attempts(store, AttemptFilter(category_id=2, verdict="keep"), policy=special).plan == "score_index"


def test_human_override_moves_an_attempt_between_verdict_lists(store):
    rng = random.Random(3)
    _populate(store, rng)
    flt_keep, flt_fail = AttemptFilter(verdict="keep"), AttemptFilter(verdict="fail")
    keep_ids, _ = _walk(store, flt_keep, "score_desc", 10)
    target = keep_ids[len(keep_ids) // 2]
    record_review(store, target, "fail", curator="tester")
    assert target not in _walk(store, flt_keep, "score_desc", 10)[0]
    fail_ids, _ = _walk(store, flt_fail, "score_desc", 10)
    assert target in fail_ids
    item = next(i for i in page_attempts(store, flt_fail, limit=1000).items if i.attempt_id == target)
    assert (item.verdict, item.verdict_source) == ("fail", "human")


def test_items_carry_what_a_grid_needs(store):
    _populate(store, random.Random(11), n_edits=30)
    page = page_attempts(store, AttemptFilter(), limit=1000)
    by_id = {r["attempt_id"]: r for r in store.query("SELECT * FROM effective_verdicts")}
    for item in page.items:
        row = by_id[item.attempt_id]
        assert (item.verdict, item.verdict_source, item.score) == (row["verdict"], row["verdict_source"],
                                                                   row["score"])
        assert item.short_instruction and item.short_instruction.startswith("do e")


def test_indexed_queries_use_the_expression_indexes(store):
    """The score-sorted plan must be index seeks: no full scan of judgments, no temporary sort b-tree."""
    _populate(store, random.Random(5), n_edits=40)
    policy = active_policy(store)
    traced: list[str] = []
    store.conn.set_trace_callback(traced.append)
    try:
        page = page_attempts(store, AttemptFilter(category_id=2, verdict="keep"), limit=3)
        page_attempts(store, AttemptFilter(category_id=2, verdict="keep"), after=page.next_cursor, limit=3)
        page_attempts(store, AttemptFilter(verdict="fail"), sort="score_asc", limit=3)
    finally:
        store.conn.set_trace_callback(None)
    score = policy.score_sql("")
    judgment_queries = [q for q in traced if q.startswith(f"SELECT {score} AS score, attempt_id FROM judgments")]
    assert len(judgment_queries) >= 4  # first page, tie seek + range seek after the cursor, score_asc
    for sql in judgment_queries:
        # The trace shows bound values inline; EXPLAIN needs the same text.
        detail = " | ".join(r[3] for r in store.conn.execute(f"EXPLAIN QUERY PLAN {sql}"))
        assert "USING INDEX judgments_active" in detail or "USING COVERING INDEX judgments_active" in detail, detail
        assert "TEMP B-TREE" not in detail, detail
        assert "SCAN judgments" not in detail, detail


def test_unjudged_are_not_searched_when_everything_is_judged(store):
    with store.transaction() as rev:
        source_id = ensure_sources(store, [NewSource(uri="s", origin="ingest")], rev)["s"]
        edit_id = ensure_edits(store, [NewEdit(key="e", source_id=source_id, edit_type_id=1, category_id=1,
                                               origin="pipeline")], rev)["e"]
        insert_attempts(store, [NewAttempt(key=f"a{i}", edit_id=edit_id, attempt_no=i, status="ok",
                                           origin="pipeline", edit_type_id=1, category_id=1) for i in (1, 2, 3)],
                        rev)
        record_judgments(store, [NewJudgment(i, 0.9, 0.9, 0.9, 0.9) for i in (1, 2, 3)], rev)
    traced: list[str] = []
    store.conn.set_trace_callback(traced.append)
    page = page_attempts(store, AttemptFilter(category_id=1), limit=10)
    store.conn.set_trace_callback(None)
    assert [i.attempt_id for i in page.items] == [3, 2, 1]
    assert any("FROM judgments WHERE" in q for q in traced)
    assert not any("j.attempt_id IS NULL AND h.attempt_id IS NULL" in q for q in traced)
    # One unjudged attempt later, the same page does look for them, and finds it last.
    with store.transaction() as rev:
        insert_attempts(store, [NewAttempt(key="a4", edit_id=edit_id, attempt_no=4, status="ok",
                                           origin="release", edit_type_id=1, category_id=1)], rev)
    traced.clear()
    store.conn.set_trace_callback(traced.append)
    page = page_attempts(store, AttemptFilter(category_id=1), limit=10)
    store.conn.set_trace_callback(None)
    assert [i.attempt_id for i in page.items] == [3, 2, 1, 4]
    assert any("j.attempt_id IS NULL AND h.attempt_id IS NULL" in q for q in traced)


def test_cursor_round_trips_and_rejects_garbage():
    for cursor in (Cursor(score=0.7000000000000001, id=5), Cursor(score=None, id=12), Cursor(score=0.0, id=1)):
        assert Cursor.decode(cursor.encode()) == cursor
    with pytest.raises(InputError):
        Cursor.decode("not-a-cursor!")
    with pytest.raises(InputError):
        page_attempts(None, sort="random")  # type: ignore[arg-type]

