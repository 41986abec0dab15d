"""Image files in the export folder: hard-linked (or copied) at their relative paths; missing ones counted."""

from __future__ import annotations

import os

from picobanana.io.export import export_dataset
from picobanana.io.pico_format import attempt_number


def _stored_file(store, key: str):
    sha = store.scalar("SELECT output_sha256 FROM attempts WHERE key = ?", (key,))
    return store.images.file_of(sha)


def test_release_images_placed_at_their_paths_and_missing_counted(release_store, attach_png, tmp_path):
    attach_png(release_store, "release:images/positive-edit/1.png", 1)
    attach_png(release_store, "release:images/rejected-edit/14.png", 2)
    attach_png(release_store, "release:images/multi-turn/101_attemptB_turn2.png", 3)
    report = export_dataset(release_store, tmp_path / "out", formats=["jsonl"], validation_fraction=0)

    out = tmp_path / "out"
    for ref in ("images/positive-edit/1.png", "images/rejected-edit/14.png",
                "images/multi-turn/101_attemptB_turn2.png"):
        assert (out / ref).read_bytes() == _stored_file(release_store, "release:" + ref).read_bytes()
    # Same file system as the store: hard links, no copies.
    placed = out / "images/positive-edit/1.png"
    stored = _stored_file(release_store, "release:images/positive-edit/1.png")
    assert os.stat(placed).st_ino == os.stat(stored).st_ino
    assert (report.images.linked, report.images.copied) == (3, 0)
    # Referenced: 26 sft outputs + 5 rejected + 5 turns = 36 distinct images (the 3 preference outputs are
    # also sft outputs and count once); 3 are in the store.
    assert report.images.missing_outputs == 33
    assert report.images.missing_sources == 27  # 23 sft + 3 preference + 1 multi-turn source URLs, no files
    assert len(list((out / "images").rglob("*.png"))) == 3


def test_pipeline_images_get_pb_names_and_source_photos_are_copied(store, make_edit, tmp_path, read_jsonl):
    good = (0.9, 0.9, 0.9, 0.9)
    edit_id, (rejected, _) = make_edit(store, "file:///photos/a.jpg",
                                       [("ok", (0.1,) * 4, 1), ("ok", good, 2)], source_seed=5)
    report = export_dataset(store, tmp_path / "out", validation_fraction=0)
    out = tmp_path / "out"
    (row,) = read_jsonl(out / "jsonl/train/sft.jsonl")
    assert row["output_image"] == f"images/positive-edit/pb{edit_id}_retry1.png"
    assert attempt_number(row["output_image"]) == 2  # the importer reads the attempt number back
    assert row["open_image_input_url"] == "file:///photos/a.jpg"
    assert (out / row["output_image"]).is_file()
    assert (out / f"images/rejected-edit/pb{rejected}.png").is_file()
    sources = list((out / "images/sources").iterdir())
    assert len(sources) == 1 and sources[0].suffix == ".jpg"
    sha = store.scalar("SELECT image_sha256 FROM sources WHERE uri = 'file:///photos/a.jpg'")
    assert sources[0].name == f"{sha}.jpg"
    assert report.images.missing_outputs == 0 and report.images.missing_sources == 0
    assert report.images.linked == 3  # two edited images + one source photo, each placed once


def test_no_copy_leaves_no_image_folder(release_store, attach_png, tmp_path):
    attach_png(release_store, "release:images/positive-edit/1.png", 1)
    report = export_dataset(release_store, tmp_path / "out", validation_fraction=0, copy_images=False,
                            embed_images=False)
    assert not (tmp_path / "out/images").exists()
    assert (report.images.linked, report.images.copied, report.images.missing_outputs) == (0, 0, 0)
    assert not report.images.copied_into_export


def test_copy_fallback_when_links_fail(release_store, attach_png, tmp_path, monkeypatch):
    attach_png(release_store, "release:images/positive-edit/1.png", 1)

    def no_links(src, dst):
        raise OSError("cross-device link")

    monkeypatch.setattr(os, "link", no_links)
    report = export_dataset(release_store, tmp_path / "out", splits=["sft"], formats=["jsonl"],
                            validation_fraction=0)
    placed = tmp_path / "out/images/positive-edit/1.png"
    stored = _stored_file(release_store, "release:images/positive-edit/1.png")
    assert placed.read_bytes() == stored.read_bytes()
    assert os.stat(placed).st_ino != os.stat(stored).st_ino
    assert (report.images.linked, report.images.copied) == (0, 1)


def test_pipeline_multi_turn_chain(store, make_chain, tmp_path, read_jsonl):
    chain_id = make_chain(store, "file:///photos/c.jpg", [("make it snow", 1, "ok"), ("zoom in", 2, "ok")])
    # Pipeline turns are unjudged: pending, so the chain is not exported until judged or reviewed.
    report = export_dataset(store, tmp_path / "pending", formats=["jsonl"], validation_fraction=0)
    assert report.total("multi-turn") == 0

    from picobanana.store import record_review

    for (attempt_id,) in store.query("SELECT id FROM attempts ORDER BY id"):
        record_review(store, attempt_id, "keep", curator="ana")
    export_dataset(store, tmp_path / "out", formats=["jsonl"], validation_fraction=0)
    (row,) = read_jsonl(tmp_path / "out/jsonl/train/multi-turn.jsonl")
    assert row == {"files": [
        {"id": "edit_turn1", "url": f"images/multi-turn/pb{chain_id}_attemptA_turn1.png"},
        {"id": "final_image", "url": f"images/multi-turn/pb{chain_id}_attemptA_turn2.png"},
        {"id": "original_input_image", "url": "file:///photos/c.jpg"},
    ], "metadata_edit_turn_prompts": ["make it snow", "zoom in"]}
    for f in row["files"][:2]:
        assert (tmp_path / "out" / f["url"]).is_file()


def test_unsafe_release_paths_are_never_used_as_file_names(store, attach_png, tmp_path, read_jsonl):
    from picobanana.store.writes import (
        NewAttempt,
        NewEdit,
        NewSource,
        ensure_edits,
        ensure_sources,
        insert_attempts,
    )

    with store.transaction() as rev:
        source = ensure_sources(store, [NewSource(uri="https://x.example/a.jpg", origin="release")], rev)
        ref = "images/../../escape.png"
        new_edit = NewEdit(key="release:" + ref, source_id=source["https://x.example/a.jpg"], edit_type_id=4,
                           category_id=2, origin="release")
        edit = ensure_edits(store, [new_edit], rev)[new_edit.key]
        insert_attempts(store, [NewAttempt(key="release:" + ref, edit_id=edit, attempt_no=1, status="ok",
                                           origin="release", edit_type_id=4, category_id=2, instruction="t",
                                           short_instruction="s", output_ref=ref)], rev)
    attach_png(store, "release:images/../../escape.png", 1)
    report = export_dataset(store, tmp_path / "deep/out", formats=["jsonl"], validation_fraction=0)
    (row,) = read_jsonl(tmp_path / "deep/out/jsonl/train/sft.jsonl")
    assert row["output_image"] == f"images/positive-edit/pb{edit}.png"
    assert (tmp_path / "deep/out" / row["output_image"]).is_file()
    assert not (tmp_path / "escape.png").exists() and not (tmp_path / "deep/escape.png").exists()
    assert report.images.linked == 1
