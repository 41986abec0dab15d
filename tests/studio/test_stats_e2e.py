"""The Stats tab in a real Chromium, with no internet: its charts render (Gradio's bundled Vega, no CDN)
and the table shows the paper's pass rates beside ours."""

from __future__ import annotations

from playwright.sync_api import expect

from picobanana.taxonomy import EDIT_TYPES

CHARTS = ("stats-pass-rate-chart", "stats-paper-chart", "stats-category-chart", "stats-score-histogram",
          "stats-subscore-histogram")


def test_stats_tab_renders_charts_and_the_paper_rates(studio, page):
    outside = []
    page.on("request", lambda r: outside.append(r.url) if not r.url.startswith((studio, "data:", "blob:"))
            else None)
    page.goto(studio)
    page.get_by_role("tab", name="Stats").click()  # selecting the tab loads the figures
    expect(page.locator("#stats-summary")).to_contain_text("Policy paper@1", timeout=30_000)
    for chart in CHARTS:
        drawn = page.locator(f"#{chart} svg, #{chart} canvas")
        expect(drawn.first).to_be_visible(timeout=15_000)
    table = page.locator("#stats-edit-types")
    expect(table).to_contain_text("Paper")
    expect(table).to_contain_text("Pass rate (ours)")
    paper = next(t for t in EDIT_TYPES if t.paper_success is not None)
    expect(table).to_contain_text(f"{paper.paper_success * 100:.1f} %")
    expect(page.locator("#stats-agreement")).to_contain_text("human: keep")

    page.locator("#stats-refresh").click()
    expect(page.locator("#stats-summary")).to_contain_text("Single-turn attempts", timeout=15_000)
    assert outside == [], f"the page fetched from outside the studio: {outside}"
