"""The Export tab through its API: files written under exports/, the card (inert HTML), refusals."""

from __future__ import annotations

import json

import pytest
from gradio_client.exceptions import AppError

from picobanana.store import Policy, Store, save_policy
from picobanana.studio.tabs.export import card_body, safe_markdown

DEFAULTS = {"splits": ["sft"], "formats": ["jsonl"], "images": ["copy"], "fraction": 0.0, "overwrite": False}


def test_export_run_writes_the_files_it_lists(client, workspace):
    summary, files, card = client.predict(**DEFAULTS, name="api-sft", api_name="/export_run")
    folder = workspace.resolve() / "exports" / "api-sft"
    assert str(folder) in summary and "sft" in summary
    rows = {row[0]: row for row in files["data"]}
    assert {"README.md", "export.json", "jsonl/train/sft.jsonl", "manifest/train/sft_manifest.txt"} <= set(rows)
    for path, count, _size in rows.values():
        assert (folder / path).exists(), path
    report = json.loads((folder / "export.json").read_text())
    assert report["kinds"] == ["sft"] and report["counts"]["sft"]["train"] > 0
    assert rows["images/positive-edit/"][1] == report["counts"]["sft"]["train"]
    lines = (folder / "jsonl/train/sft.jsonl").read_text().splitlines()
    assert len(lines) == report["counts"]["sft"]["train"]
    assert "# Pico-Banana-format image-editing dataset" in card and not card.startswith("---")
    assert "## Selection policy" in card


def test_export_refuses_folders_outside_exports_and_existing_ones(client, workspace):
    with pytest.raises(AppError, match="invalid export folder name"):
        client.predict(**DEFAULTS, name="../../escape", api_name="/export_run")
    assert not (workspace.parent / "escape").exists()
    client.predict(**DEFAULTS, name="twice", api_name="/export_run")
    with pytest.raises(AppError, match="not empty"):
        client.predict(**DEFAULTS, name="twice", api_name="/export_run")
    summary, _, _ = client.predict(**{**DEFAULTS, "overwrite": True}, name="twice", api_name="/export_run")
    assert "twice" in summary


def test_the_card_is_shown_with_inert_html(client, workspace):
    with Store.open(workspace) as store:
        save_policy(store, Policy(name="loose", threshold=0.5, note="<img src=x onerror=alert(1)> & co"),
                    created_by="alice")
    _, _, card = client.predict(**DEFAULTS, policy="loose@1", name="loose", api_name="/export_run")
    assert "&lt;img src=x onerror=alert(1)&gt; &amp; co" in card and "<img" not in card
    assert "`loose@1`" in card


def test_safe_markdown_escapes_outside_code_only():
    text = "a <b>x</b> `<kept>` & c\n```python\nx = 1 < 2\n```\n<script>"
    assert safe_markdown(text) == "a &lt;b&gt;x&lt;/b&gt; `<kept>` &amp; c\n```python\nx = 1 < 2\n```\n&lt;script&gt;"
    assert card_body("---\nlicense: other\n---\n# Title\n") == "# Title\n"
