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
    paging,
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



# -- the studio's Browse filters -------------------------------------------------------------------------

WORDS = ("warm sunset glow", "cartoon style outline", "remove the red car", "winter snow scene", "zoom in tightly")


def _decorate(store, rng: random.Random) -> None:
    """Backends, models, instructions (through UPDATE, so the FTS trigger runs) and a second source photo."""
    with store.transaction() as rev:
        second = ensure_sources(store, [NewSource(uri="src2", origin="ingest")], rev)["src2"]
        for (edit_id,) in store.query("SELECT id FROM edits"):
            if rng.random() < 0.3:
                store.conn.execute("UPDATE edits SET source_id = ? WHERE id = ?", (second, edit_id))
        for (attempt_id,) in store.query("SELECT id FROM attempts"):
            backend = rng.choice(("local", "gemini", None))
            model = {"local": "local-1", "gemini": rng.choice(("g-flash", "g-pro")), None: None}[backend]
            store.conn.execute("UPDATE attempts SET backend = ?, model = ?, instruction = ?, rev = ? WHERE id = ?",
                               (backend, model, rng.choice(WORDS), rev, attempt_id))


def _brute_force_all(store, policy: Policy, flt: AttemptFilter, sort: str) -> list[int]:
    rows = store.query(
        f"SELECT v.*, a.origin AS a_origin, a.backend, a.model, a.instruction, a.short_instruction, e.source_id, "
        f"j.compliance, j.seamlessness, j.preservation, j.quality, h.verdict AS h_verdict "
        f"FROM ({effective_verdict_view_sql(policy)}) v JOIN attempts a ON a.id = v.attempt_id "
        f"JOIN edits e ON e.id = a.edit_id LEFT JOIN judgments j ON j.attempt_id = a.id "
        f"LEFT JOIN human_decisions h ON h.attempt_id = a.id")
    eps = 1e-9

    def ok(r) -> bool:
        for field, column in (("category_id", "category_id"), ("edit_type_id", "edit_type_id"),
                              ("verdict", "verdict"), ("origin", "a_origin"), ("status", "status"),
                              ("turn", "turn"), ("backend", "backend"), ("model", "model"),
                              ("source_id", "source_id"), ("human_verdict", "h_verdict")):
            if getattr(flt, field) is not None and r[column] != getattr(flt, field):
                return False
        if flt.judge_verdict is not None and (r["judge_verdict"] or "unjudged") != flt.judge_verdict:
            return False
        if flt.has_override is not None and (r["h_verdict"] is not None) != flt.has_override:
            return False
        for name in ("score", "compliance", "seamlessness", "preservation", "quality"):
            lo, hi = getattr(flt, f"{name}_min"), getattr(flt, f"{name}_max")
            if (lo is not None or hi is not None) and r[name] is None:
                return False
            if lo is not None and r[name] < lo - eps or hi is not None and r[name] > hi + eps:
                return False
        if flt.text is not None:
            words = flt.text.lower().split()
            text = f"{r['instruction'] or ''} {r['short_instruction'] or ''}".lower().split()
            if not all(any(t.startswith(w) for t in text) for w in words):
                return False
        return True

    keep = [r for r in rows if ok(r)]
    if sort == "newest":
        return [r["attempt_id"] for r in sorted(keep, key=lambda r: -r["attempt_id"])]
    sign = -1 if sort == "score_desc" else 1
    ordered = sorted(keep, key=lambda r: (r["score"] is None, sign * (r["score"] or 0), sign * r["attempt_id"]))
    return [r["attempt_id"] for r in ordered]


BROWSE_FILTERS = (
    AttemptFilter(backend="gemini"),
    AttemptFilter(model="g-pro", verdict="keep"),
    AttemptFilter(category_id=2, backend="local"),
    AttemptFilter(source_id=2),
    AttemptFilter(source_id=2, verdict="fail"),
    AttemptFilter(judge_verdict="keep"),
    AttemptFilter(judge_verdict="fail", category_id=1),
    AttemptFilter(judge_verdict="unjudged"),
    AttemptFilter(judge_verdict="keep", verdict="fail"),  # the judge kept it, a curator failed it
    AttemptFilter(human_verdict="keep"),
    AttemptFilter(human_verdict="fail", category_id=4),
    AttemptFilter(has_override=True),
    AttemptFilter(has_override=False, verdict="keep"),
    AttemptFilter(has_override=False, category_id=2),
    AttemptFilter(score_min=0.6, score_max=0.8),
    AttemptFilter(score_min=0.7, category_id=1, verdict="fail"),
    AttemptFilter(compliance_min=0.7, quality_max=0.7),
    AttemptFilter(seamlessness_min=0.9, preservation_max=0.5, has_override=True),
    AttemptFilter(text="warm"),
    AttemptFilter(text="Red CAR", verdict="keep"),
    AttemptFilter(text="snow", category_id=2),
    AttemptFilter(text="do e1"),  # the short instruction, as written by _populate
    AttemptFilter(text='"); DROP TABLE attempts; --'),  # operators and punctuation are plain text
)


@pytest.mark.parametrize("rare_below", [0, 20_000], ids=["score-walk", "rare-facets"])
@pytest.mark.parametrize("flt", BROWSE_FILTERS, ids=lambda f: ",".join(f"{k}={v}" for k, v in
                                                                         f.model_dump(exclude_none=True).items()))
def test_browse_filters_narrow_exactly_like_brute_force(store, flt, rare_below, monkeypatch):
    # Both ways to serve the row-by-row filters: along the score index, and from their own rows when rare.
    monkeypatch.setattr(paging, "SELECTIVE_ROWS", rare_below)
    _populate(store, random.Random(21))
    _decorate(store, random.Random(22))
    policy = active_policy(store)
    expected_all = _brute_force_all(store, policy, AttemptFilter(), "score_desc")
    for sort in ("score_desc", "score_asc", "newest"):
        for limit in (4, 48):
            seen, _ = _walk(store, flt, sort, limit)
            assert len(seen) == len(set(seen)), "a page repeated an attempt"
            assert seen == _brute_force_all(store, policy, flt, sort), (flt, sort, limit)
    if flt.text != '"); DROP TABLE attempts; --':
        assert 0 < len(_brute_force_all(store, policy, flt, "newest")) < len(expected_all), "not a real narrowing"


def test_common_browse_filters_keep_the_index_plan_and_selective_ones_start_from_their_index(store, monkeypatch):
    monkeypatch.setattr(paging, "SELECTIVE_ROWS", 0)  # a small test store: nothing counts as rare
    _populate(store, random.Random(23), n_edits=60)
    _decorate(store, random.Random(24))
    for flt in (AttemptFilter(category_id=2, verdict="keep", backend="gemini"),
                AttemptFilter(score_min=0.6, score_max=0.8, judge_verdict="keep", category_id=1),
                AttemptFilter(compliance_min=0.7, has_override=False)):
        assert page_attempts(store, flt, limit=5).plan == "score_index", flt
    traced: list[str] = []
    store.conn.set_trace_callback(traced.append)
    try:
        assert page_attempts(store, AttemptFilter(text="snow"), limit=5).plan == "generic"
        assert page_attempts(store, AttemptFilter(source_id=2), sort="newest", limit=5).plan == "by_id"
    finally:
        store.conn.set_trace_callback(None)
    key_queries = [q for q in traced if "LEFT JOIN human_decisions h" in q and "SELECT a.id AS attempt_id" not in q]
    assert len(key_queries) == 2
    text_plan, source_plan = ([r[3] for r in store.conn.execute(f"EXPLAIN QUERY PLAN {q}")] for q in key_queries)

    def scans_attempts(plan: list[str]) -> bool:
        return any(step == "SCAN a" or step.startswith(("SCAN a ", "SCAN attempts ")) for step in plan)

    assert any("attempts_text VIRTUAL TABLE INDEX" in step for step in text_plan), text_plan
    assert any("edits_source" in step for step in source_plan), source_plan
    assert not scans_attempts(text_plan) and not scans_attempts(source_plan), (text_plan, source_plan)


def test_instruction_search_follows_inserts_updates_and_deletes(store):
    """Inserts are indexed by the next search (queued, so imports stay fast); edits of indexed text at once."""
    _populate(store, random.Random(25), n_edits=10)
    first = store.scalar("SELECT MIN(id) FROM attempts")
    with store.transaction() as rev:
        store.conn.execute("UPDATE attempts SET instruction = 'paint the bicycle teal', rev = ? WHERE id = ?",
                           (rev, first))
    assert [i.attempt_id for i in page_attempts(store, AttemptFilter(text="bicycle teal")).items] == [first]
    with store.transaction() as rev:
        store.conn.execute("UPDATE attempts SET instruction = 'paint the boat', rev = ? WHERE id = ?", (rev, first))
    assert page_attempts(store, AttemptFilter(text="bicycle")).items == []
    assert [i.attempt_id for i in page_attempts(store, AttemptFilter(text="boat")).items] == [first]
    assert store.scalar("SELECT COUNT(*) FROM attempts_text WHERE attempts_text MATCH 'boat'") == 1


def test_rare_facets_and_subscores_are_read_from_their_own_rows(store, monkeypatch):
    """A model or sub-score range few attempts have takes the generic plan from the facet index / judgments,
    instead of walking the whole score order; a facet no judged attempt has skips the score walk."""
    monkeypatch.setattr(paging, "SELECTIVE_ROWS", 10)
    _populate(store, random.Random(26), n_edits=60)
    _decorate(store, random.Random(27))
    with store.transaction() as rev:
        store.conn.execute("UPDATE attempts SET model = 'rare-model', rev = ? WHERE id IN (3, 5)", (rev,))
    traced: list[str] = []
    store.conn.set_trace_callback(traced.append)
    try:
        page = page_attempts(store, AttemptFilter(model="rare-model"), limit=5)
    finally:
        store.conn.set_trace_callback(None)
    assert page.plan == "generic" and sorted(i.attempt_id for i in page.items) == [3, 5]
    generic = next(q for q in traced if "LEFT JOIN human_decisions h" in q and "SELECT a.id AS attempt_id" not in q)
    plan = [r[3] for r in store.conn.execute(f"EXPLAIN QUERY PLAN {generic}")]
    assert any("attempts_facets" in step for step in plan), plan
    assert page_attempts(store, AttemptFilter(model="g-flash"), limit=5).plan == "score_index"
    assert page_attempts(store, AttemptFilter(compliance_min=0.95), limit=5).plan == "generic"
    # No judged release attempt: the release page skips the score walk, and is right again once one is judged.
    with store.transaction() as rev:
        store.conn.execute("DELETE FROM judgments WHERE attempt_id IN (SELECT id FROM attempts WHERE origin = 'release')")
    monkeypatch.setattr(paging, "SELECTIVE_ROWS", 0)
    policy = active_policy(store)
    flt = AttemptFilter(origin="release")
    assert _walk(store, flt, "score_desc", 7)[0] == _brute_force_all(store, policy, flt, "score_desc")
    release_id = store.scalar("SELECT id FROM attempts WHERE origin = 'release' LIMIT 1")
    with store.transaction() as rev:
        record_judgments(store, [NewJudgment(release_id, 0.9, 0.9, 0.9, 0.9)], rev)
    seen = _walk(store, flt, "score_desc", 7)[0]
    assert seen[0] == release_id and seen == _brute_force_all(store, policy, flt, "score_desc")


def test_new_instructions_are_indexed_by_the_next_search(store):
    from picobanana.store.text_search import sync_instruction_index

    _populate(store, random.Random(28), n_edits=10)
    assert store.scalar("SELECT COUNT(*) FROM attempts_text WHERE attempts_text MATCH 'e1*'") == 0  # not yet
    first = store.scalar("SELECT MIN(id) FROM attempts")
    with store.transaction() as rev:  # changed before it was indexed: indexed once, with the new text
        store.conn.execute("UPDATE attempts SET instruction = 'a quiet harbour', rev = ? WHERE id = ?",
                           (rev, first))
    assert [i.attempt_id for i in page_attempts(store, AttemptFilter(text="harbour")).items] == [first]
    assert store.scalar("SELECT COUNT(*) FROM attempts_text WHERE attempts_text MATCH 'e1*'") > 0
    assert sync_instruction_index(store) == 0
    # The index agrees with the text, row for row (FTS5's own consistency check raises otherwise).
    store.conn.execute("INSERT INTO attempts_text (attempts_text, rank) VALUES ('integrity-check', 1)")
