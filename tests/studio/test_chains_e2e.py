"""The Chains tab in a real browser: pick a chain in the list and see it turn by turn."""

from __future__ import annotations

from picobanana.curation.chains import chain_detail
from picobanana.store import Store


def test_open_a_chain_and_see_its_turns(studio, page, workspace):
    with Store.open(workspace) as store:
        detail = chain_detail(store, store.scalar("SELECT MAX(id) FROM chains"))
    page.goto(studio)
    page.get_by_role("tab", name="Chains").click()
    table = page.locator("#chains-table")
    cell = table.get_by_role("gridcell", name=detail.summary.key)
    cell.click()
    header = page.locator("#chain-header")
    header.filter(has_text=f"Chain {detail.summary.chain_id}").wait_for()
    turns = page.locator("#chain-turns")
    for turn in detail.turns:
        turns.get_by_text(turn.shown.short_instruction, exact=True).filter(visible=True).first.wait_for()
    strip = page.locator("#chain-strip img")
    strip.nth(len(detail.turns)).wait_for()
    assert strip.count() == 1 + len(detail.turns)
