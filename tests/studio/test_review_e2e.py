"""The Review queue in a real browser: open the tab, press K, the queue moves on and the progress counts it."""

from __future__ import annotations

import re
import shutil

import pytest

from picobanana.store import Policy, Store, activate_policy, attempt_verdict, save_policy


@pytest.fixture
def workspace(seeded_workspace, tmp_path):
    """The seeded workspace under a strict policy (threshold 0.95): most of its attempts become borderline."""
    copy = tmp_path / "ws"
    shutil.copytree(seeded_workspace, copy)
    with Store.open(copy) as store:
        activate_policy(store, save_policy(store, Policy(name="strict", threshold=0.95), created_by="t").id,
                        activated_by="t")
    return copy


def _shown_attempt(page) -> int:
    text = page.locator("#review-item-header").inner_text()
    return int(re.search(r"Attempt (\d+)", text).group(1))


def test_keep_with_the_keyboard_advances_the_queue(studio, page, workspace):
    page.goto(studio)
    page.get_by_role("tab", name="Review queue").click()
    progress = page.locator("#review-progress")
    progress.filter(has_text="borderline left").wait_for()
    assert "alice: 0 decided today" in progress.inner_text()
    left = int(re.search(r"([\d,]+) borderline left", progress.inner_text()).group(1).replace(",", ""))
    first = _shown_attempt(page)
    page.locator("#review-item-line").click()  # focus on the page, not in a text box
    page.keyboard.press("k")
    progress.filter(has_text="1 decided today").wait_for()
    assert f"{left - 1} borderline left" in progress.inner_text()
    page.locator("#review-item-header").filter(has_not_text=f"Attempt {first} ").wait_for()
    assert _shown_attempt(page) != first
    with Store.open(workspace) as store:
        verdict = attempt_verdict(store, first)
        assert (verdict.verdict, verdict.source) == ("keep", "human")
        assert store.scalar("SELECT curator FROM reviews WHERE attempt_id = ?", (first,)) == "alice"
