"""Chain browsing: keyset pages with pass/fail per turn, and one chain turn by turn."""

from __future__ import annotations

import pytest

from picobanana.curation.chains import ChainFilter, chain_detail, chains_page
from picobanana.errors import StoreError
from picobanana.store import record_review
from picobanana.store.writes import (
    NewAttempt,
    NewChain,
    NewEdit,
    NewJudgment,
    NewSource,
    ensure_chains,
    ensure_edits,
    ensure_sources,
    insert_attempts,
    record_judgments,
)

KEEP, FAIL = (0.9,) * 4, (0.3,) * 4


def make_chain(store, name: str, turns: list[list[tuple | None]], n_turns: int | None = None,
               origin: str = "pipeline") -> tuple[int, list[list[int]]]:
    """A chain whose turn k has one edit with the given attempts (judgment sub-scores, or None = unjudged).

    Each turn continues from the previous turn's last attempt (the pipeline continues from its kept one).
    Returns the chain id and the attempt ids per turn.
    """
    ids: list[list[int]] = []
    with store.transaction() as rev:
        source_id = ensure_sources(store, [NewSource(uri=f"src-{name}", origin="ingest")], rev)[f"src-{name}"]
        chain_id = ensure_chains(store, [NewChain(key=name, source_id=source_id, n_turns=n_turns or len(turns),
                                                  origin=origin)], rev)[name]
        parent = None
        for k, attempts in enumerate(turns, start=1):
            key = f"{name}#{k}"
            edit_id = ensure_edits(store, [NewEdit(key=key, source_id=source_id, edit_type_id=1, category_id=1,
                                                   origin=origin, turn=k, parent_attempt_id=parent,
                                                   chain_id=chain_id)], rev)[key]
            insert_attempts(store, [NewAttempt(key=f"{key}/{n}", edit_id=edit_id, attempt_no=n, status="ok",
                                               origin=origin, edit_type_id=1, category_id=1, turn=k,
                                               instruction=f"<b>turn {k}</b> make it red",
                                               short_instruction=f"make it red {k}")
                                    for n in range(1, len(attempts) + 1)], rev)
            turn_ids = [store.scalar("SELECT id FROM attempts WHERE key = ?", (f"{key}/{n}",))
                        for n in range(1, len(attempts) + 1)]
            record_judgments(store, [NewJudgment(a, *s) for a, s in zip(turn_ids, attempts, strict=True)
                                     if s is not None], rev)
            ids.append(turn_ids)
            parent = turn_ids[-1]
    return chain_id, ids


def test_pages_are_newest_first_and_keyset_paged(store):
    made = [make_chain(store, f"c{i}", [[KEEP], [KEEP]])[0] for i in range(7)]
    first = chains_page(store, limit=3)
    assert [c.chain_id for c in first.items] == made[::-1][:3]
    second = chains_page(store, limit=3, after=first.next_cursor)
    third = chains_page(store, limit=3, after=second.next_cursor)
    assert [c.chain_id for c in second.items + third.items] == made[::-1][3:]
    assert third.next_cursor is None
    assert all(c.all_pass and c.n_turns == 2 and c.strip == "✓ ✓" for c in first.items)


def test_turn_verdicts_and_the_pass_filter(store):
    passing, _ = make_chain(store, "pass", [[KEEP], [FAIL, KEEP], [KEEP]])
    failing, _ = make_chain(store, "fail", [[KEEP], [FAIL, FAIL]])
    short, _ = make_chain(store, "short", [[KEEP]], n_turns=3)  # ended early: turns 2-3 never made
    pending, _ = make_chain(store, "pending", [[KEEP], [None]])
    page = chains_page(store)
    verdicts = {c.chain_id: c.turn_verdicts for c in page.items}
    assert verdicts == {passing: ["keep", "keep", "keep"], failing: ["keep", "fail"],
                        short: ["keep", "missing", "missing"], pending: ["keep", "pending"]}
    assert [c.chain_id for c in chains_page(store, ChainFilter(passing=True)).items] == [passing]
    assert [c.chain_id for c in chains_page(store, ChainFilter(passing=False)).items] == [pending, short, failing]
    assert chains_page(store, ChainFilter(origin="release")).items == []


def test_a_human_decision_changes_the_chain(store):
    chain_id, ids = make_chain(store, "c", [[KEEP], [KEEP]])
    assert chains_page(store).items[0].all_pass
    record_review(store, ids[1][0], "fail", curator="alice")
    assert chains_page(store).items[0].turn_verdicts == ["keep", "fail"]
    assert chains_page(store, ChainFilter(passing=False)).items[0].chain_id == chain_id


def test_a_turn_must_continue_from_the_kept_attempt(store):
    # Turn 2 continues from turn 1's second attempt. When a curator swaps turn 1's verdicts, turn 1 still passes
    # (its first attempt), but turn 2 was made from an image that is no longer kept: the chain breaks there.
    _, ids = make_chain(store, "c", [[FAIL, KEEP], [KEEP]])
    assert chains_page(store).items[0].all_pass
    record_review(store, ids[0][1], "fail", curator="alice")
    record_review(store, ids[0][0], "keep", curator="alice")
    assert chains_page(store).items[0].turn_verdicts == ["keep", "fail"]


def test_detail_shows_each_turn_with_inputs_attempts_and_scores(store):
    chain_id, ids = make_chain(store, "c", [[KEEP], [FAIL, KEEP], [FAIL]])
    detail = chain_detail(store, chain_id)
    assert detail.source_uri == "src-c" and detail.summary.turn_verdicts == ["keep", "keep", "fail"]
    assert [t.turn for t in detail.turns] == [1, 2, 3]
    one, two, three = detail.turns
    assert one.input_attempt_id is None and one.chosen_attempt_id == ids[0][0]
    assert two.input_attempt_id == ids[0][0] and [a.attempt_id for a in two.attempts] == ids[1]
    assert [a.verdict for a in two.attempts] == ["fail", "keep"] and two.chosen_attempt_id == ids[1][1]
    assert two.shown.attempt_id == ids[1][1] and two.attempts[1].score == pytest.approx(0.9)
    assert three.verdict == "fail" and three.chosen_attempt_id is None and three.input_attempt_id == ids[1][1]
    assert two.attempts[0].instruction == "<b>turn 2</b> make it red"  # stored as written; the UI escapes it
    assert one.edit_type.startswith("Change overall color tone")


def test_missing_chain_is_an_error(store):
    with pytest.raises(StoreError, match="no chain 99"):
        chain_detail(store, 99)
