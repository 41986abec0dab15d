"""Parquet for Hugging Face `datasets` (real library) and pandas: Image features, shards, schema metadata."""

from __future__ import annotations

import json

import pyarrow.parquet as pq
import pytest

from picobanana.io.export import export_dataset

MULTI = [f"images/multi-turn/101_attemptB_turn{k}.png" for k in range(1, 6)]


@pytest.fixture
def image_store(release_store, attach_png, make_edit):
    """Release fixtures with PNGs for some attempts, plus a pipeline edit whose source photo is stored."""
    attach_png(release_store, "release:images/positive-edit/1.png", 1)
    attach_png(release_store, "release:images/positive-edit/kf5a2q_retry1.png", 2)
    attach_png(release_store, "release:images/rejected-edit/14.png", 3)
    for k, ref in enumerate(MULTI):
        attach_png(release_store, "release:" + ref, 10 + k)
    make_edit(release_store, "file:///photos/street.jpg", [("ok", (0.9, 0.9, 0.9, 0.9), 20)], source_seed=1)
    return release_store


def _load(files, tmp_path):
    from datasets import load_dataset

    return load_dataset("parquet", data_files={"train": [str(f) for f in files]}, split="train",
                        cache_dir=str(tmp_path / "hf-cache"))


def test_sft_loads_with_image_features(image_store, tmp_path):
    from datasets import Image, Value

    report = export_dataset(image_store, tmp_path / "out", validation_fraction=0)
    ds = _load((tmp_path / "out/parquet/sft").glob("train-*.parquet"), tmp_path)
    assert isinstance(ds.features["edited_image"], Image)
    assert isinstance(ds.features["source_image"], Image)
    assert ds.features["output_image"] == Value("string")
    assert ds.features["score"] == Value("float64")
    assert len(ds) == report.total("sft") == 27

    rows = {row["output_image"]: row for row in ds}
    first = rows["images/positive-edit/1.png"]
    assert first["edited_image"].size == (24, 16)
    assert first["source_image"] is None  # release sources are URLs only
    assert first["verdict_source"] == "release" and first["score"] is None
    assert first["category"] == "Object-Level Semantic" and first["edit_type"] == "Remove an existing object"
    assert rows["images/positive-edit/33799.png"]["edited_image"] is None  # no file in the workspace
    (pipeline,) = [r for r in rows.values() if r["output_image"].startswith("images/positive-edit/pb")]
    assert pipeline["source_image"].size == (32, 24)
    assert pipeline["source_url"] == "file:///photos/street.jpg"
    assert pipeline["verdict_source"] == "judge" and pipeline["score"] == pytest.approx(0.9)


def test_preference_and_multi_turn_load(image_store, tmp_path):
    from datasets import Image

    export_dataset(image_store, tmp_path / "out", validation_fraction=0)
    pref = _load((tmp_path / "out/parquet/preference").glob("*.parquet"), tmp_path)
    assert isinstance(pref.features["chosen_image"], Image)
    assert isinstance(pref.features["rejected_images"].feature, Image)
    rows = {r["output_image"]: r for r in pref}
    row = rows["images/positive-edit/kf5a2q_retry1.png"]
    assert row["chosen_image"].size == (24, 16)
    assert [im.size for im in row["rejected_images"]] == [(24, 16)]
    assert row["rejected_image_paths"] == ["images/rejected-edit/14.png"]

    multi = _load((tmp_path / "out/parquet/multi-turn").glob("*.parquet"), tmp_path)
    (chain,) = list(multi)
    assert isinstance(multi.features["turn_images"].feature, Image)
    assert [im.size for im in chain["turn_images"]] == [(24, 16)] * 5
    assert chain["turn_image_paths"] == MULTI
    assert chain["n_turns"] == 5 and chain["prompts"][0].startswith("Shift the entire image")


def test_load_dataset_on_the_export_folder_uses_the_card_configs(image_store, tmp_path):
    from datasets import Image, load_dataset

    export_dataset(image_store, tmp_path / "out", validation_fraction=0)
    sft = load_dataset(str(tmp_path / "out"), "sft", cache_dir=str(tmp_path / "hf-cache"))
    assert list(sft) == ["train"] and len(sft["train"]) == 27
    assert isinstance(sft["train"].features["edited_image"], Image)
    multi = load_dataset(str(tmp_path / "out"), "multi-turn", split="train",
                         cache_dir=str(tmp_path / "hf-cache"))
    assert len(multi) == 1


def test_pandas_reads_shards(image_store, tmp_path):
    import pandas as pd

    export_dataset(image_store, tmp_path / "out", validation_fraction=0)
    frame = pd.read_parquet(tmp_path / "out/parquet/sft/train-00000-of-00001.parquet")
    assert len(frame) == 27
    assert list(frame.columns[:4]) == ["source_url", "source_image", "edited_image", "output_image"]
    cell = frame.set_index("output_image").loc["images/positive-edit/1.png", "edited_image"]
    assert cell["path"] == "images/positive-edit/1.png" and cell["bytes"][:8] == b"\x89PNG\r\n\x1a\n"


def test_schema_carries_hf_features_and_zstd(image_store, tmp_path):
    export_dataset(image_store, tmp_path / "out", validation_fraction=0)
    path = tmp_path / "out/parquet/preference/train-00000-of-00001.parquet"
    features = json.loads(pq.read_schema(path).metadata[b"huggingface"])["info"]["features"]
    assert features["chosen_image"] == {"_type": "Image"}
    assert features["rejected_images"] == {"feature": {"_type": "Image"}, "_type": "Sequence"}
    assert features["text"] == {"dtype": "string", "_type": "Value"}
    assert pq.ParquetFile(path).metadata.row_group(0).column(0).compression == "ZSTD"


def test_without_embedding_image_columns_are_paths(image_store, tmp_path):
    from datasets import Value

    report = export_dataset(image_store, tmp_path / "out", validation_fraction=0, embed_images=False)
    ds = _load((tmp_path / "out/parquet/sft").glob("*.parquet"), tmp_path)
    assert ds.features["edited_image"] == Value("string")
    rows = {r["output_image"]: r for r in ds}
    assert rows["images/positive-edit/1.png"]["edited_image"] == "images/positive-edit/1.png"
    (pipeline,) = [r for r in rows.values() if r["output_image"].startswith("images/positive-edit/pb")]
    source_image = pipeline["source_image"]
    assert source_image.startswith("images/sources/") and source_image.endswith(".jpg")
    assert (tmp_path / "out" / pipeline["source_image"]).is_file()  # copied, so the path resolves
    assert not report.images.embedded_in_parquet


def test_shards_follow_shard_rows(store, bulk_sft, tmp_path):
    import pandas as pd

    bulk_sft(store, 250, 250)
    report = export_dataset(store, tmp_path / "out", splits=["sft"], formats=["parquet"],
                            validation_fraction=0, shard_rows=100)
    shards = sorted((tmp_path / "out/parquet/sft").iterdir())
    assert [s.name for s in shards] == [f"train-0000{i}-of-00003.parquet" for i in range(3)]
    assert [pq.ParquetFile(s).metadata.num_rows for s in shards] == [100, 100, 50]
    frame = pd.concat(pd.read_parquet(s) for s in shards)
    assert list(frame["attempt_id"]) == sorted(frame["attempt_id"])  # streamed in store order
    assert report.files == sorted(["README.md", "export.json", *(f"parquet/sft/{s.name}" for s in shards)])
    assert not list((tmp_path / "out/parquet/sft").glob(".*"))
