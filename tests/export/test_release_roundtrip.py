"""Import the release fixtures, export them again: the released format must come back unchanged."""

from __future__ import annotations

import json

import pytest

from picobanana.io.export import ExportError, export_dataset
from picobanana.io.pico_format import KEY_ORDER, normalise_ref, resolve_url


def _lines(path) -> list[str]:
    return path.read_text(encoding="utf-8").split("\n")[:-1]  # every line ends with "\n"


def test_sft_lines_round_trip_byte_for_byte(store, pico_fixtures, import_release, tmp_path):
    import_release(store, pico_fixtures / "sft-sample.jsonl")
    export_dataset(store, tmp_path / "out", formats=["jsonl"], validation_fraction=0)

    exported = (tmp_path / "out/jsonl/train/sft.jsonl").read_bytes()
    fixture = (pico_fixtures / "sft-sample.jsonl").read_bytes()
    assert exported.split(b"\n") == fixture.rstrip(b"\n").split(b"\n") + [b""]
    assert not (tmp_path / "out/jsonl/validation").exists()


def test_all_kinds_round_trip(release_store, pico_fixtures, tmp_path):
    report = export_dataset(release_store, tmp_path / "out", formats=["jsonl"], validation_fraction=0)
    out = tmp_path / "out"

    # sft: every fixture line, byte for byte and in order; then the preference records' kept edits, which are
    # kept single-turn edits too (in the release they also appear in sft.jsonl).
    sft = _lines(out / "jsonl/train/sft.jsonl")
    fixture_sft = _lines(pico_fixtures / "sft-sample.jsonl")
    assert sft[:len(fixture_sft)] == fixture_sft
    preference_fixture = [json.loads(line) for line in _lines(pico_fixtures / "preference-sample.jsonl")]
    extra = [json.loads(line) for line in sft[len(fixture_sft):]]
    assert [e["output_image"] for e in extra] == [p["output_image"] for p in preference_fixture]
    assert all(list(e) == list(KEY_ORDER["sft"]) for e in extra)

    # preference: same objects and key order; rejected paths come back canonical (prefix stripped).
    preference = [json.loads(line) for line in _lines(out / "jsonl/train/preference.jsonl")]
    expected = [{**p, "rejected_images": [normalise_ref(r) for r in p["rejected_images"]]}
                for p in preference_fixture]
    assert preference == expected
    assert all(list(p) == list(KEY_ORDER["preference"]) for p in preference)
    assert preference[0]["rejected_images"] == ["images/rejected-edit/14.png"]

    # multi-turn: identical object, key order and `files` order.
    multi = _lines(out / "jsonl/train/multi-turn.jsonl")
    fixture_multi = _lines(pico_fixtures / "multi-turn-sample.jsonl")
    assert [json.loads(m) for m in multi] == [json.loads(m) for m in fixture_multi]
    assert multi == fixture_multi  # the published line is json.dumps output too
    assert report.counts == {"sft": {"train": 26}, "preference": {"train": 3}, "multi-turn": {"train": 1}}


def test_layout_and_manifests(release_store, tmp_path):
    base = "https://cdn.example.org/nb/"
    report = export_dataset(release_store, tmp_path / "out", validation_fraction=0, base_url=base,
                            embed_images=False)
    out = tmp_path / "out"
    assert sorted(report.files) == sorted([
        "README.md", "export.json",
        "jsonl/train/sft.jsonl", "jsonl/train/preference.jsonl", "jsonl/train/multi-turn.jsonl",
        "manifest/train/sft_manifest.txt", "manifest/train/preference_manifest.txt",
        "manifest/train/multi_turn_manifest.txt",
        "parquet/sft/train-00000-of-00001.parquet", "parquet/preference/train-00000-of-00001.parquet",
        "parquet/multi-turn/train-00000-of-00001.parquet",
    ])
    assert all((out / f).is_file() for f in report.files)
    assert not list(tmp_path.glob(".out.*"))  # the staging folder is gone

    sft = [json.loads(line) for line in _lines(out / "jsonl/train/sft.jsonl")]
    expected = [resolve_url(r["output_image"], base) for r in sft]
    assert _lines(out / "manifest/train/sft_manifest.txt") == expected
    preference = [json.loads(line) for line in _lines(out / "jsonl/train/preference.jsonl")]
    assert _lines(out / "manifest/train/preference_manifest.txt") == [
        base + path for p in preference for path in (p["output_image"], *p["rejected_images"])]
    multi = json.loads(_lines(out / "jsonl/train/multi-turn.jsonl")[0])
    turn_urls = [base + f["url"] for f in multi["files"] if f["id"] != "original_input_image"]
    assert _lines(out / "manifest/train/multi_turn_manifest.txt") == turn_urls
    # No source photo in any manifest: records carry their Flickr URL, as in the release.
    assert not any("staticflickr" in line for f in (out / "manifest").rglob("*.txt") for line in _lines(f))


def test_default_base_url_is_the_export_folder(release_store, tmp_path):
    export_dataset(release_store, tmp_path / "out", splits=["sft"], formats=["jsonl"], validation_fraction=0)
    first = _lines(tmp_path / "out/manifest/train/sft_manifest.txt")[0]
    assert first == (tmp_path / "out").resolve().as_uri() + "/images/positive-edit/1.png"


def test_only_requested_kinds_are_written(release_store, tmp_path):
    report = export_dataset(release_store, tmp_path / "out", splits=["multi-turn"], formats=["jsonl"],
                            validation_fraction=0)
    assert report.kinds == ["multi-turn"]
    assert not (tmp_path / "out/jsonl/train/sft.jsonl").exists()
    assert (tmp_path / "out/jsonl/train/multi-turn.jsonl").is_file()


def test_refuses_to_overwrite_a_folder_that_is_not_an_export(release_store, tmp_path):
    target = tmp_path / "precious"
    target.mkdir()
    (target / "notes.txt").write_text("keep me")
    with pytest.raises(ExportError, match="not empty"):
        export_dataset(release_store, target, formats=["jsonl"])
    with pytest.raises(ExportError, match="not a picobanana export"):
        export_dataset(release_store, target, formats=["jsonl"], overwrite=True)
    assert (target / "notes.txt").read_text() == "keep me"


def test_overwrite_replaces_a_previous_export(release_store, tmp_path):
    export_dataset(release_store, tmp_path / "out", formats=["jsonl"], validation_fraction=0)
    (tmp_path / "out/stale.txt").write_text("old")
    report = export_dataset(release_store, tmp_path / "out", splits=["sft"], formats=["jsonl"],
                            validation_fraction=0, overwrite=True)
    assert not (tmp_path / "out/stale.txt").exists()
    assert not (tmp_path / "out/jsonl/train/preference.jsonl").exists()
    assert report.total("sft") == 26


def test_unknown_kind_or_format_is_refused(release_store, tmp_path):
    with pytest.raises(ExportError, match="unknown split"):
        export_dataset(release_store, tmp_path / "a", splits=["sft", "dpo"])
    with pytest.raises(ExportError, match="unknown format"):
        export_dataset(release_store, tmp_path / "b", formats=["csv"])
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()
