"""Train/validation by source image: deterministic, machine-independent, never splitting a source."""

from __future__ import annotations

import json

import pytest

from picobanana.io.export import ExportError, export_dataset, source_fraction, split_of

FLICKR = "https://c1.staticflickr.com/8/7404/9423051591_cb1bf5c5e1_o.jpg"


def test_fraction_is_the_first_64_bits_of_sha256():
    # sha256(FLICKR) starts 92b402d356f2997a: a fixed number on every machine and Python version.
    assert source_fraction(FLICKR) == 0x92B402D356F2997A / 2**64
    assert split_of(FLICKR, 0.58) == "validation"
    assert split_of(FLICKR, 0.57) == "train"
    assert split_of(FLICKR, 0.0) == "train"


def _by_source(rows: list[dict]) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for split, row in rows:
        found.setdefault(row["open_image_input_url"], set()).add(split)
    return found


def test_many_sources_split_about_the_fraction_and_never_both(store, bulk_sft, read_jsonl, tmp_path):
    # 3000 records over 1000 sources: each source has 3 records (different edit types).
    bulk_sft(store, 3000, 1000)
    report = export_dataset(store, tmp_path / "out", splits=["sft"], formats=["jsonl", "parquet"],
                            validation_fraction=0.2, embed_images=False, copy_images=False)
    rows = [(split, r) for split in ("train", "validation")
            for r in read_jsonl(tmp_path / f"out/jsonl/{split}/sft.jsonl")]
    assert len(rows) == 3000
    by_source = _by_source(rows)
    assert len(by_source) == 1000
    assert all(len(splits) == 1 for splits in by_source.values())
    validation_sources = sum(1 for s in by_source.values() if s == {"validation"})
    assert 150 <= validation_sources <= 250  # binomial(1000, 0.2): ±3.9 sigma
    assert all(split_of(uri, 0.2) == next(iter(s)) for uri, s in by_source.items())
    assert report.counts["sft"]["validation"] == 3 * validation_sources

    import pandas as pd

    for split in ("train", "validation"):
        frame = pd.read_parquet(tmp_path / f"out/parquet/sft/{split}-00000-of-00001.parquet")
        assert set(frame["split"]) == {split}
        assert len(frame) == report.counts["sft"][split]


def test_same_split_across_runs_and_kinds(release_store, tmp_path, read_jsonl):
    first = export_dataset(release_store, tmp_path / "a", formats=["jsonl"], validation_fraction=0.5)
    second = export_dataset(release_store, tmp_path / "b", formats=["jsonl"], validation_fraction=0.5)
    assert first.counts == second.counts
    assert first.counts["sft"].get("validation", 0) > 0 and first.counts["sft"].get("train", 0) > 0
    for rel in first.files:
        if rel.startswith("jsonl/"):
            assert (tmp_path / "a" / rel).read_bytes() == (tmp_path / "b" / rel).read_bytes()
    # A preference record sits in the same split as the sft record of the same source.
    splits_of_source: dict[str, set[str]] = {}
    for split in ("train", "validation"):
        for kind in ("sft", "preference"):
            path = tmp_path / "a" / f"jsonl/{split}/{kind}.jsonl"
            for row in read_jsonl(path) if path.exists() else []:
                splits_of_source.setdefault(row["open_image_input_url"], set()).add(split)
        multi = tmp_path / "a" / f"jsonl/{split}/multi-turn.jsonl"
        for row in read_jsonl(multi) if multi.exists() else []:
            source = next(f["url"] for f in row["files"] if f["id"] == "original_input_image")
            assert split_of(source, 0.5) == split
    assert all(len(s) == 1 for s in splits_of_source.values())
    assert all(split_of(uri, 0.5) in s for uri, s in splits_of_source.items())


@pytest.mark.parametrize("fraction", [-0.1, 1.0, 1.5])
def test_fraction_must_be_in_range(release_store, tmp_path, fraction):
    with pytest.raises(ExportError, match="validation_fraction"):
        export_dataset(release_store, tmp_path / "out", validation_fraction=fraction)


def test_report_file_matches_returned_report(release_store, tmp_path):
    report = export_dataset(release_store, tmp_path / "out", formats=["jsonl"], validation_fraction=0.3)
    saved = json.loads((tmp_path / "out/export.json").read_text())
    assert saved["counts"] == report.counts
    assert saved["validation_fraction"] == 0.3
