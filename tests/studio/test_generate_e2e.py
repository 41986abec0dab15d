"""The Generate tab in a real browser: choose a source and two edit types, estimate, start a small local job
and watch the job table reach "done" (the poll timer updates it; no reload)."""

from __future__ import annotations

from picobanana.pipeline import jobs
from picobanana.store import Store


def test_start_a_small_local_job_and_watch_it_finish(studio, page, browser, workspace):
    page.goto(studio)
    page.get_by_role("tab", name="Generate").click()
    page.locator("#pb-gen-sources textarea, #pb-gen-sources input").first.fill("1")
    types = page.locator("#pb-gen-types")
    types.get_by_label("Pixel & Photometric · Change overall color tone (warm ↔ cool)").check()
    types.get_by_label("Pixel & Photometric · Add film grain or vintage filter").check()
    attempts = page.locator("#pb-gen-attempts input[type=number]")
    attempts.fill("1")
    attempts.press("Enter")

    page.locator("#pb-gen-estimate").click()
    page.locator("#pb-gen-estimate-result").filter(has_text="2 items (source × edit type) from 1 sources").wait_for()
    page.locator("#pb-gen-start").click()
    page.locator("#pb-gen-start-result").filter(has_text="Started job").wait_for()

    table = page.locator("#pb-jobs")
    table.get_by_role("gridcell", name="done", exact=True).first.wait_for(timeout=180_000)
    table.get_by_role("gridcell", name="2 / 2 (100%)", exact=True).first.wait_for()
    with Store.open(workspace) as store:
        newest = jobs.list_jobs(store, 1)[0]
    assert (newest.status, newest.total, newest.spec.attempts, newest.spec.mix.type_ids) == ("done", 2, 1, [1, 2])
    assert newest.spec.source_ids == [1] and newest.created_by == "alice"

    table.get_by_role("gridcell", name=str(newest.id), exact=True).first.click()
    page.locator("#pb-gen-job-line").filter(has_text=f"Job {newest.id}: done").wait_for()

    # Another curator's tab (a fresh browser context) reads the same job table.
    other = browser.new_context(viewport={"width": 1400, "height": 1000})
    try:
        second = other.new_page()
        second.goto(studio)
        second.get_by_role("tab", name="Generate").click()
        row = second.locator("#pb-jobs").get_by_role("row").filter(has_text="2 / 2 (100%)")
        row.get_by_role("gridcell", name="alice", exact=True).first.wait_for()
    finally:
        other.close()
