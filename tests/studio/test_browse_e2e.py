"""Browse in a real browser: filter by category, open an item, decide with K and see it in the audit history,
move with ← / →, the ? help, a bookmarked URL that reopens the same view, and the chain film strip."""

from __future__ import annotations

import re

from picobanana.store import Store
from picobanana.taxonomy import category_by_id

TIMEOUT = 30_000


def _biggest_category(workspace) -> tuple[str, str]:
    with Store.open(workspace) as store:
        category_id = store.scalar("SELECT category_id FROM attempts WHERE category_id IS NOT NULL "
                                   "GROUP BY 1 ORDER BY COUNT(*) DESC LIMIT 1")
    category = category_by_id(category_id)
    return category.name, category.slug


def _cell_ids(page) -> list[int]:
    return [int(x) for x in page.locator("#pb-grid .pb-cell").evaluate_all("cells => cells.map(c => c.dataset.attempt)")]


def _header_shows(page, attempt_id: int) -> None:
    page.locator("#browse-item-header").get_by_text(re.compile(rf"Attempt {attempt_id}\b")).wait_for(timeout=TIMEOUT)


def test_filter_by_category_open_an_item_and_keep_it_with_the_keyboard(studio, page, workspace):
    name, slug = _biggest_category(workspace)
    page.goto(studio)
    page.locator("#pb-grid .pb-cell").first.wait_for(timeout=TIMEOUT)
    page.locator("#pb-filter-category input").click()
    page.get_by_role("option", name=name, exact=True).click()
    page.locator("#pb-browse-apply").click()
    page.wait_for_function(
        """slug => { const b = [...document.querySelectorAll('#pb-grid .pb-category')];
                     return b.length > 0 && b.every(x => x.dataset.category === slug); }""",
        arg=slug, timeout=TIMEOUT)
    page.wait_for_url(re.compile(rf"category={slug}"), timeout=TIMEOUT)

    first = _cell_ids(page)[0]
    page.locator(f"#pb-grid .pb-cell[data-attempt='{first}']").click()
    _header_shows(page, first)
    page.wait_for_url(re.compile(rf"item={first}"), timeout=TIMEOUT)
    page.locator("#browse-item-header").click()  # focus out of any text field
    page.keyboard.press("k")
    page.locator("#browse-item-message").get_by_text("Saved: keep by alice").wait_for(timeout=TIMEOUT)
    page.locator("#browse-item-audit").filter(has_text="alice").wait_for(timeout=TIMEOUT)
    with Store.open(workspace) as store:
        assert tuple(store.query("SELECT curator, new_verdict FROM reviews WHERE attempt_id = ?", (first,))[-1]) == (
            "alice", "keep")


def test_arrows_move_through_the_page_help_toggles_and_a_bookmark_reopens_the_view(studio, page, workspace):
    name, slug = _biggest_category(workspace)
    page.goto(f"{studio}/?category={slug}&sort=score_asc")
    page.locator("#pb-grid .pb-cell").first.wait_for(timeout=TIMEOUT)
    ids = _cell_ids(page)
    assert len(ids) >= 3
    page.locator(f"#pb-grid .pb-cell[data-attempt='{ids[0]}']").click()
    _header_shows(page, ids[0])
    page.locator("#browse-item-header").click()
    page.keyboard.press("ArrowRight")
    _header_shows(page, ids[1])
    page.keyboard.press("ArrowRight")
    _header_shows(page, ids[2])
    page.keyboard.press("ArrowLeft")
    _header_shows(page, ids[1])
    page.keyboard.press("s")  # skip: no decision, next item
    _header_shows(page, ids[2])

    page.keyboard.press("?")
    page.locator("#pb-help").get_by_text("keep the open item").wait_for(state="visible", timeout=TIMEOUT)
    page.keyboard.press("?")
    page.locator("#pb-help").wait_for(state="hidden", timeout=TIMEOUT)

    # Typing a reason that contains K must not keep anything.
    page.locator("#browse-item-reason textarea, #browse-item-reason input").first.fill("kk ffs")
    with Store.open(workspace) as store:
        assert store.scalar("SELECT COUNT(*) FROM reviews WHERE curator = 'alice'") == 0

    page.wait_for_url(re.compile(rf"item={ids[2]}"), timeout=TIMEOUT)
    bookmark = page.url
    other = page.context.new_page()
    try:
        other.goto(bookmark)
        _header_shows(other, ids[2])
        assert other.locator("#pb-filter-category input").input_value() == name
    finally:
        other.close()

    # The chain film strip: a chain's last turn shows every turn; clicking the first opens turn 1.
    with Store.open(workspace) as store:
        turns = [r[0] for r in store.query(
            "SELECT MIN(a.id) FROM attempts a JOIN edits e ON e.id = a.edit_id WHERE e.chain_id = "
            "(SELECT MIN(chain_id) FROM edits) GROUP BY e.turn ORDER BY e.turn")]
    assert len(turns) >= 2
    page.goto(f"{studio}/?item={turns[-1]}")
    _header_shows(page, turns[-1])
    page.locator("#browse-item-chain img").first.click()
    _header_shows(page, turns[0])
