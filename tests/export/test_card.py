"""The dataset card: HF front matter, counts, policy, human review, provenance, license."""

from __future__ import annotations

import yaml

from picobanana import __version__
from picobanana.io.export import export_dataset
from picobanana.store import CategoryRule, Policy, Weights, record_review, save_policy
from picobanana.taxonomy import category_by_name


def _card(path) -> tuple[dict, str]:
    text = (path / "README.md").read_text(encoding="utf-8")
    assert text.startswith("---\n")
    front, body = text[4:].split("\n---\n", 1)
    return yaml.safe_load(front), body


def test_front_matter_configs_and_license(release_store, tmp_path):
    report = export_dataset(release_store, tmp_path / "out", validation_fraction=0.5, embed_images=False)
    meta, body = _card(tmp_path / "out")
    assert meta["license"] == "cc-by-nc-nd-4.0"
    configs = {c["config_name"]: c for c in meta["configs"]}
    assert list(configs) == ["sft", "preference", "multi-turn"]
    assert configs["sft"]["default"] is True
    sft_files = {f["split"]: f["path"] for f in configs["sft"]["data_files"]}
    assert sft_files == {"train": "parquet/sft/train-*.parquet",
                         "validation": "parquet/sft/validation-*.parquet"}
    # Every config names only files that exist.
    for config in configs.values():
        for entry in config["data_files"]:
            assert list((tmp_path / "out").glob(entry["path"])), entry
    assert report.counts["sft"]["train"] + report.counts["sft"]["validation"] == 26
    assert "CC BY-NC-ND 4.0" in body and "CC BY 2.0" in body and "Open Images" in body
    assert f"picobanana {__version__}" in body and report.created_at in body


def test_jsonl_only_export_points_configs_at_jsonl(release_store, tmp_path):
    export_dataset(release_store, tmp_path / "out", formats=["jsonl"], validation_fraction=0)
    meta, _ = _card(tmp_path / "out")
    files = {c["config_name"]: c["data_files"] for c in meta["configs"]}
    assert files["preference"] == [{"split": "train", "path": "jsonl/train/preference.jsonl"}]

    from datasets import load_dataset

    preference = load_dataset(str(tmp_path / "out"), "preference", split="train",
                              cache_dir=str(tmp_path / "hf-cache"))
    assert len(preference) == 3 and preference[0]["rejected_images"] == ["images/rejected-edit/14.png"]


def test_counts_per_category_and_edit_type(release_store, tmp_path):
    report = export_dataset(release_store, tmp_path / "out", formats=["jsonl"], validation_fraction=0)
    _, body = _card(tmp_path / "out")
    sft = body.split("### sft", 1)[1].split("### preference", 1)[0]
    # 23 fixture lines: 13 remove + 8 add + 1 film grain + 1 relocate; plus 3 preference outputs.
    assert "| Remove an existing object | 13 | 0 | 13 |" in sft
    assert "| Add a new object to the scene | 8 | 0 | 8 |" in sft
    assert "| Object-Level Semantic | 23 | 0 | 23 |" in sft
    assert "| Funko-Pop\u2013style toy figure of the person | 1 | 0 | 1 |" in sft
    assert report.by_category["sft"]["train"]["Object-Level Semantic"] == 23
    assert "| 5 | 1 | 0 | 1 |" in body.split("### multi-turn", 1)[1]
    assert "| sft | 26 | 0 | 26 |" in body


def test_policy_overrides_and_provenance(release_store, make_edit, tmp_path):
    text_id = category_by_name("Text & Symbol").id
    policy = save_policy(release_store, Policy(
        name="texty", threshold=0.75,
        per_category={text_id: CategoryRule(weights=Weights(compliance=1, seamlessness=1, preservation=1,
                                                            quality=1), threshold=0.5)}), created_by="ana")
    make_edit(release_store, "file:///x.jpg", [("ok", (0.9, 0.9, 0.9, 0.9), 1)])
    def attempt(ref: str) -> int:
        return release_store.scalar("SELECT id FROM attempts WHERE key = ?", ("release:" + ref,))

    record_review(release_store, attempt("images/positive-edit/1.png"), "fail", curator="ana")
    record_review(release_store, attempt("images/positive-edit/1239.png"), "keep", curator="ana")  # agrees

    report = export_dataset(release_store, tmp_path / "out", formats=["jsonl"], validation_fraction=0,
                            policy="texty")
    _, body = _card(tmp_path / "out")
    assert report.policy.ref == f"texty@{policy.version}"
    assert f"`texty@{policy.version}`" in body
    assert "threshold: keep when score ≥ 0.75" in body
    assert "- Text & Symbol: weights compliance 0.25, seamlessness 0.25, preservation 0.25, quality 0.25; " \
           "threshold 0.5" in body
    assert "human decisions applied: 2 (1 keep, 1 fail)" in body
    assert "overrides (the curator disagreed with the judge or the release): 1" in body

    paths = [r["path"] for r in release_store.query("SELECT path FROM import_files ORDER BY id")]
    assert len(paths) == 3
    for path in paths:
        assert f"`{path}`" in body
    assert {f.path for f in report.provenance.import_files} == set(paths)
    assert report.provenance.origins == {"release": 39 - 1, "pipeline": 1}
    assert "| fake | fake-editor | 1 | 1 |" in body
    assert "Judges: fake-judge 1." in body


def test_card_without_release_data(store, make_edit, tmp_path):
    make_edit(store, "file:///x.jpg", [("ok", (0.9, 0.9, 0.9, 0.9), 1)])
    report = export_dataset(store, tmp_path / "out", formats=["jsonl"], validation_fraction=0)
    meta, body = _card(tmp_path / "out")
    assert meta["license"] == "other"
    assert not report.release_derived
    assert "No record in this export comes from the Pico-Banana-400K release" in body


def test_empty_workspace_gives_a_valid_card(store, tmp_path):
    report = export_dataset(store, tmp_path / "out", validation_fraction=0)
    meta, _ = _card(tmp_path / "out")
    assert meta["configs"] == []
    assert report.files == ["README.md", "export.json"]
