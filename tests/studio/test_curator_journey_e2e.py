"""The README's promise, in a real browser: a curator reviews a hundred edits with the keyboard alone.

The workspace is the seeded one plus 110 judged single-turn attempts around the threshold (reusing the seed's
real edited images), so the Review queue has well over a hundred borderline items to work through.
"""

from __future__ import annotations

import random
import re
import shutil

import pytest

from picobanana.store import Store
from picobanana.store.writes import (
    NewAttempt,
    NewEdit,
    NewJudgment,
    ensure_edits,
    insert_attempts,
    record_judgments,
)
from picobanana.taxonomy import edit_type_by_id

DECISIONS = 100


@pytest.fixture
def workspace(seeded_workspace, tmp_path):
    copy = tmp_path / "ws"
    shutil.copytree(seeded_workspace, copy)
    rng = random.Random(7)
    with Store.open(copy) as store:
        outputs = store.query("SELECT edit_id, output_sha256, instruction, short_instruction, edit_type_id "
                              "FROM attempts WHERE status = 'ok' AND output_sha256 IS NOT NULL AND turn = 1")
        sources = [row["source_id"] for row in store.query("SELECT DISTINCT source_id FROM edits")]
        with store.transaction() as rev:
            for n in range(110):
                like = outputs[n % len(outputs)]
                edit_type = edit_type_by_id(like["edit_type_id"])
                key = f"journey-{n}"
                edit_id = ensure_edits(store, [NewEdit(key=key, source_id=sources[n % len(sources)],
                                                       edit_type_id=edit_type.id, category_id=edit_type.category.id,
                                                       origin="pipeline")], rev)[key]
                insert_attempts(store, [NewAttempt(key=f"{key}#a1", edit_id=edit_id, attempt_no=1, status="ok",
                                                   origin="pipeline", edit_type_id=edit_type.id,
                                                   category_id=edit_type.category.id,
                                                   instruction=like["instruction"],
                                                   short_instruction=like["short_instruction"],
                                                   output_sha256=like["output_sha256"], backend="local")], rev)
                attempt_id = store.scalar("SELECT id FROM attempts WHERE key = ?", (f"{key}#a1",))
                # Every sub-score near 0.7: the weighted score is within the default ±0.05 of the threshold.
                scores = [round(0.7 + rng.uniform(-0.04, 0.04), 3) for _ in range(4)]
                record_judgments(store, [NewJudgment(attempt_id, *scores)], rev)
    return copy


def _decided(progress) -> int:
    return int(re.search(r"(\d+) decided today", progress.inner_text()).group(1))


def test_review_a_hundred_edits_with_the_keyboard(studio, page, workspace):
    page.goto(studio)
    page.get_by_role("tab", name="Review queue").click()
    progress = page.locator("#review-progress")
    progress.filter(has_text="borderline left").wait_for()
    left = int(re.search(r"([\d,]+) borderline left", progress.inner_text()).group(1).replace(",", ""))
    assert left >= DECISIONS
    page.locator("#review-item-line").click()  # the focus on the page, not in the reason box
    header = page.locator("#review-item-header")
    for n in range(1, DECISIONS + 1):
        shown = re.search(r"Attempt (\d+)", header.inner_text()).group(1)
        page.keyboard.press("k" if n % 3 else "f")
        # Like a curator, look at the next item before deciding it: a key pressed while the studio is still
        # busy with the last decision is ignored on purpose (it must never land on the wrong item).
        progress.filter(has_text=f"alice: {n} decided today").wait_for()
        header.filter(has_not_text=f"Attempt {shown} ").wait_for()
        page.wait_for_function("() => !document.querySelector('#review-item-header .pending, .pending .eta-bar')")
    assert _decided(progress) == DECISIONS
    assert f"{left - DECISIONS:,} borderline left" in progress.inner_text()
    with Store.open(workspace) as store:
        rows = store.query("SELECT new_verdict AS verdict, curator, count(DISTINCT attempt_id) AS n FROM reviews "
                           "GROUP BY new_verdict, curator ORDER BY new_verdict")
    assert [(r["verdict"], r["curator"], r["n"]) for r in rows] == [
        ("fail", "alice", DECISIONS // 3), ("keep", "alice", DECISIONS - DECISIONS // 3)]
