"""`picobanana export` through click's CliRunner."""

from __future__ import annotations

import json

from click.testing import CliRunner

from picobanana.cli.main import cli


def _workspace(tmp_path, pico_fixtures, import_release):
    from picobanana.store import Store

    with Store.open(tmp_path / "ws") as store:
        for name in ("sft-sample.jsonl", "preference-sample.jsonl", "multi-turn-sample.jsonl"):
            import_release(store, pico_fixtures / name)
    return tmp_path / "ws"


def test_export_to_a_folder(tmp_path, pico_fixtures, import_release):
    ws = _workspace(tmp_path, pico_fixtures, import_release)
    out = tmp_path / "out"
    result = CliRunner().invoke(cli, ["-w", str(ws), "export", str(out), "--split", "sft",
                                      "--split", "preference", "--format", "jsonl",
                                      "--validation-fraction", "0", "--no-images",
                                      "--base-url", "https://cdn.example/"])
    assert result.exit_code == 0, result.output
    assert "sft" in result.output and "26" in result.output
    assert (out / "jsonl/train/sft.jsonl").is_file() and (out / "jsonl/train/preference.jsonl").is_file()
    assert not (out / "jsonl/train/multi-turn.jsonl").exists() and not (out / "parquet").exists()
    manifest = (out / "manifest/train/sft_manifest.txt").read_text().splitlines()
    assert manifest[0] == "https://cdn.example/images/positive-edit/1.png"
    saved = json.loads((out / "export.json").read_text())
    assert saved["images"]["copied_into_export"] is False and saved["formats"] == ["jsonl"]


def test_default_folder_is_under_the_workspace(tmp_path, pico_fixtures, import_release, monkeypatch):
    ws = _workspace(tmp_path, pico_fixtures, import_release)
    monkeypatch.setenv("PICOBANANA_EXPORT__VALIDATION_FRACTION", "0")
    monkeypatch.setenv("PICOBANANA_EXPORT__PARQUET_SHARD_ROWS", "100")
    result = CliRunner().invoke(cli, ["-w", str(ws), "export", "--name", "v1", "--format", "parquet"])
    assert result.exit_code == 0, result.output
    out = ws / "exports" / "v1"
    assert json.loads((out / "export.json").read_text())["validation_fraction"] == 0.0  # from the environment
    assert (out / "parquet/sft/train-00000-of-00001.parquet").is_file()
    # A second run into the same folder needs --overwrite.
    again = CliRunner().invoke(cli, ["-w", str(ws), "export", "--name", "v1"])
    assert again.exit_code == 2 and "Error:" in again.output and "not empty" in again.output
    assert CliRunner().invoke(cli, ["-w", str(ws), "export", "--name", "v1", "--overwrite"]).exit_code == 0


def test_unknown_policy_is_a_clear_error(tmp_path, pico_fixtures, import_release):
    ws = _workspace(tmp_path, pico_fixtures, import_release)
    result = CliRunner().invoke(cli, ["-w", str(ws), "export", str(tmp_path / "out"), "--policy", "nope@3"])
    assert result.exit_code == 2
    assert "Error: no policy 'nope@3'" in result.output
    assert not (tmp_path / "out").exists()


def test_help_lists_the_options():
    result = CliRunner().invoke(cli, ["export", "--help"])
    assert result.exit_code == 0
    for option in ("--split", "--format", "--policy", "--validation-fraction", "--no-images", "--base-url",
                   "--overwrite"):
        assert option in result.output
