"""Settings: defaults < TOML file < environment < explicit arguments."""

from __future__ import annotations

from pathlib import Path

import pytest

from picobanana.config import load_settings
from picobanana.errors import ConfigError


def test_defaults(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    settings = load_settings()
    assert settings.workspace == Path("data")
    assert settings.export.validation_fraction == 0.05


def test_toml_in_the_workspace_then_environment_then_arguments(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    workspace = tmp_path / "ws"
    workspace.mkdir()
    (workspace / "picobanana.toml").write_text(
        'curator = "from-toml"\n[export]\nvalidation_fraction = 0.2\nparquet_shard_rows = 500\n')
    settings = load_settings(workspace=workspace)
    assert (settings.curator, settings.export.validation_fraction) == ("from-toml", 0.2)
    monkeypatch.setenv("PICOBANANA_EXPORT__VALIDATION_FRACTION", "0.3")
    monkeypatch.setenv("PICOBANANA_CURATOR", "from-env")
    settings = load_settings(workspace=workspace)
    assert (settings.curator, settings.export.validation_fraction) == ("from-env", 0.3)
    assert settings.export.parquet_shard_rows == 500
    assert load_settings(workspace=workspace, curator="from-flag").curator == "from-flag"


def test_bad_values_are_reported_with_the_file(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    config = tmp_path / "bad.toml"
    config.write_text("[export]\nvalidation_fraction = 7\n")
    with pytest.raises(ConfigError, match="bad.toml"):
        load_settings(config)
    with pytest.raises(ConfigError, match="not found"):
        load_settings(tmp_path / "missing.toml")
