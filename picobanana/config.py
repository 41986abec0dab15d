"""Typed settings: defaults < TOML file < environment (PICOBANANA_*) < explicit arguments.

The TOML file is `--config FILE`, else `picobanana.toml` inside the workspace, else `./picobanana.toml`.
Nested keys use `__` in the environment: `PICOBANANA_EXPORT__VALIDATION_FRACTION=0.1`.
API keys are never settings: backends read them from the environment when they need them.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from picobanana.errors import ConfigError

CONFIG_FILE_NAME = "picobanana.toml"
from picobanana.io.pico_format import RELEASE_CDN_BASE


class Price(BaseModel):
    """USD prices of one backend; a backend's own Usage.cost_usd wins when it reports one."""

    model_config = ConfigDict(extra="forbid")
    input_per_mtok: float = Field(0.0, ge=0)
    output_per_mtok: float = Field(0.0, ge=0)
    per_image: float = Field(0.0, ge=0)
    per_call: float = Field(0.0, ge=0)


class ImportSettings(BaseModel):
    # 20K lines per transaction: each commit rewrites every index page its rows touched, so 5K-line batches
    # import 400K release lines ~8% slower (bench/bench_import.py); a 20K batch holds ~30 MB of records.
    batch_size: int = Field(20_000, ge=1, description="lines written per transaction (and per resume step)")
    cdn_base: str = Field(RELEASE_CDN_BASE, description="base URL that relative release paths resolve against")


class ExportSettings(BaseModel):
    validation_fraction: float = Field(0.05, ge=0.0, lt=1.0)
    parquet_shard_rows: int = Field(20_000, ge=100)
    base_url: str | None = Field(None, description="prefix of manifest URLs; default: the export folder")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PICOBANANA_", env_nested_delimiter="__", extra="ignore")

    workspace: Path = Path("data")
    curator: str = Field(default_factory=lambda: os.environ.get("USER", "curator"))
    import_: ImportSettings = Field(default_factory=ImportSettings, alias="import")
    export: ExportSettings = Field(default_factory=ExportSettings)
    # Backend name → USD prices, the default price table of every job (a job spec's own `prices` win).
    prices: dict[str, Price] = Field(default_factory=dict)

    # Set per instance by load_settings(); a class attribute because pydantic-settings builds sources per class.
    toml_path: ClassVar[Path | None] = None

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        if cls.toml_path is not None:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=cls.toml_path))
        return tuple(sources)


def find_config_file(explicit: Path | None, workspace: Path | None) -> Path | None:
    if explicit is not None:
        if not explicit.is_file():
            raise ConfigError(f"config file not found: {explicit}")
        return explicit
    for candidate in ([workspace / CONFIG_FILE_NAME] if workspace else []) + [Path(CONFIG_FILE_NAME)]:
        if candidate.is_file():
            return candidate
    return None


def load_settings(config_file: Path | None = None, **overrides: Any) -> Settings:
    """Load settings; `overrides` (e.g. workspace from a CLI flag) win over everything else."""
    overrides = {k: v for k, v in overrides.items() if v is not None}
    workspace = overrides.get("workspace") or os.environ.get("PICOBANANA_WORKSPACE")
    toml_path = find_config_file(config_file, Path(workspace) if workspace else Path("data"))
    settings_cls = type("Settings", (Settings,), {"toml_path": toml_path})
    try:
        return settings_cls(**overrides)
    except Exception as exc:  # pydantic's ValidationError, tomllib's decode error
        raise ConfigError(f"invalid settings{f' in {toml_path}' if toml_path else ''}: {exc}") from exc
