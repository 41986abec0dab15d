"""The item view's core: load_item (images, scores, attempts with the preference pair, chain, audit), the
decision with its stale-write guard, and the difference heat-map."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from picobanana.curation.diff import difference_heatmap, ensure_heatmap, heatmap_path
from picobanana.curation.items import decide, load_item
from picobanana.errors import StoreError
from picobanana.store import Policy, record_review, save_policy
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

KEEP, FAIL = (0.9, 0.8, 0.85, 0.95), (0.3, 0.5, 0.4, 0.6)


def _png(color: tuple[int, int, int], size=(64, 48), box: tuple | None = None) -> bytes:
    image = Image.new("RGB", size, color)
    if box is not None:
        image.paste((255, 255, 255), box)
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


@pytest.fixture
def item(store):
    """One edit with a failed attempt, a kept one and a third after it, on a stored photo; and a 2-turn chain."""
    photo = store.images.put_bytes(_png((40, 90, 160)))
    outputs = [store.images.put_bytes(_png((40, 90, 160), box=(10, 10, 30 + i, 30))) for i in range(3)]
    with store.transaction() as rev:
        source_id = ensure_sources(store, [NewSource(uri="file:lake.png", origin="ingest",
                                                     image_sha256=photo.sha256)], rev)["file:lake.png"]
        edit_id = ensure_edits(store, [NewEdit(key="e1", source_id=source_id, edit_type_id=1, category_id=1,
                                               origin="pipeline")], rev)["e1"]
        insert_attempts(store, [NewAttempt(key=f"e1#{n}", edit_id=edit_id, attempt_no=n, status="ok",
                                           origin="pipeline", edit_type_id=1, category_id=1,
                                           instruction=f"<script>alert({n})</script> warm the lake",
                                           short_instruction=f"warmer {n}", backend="local", model="local-1",
                                           output_sha256=outputs[n - 1].sha256) for n in (1, 2, 3)], rev)
        ids = [store.scalar("SELECT id FROM attempts WHERE key = ?", (f"e1#{n}",)) for n in (1, 2, 3)]
        record_judgments(store, [NewJudgment(ids[0], *FAIL, rationale="halo <b>around</b> the edge"),
                                 NewJudgment(ids[1], *KEEP, rationale="clean"),
                                 NewJudgment(ids[2], *KEEP)], rev)
        chain_id = ensure_chains(store, [NewChain(key="c1", source_id=source_id, n_turns=2, origin="pipeline")],
                                 rev)["c1"]
        turn_ids, parent = [], None
        for turn in (1, 2):
            key = f"c1#{turn}"
            chain_edit = ensure_edits(store, [NewEdit(key=key, source_id=source_id, edit_type_id=1, category_id=1,
                                                      origin="pipeline", turn=turn, parent_attempt_id=parent,
                                                      chain_id=chain_id)], rev)[key]
            insert_attempts(store, [NewAttempt(key=f"{key}/1", edit_id=chain_edit, attempt_no=1, status="ok",
                                               origin="pipeline", edit_type_id=1, category_id=1, turn=turn,
                                               output_sha256=outputs[turn].sha256)], rev)
            parent = store.scalar("SELECT id FROM attempts WHERE key = ?", (f"{key}/1",))
            turn_ids.append(parent)
        record_judgments(store, [NewJudgment(turn_ids[0], *KEEP), NewJudgment(turn_ids[1], *FAIL)], rev)
    return {"ids": ids, "photo": photo.sha256, "outputs": [o.sha256 for o in outputs], "chain": turn_ids}


def test_load_item_has_images_instructions_and_weighted_scores(store, item):
    detail = load_item(store, item["ids"][1])
    assert detail.input_sha256 == item["photo"] and detail.output_sha256 == item["outputs"][1]
    assert detail.input_image.exists() and detail.output_image.exists()
    assert detail.instruction.startswith("<script>")  # stored as written: escaping is the view's job
    assert detail.short_instruction == "warmer 2"
    assert detail.edit_type and detail.category == "Pixel & Photometric"
    j = detail.judgment
    assert (j.subscores.compliance, j.subscores.quality) == KEEP[0:1] + KEEP[3:]
    assert j.score == pytest.approx(0.4 * 0.9 + 0.25 * 0.8 + 0.2 * 0.85 + 0.15 * 0.95)
    assert j.threshold == 0.7 and j.rationale == "clean"
    assert (detail.verdict.verdict, detail.verdict.source, detail.verdict.judge_verdict) == ("keep", "judge", "keep")
    assert detail.policy == "paper@1"


def test_weighted_score_follows_the_policy_asked_for(store, item):
    strict = save_policy(store, Policy(name="strict", threshold=0.95), created_by="t")
    detail = load_item(store, item["ids"][1], policy=strict)
    assert detail.judgment.threshold == 0.95
    assert detail.verdict.verdict == "fail" and detail.policy == "strict@1"


def test_attempt_history_marks_the_preference_pair(store, item):
    detail = load_item(store, item["ids"][2])
    sides = [(a.attempt_no, a.verdict, a.preference) for a in detail.attempts]
    assert sides == [(1, "fail", "rejected"), (2, "keep", "chosen"), (3, "keep", None)]
    # A curator failing the kept attempt moves the chosen side to the next kept one.
    record_review(store, item["ids"][1], "fail", curator="ann")
    sides = [(a.attempt_no, a.preference) for a in load_item(store, item["ids"][0]).attempts]
    assert sides == [(1, "rejected"), (2, "rejected"), (3, "chosen")]


def test_chain_film_strip_and_the_turns_input(store, item):
    second = load_item(store, item["chain"][1])
    assert [(t.turn, t.attempt_id, t.verdict) for t in second.chain] == [
        (1, item["chain"][0], "keep"), (2, item["chain"][1], "fail")]
    assert all(t.thumbnail is not None and t.thumbnail.exists() for t in second.chain)
    # Turn 2 edits turn 1's output, not the source photo.
    assert second.input_sha256 == item["outputs"][1]
    assert load_item(store, item["ids"][0]).chain == []


def test_audit_history_and_decisions_with_the_stale_write_guard(store, item):
    target = item["ids"][1]
    seen = load_item(store, target)
    assert seen.reviews == [] and seen.latest_review_id is None
    bob = decide(store, target, "fail", curator="bob", reason="seam on the left", expected_review_id=None)
    assert bob.ok and bob.event.new_verdict == "fail"
    # Alice decides on the view she loaded before Bob's decision: refused, and told who and when.
    alice = decide(store, target, "keep", curator="alice", expected_review_id=seen.latest_review_id)
    assert not alice.ok
    assert "bob decided this at" in alice.message and bob.event.created_at[:10] in alice.message
    after = load_item(store, target)
    assert [(r.curator, r.old_verdict, r.new_verdict, r.reason) for r in after.reviews] == [
        ("bob", "keep", "fail", "seam on the left")]
    assert (after.verdict.verdict, after.verdict.source, after.verdict.human_verdict) == ("fail", "human", "fail")
    again = decide(store, target, "keep", curator="alice", reason="  ", expected_review_id=after.latest_review_id)
    assert again.ok and again.event.reason is None
    assert [r.curator for r in load_item(store, target).reviews] == ["bob", "alice"]


def test_unknown_attempt_is_a_clear_error(store, item):
    with pytest.raises(StoreError, match="no attempt 999"):
        load_item(store, 999)


def test_missing_image_files_give_none_not_an_error(store, item):
    detail = load_item(store, item["ids"][0])
    detail.output_image.unlink()
    assert load_item(store, item["ids"][0]).output_image is None


def test_heatmap_shape_and_where_it_is_bright():
    before = Image.new("RGB", (200, 100), (40, 90, 160))
    after = before.copy()
    after.paste((250, 250, 250), (150, 20, 190, 80))
    heat = difference_heatmap(before, after)
    assert heat.shape == (100, 200, 3) and heat.dtype == np.uint8
    changed, unchanged = heat[40:60, 160:180].mean(), heat[40:60, 10:60].mean()
    assert changed > 150 and unchanged < 20
    big = difference_heatmap(Image.new("RGB", (1600, 800)), Image.new("RGB", (800, 400)))
    assert big.shape == (256, 512, 3)  # at most 512 px on the long side, at the input's aspect


def test_heatmap_is_computed_once_and_cached_in_the_thumbs_folder(store, item):
    path = ensure_heatmap(store, item["photo"], item["outputs"][1])
    assert path == heatmap_path(store, item["photo"], item["outputs"][1])
    assert path.is_relative_to(store.workspace / "thumbs")
    with Image.open(path) as image:
        assert image.size == (64, 48)
    stamp = path.stat().st_mtime_ns
    assert ensure_heatmap(store, item["photo"], item["outputs"][1]) == path
    assert path.stat().st_mtime_ns == stamp
    assert ensure_heatmap(store, item["photo"], None) is None
    assert ensure_heatmap(store, item["photo"], "0" * 64) is None
