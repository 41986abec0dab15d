"""The Export tab in a real browser: export the sft split, see the card and the file list; the files exist."""

from __future__ import annotations

import json


def test_export_the_sft_split_and_find_the_files(studio, page, workspace):
    page.goto(studio)
    page.get_by_role("tab", name="Export").click()
    splits = page.locator("#pb-export-splits")
    splits.get_by_label("preference").uncheck()
    splits.get_by_label("multi-turn").uncheck()
    page.locator("#pb-export-name textarea, #pb-export-name input").first.fill("e2e-sft")
    page.locator("#pb-export-run").click()

    page.locator("#pb-export-summary").filter(has_text="Exported").wait_for(timeout=60_000)
    page.locator("#pb-export-card").get_by_role("heading", name="Pico-Banana-format image-editing dataset").wait_for()
    files = page.locator("#pb-export-files")
    files.get_by_role("gridcell", name="jsonl/train/sft.jsonl", exact=True).wait_for()
    files.get_by_role("gridcell", name="README.md", exact=True).wait_for()

    folder = workspace.resolve() / "exports" / "e2e-sft"
    report = json.loads((folder / "export.json").read_text())
    assert report["kinds"] == ["sft"]
    for rel in report["files"]:
        assert (folder / rel).is_file(), rel
        files.get_by_role("gridcell", name=rel, exact=True).wait_for()
    assert (folder / "jsonl/train/sft.jsonl").stat().st_size > 0
