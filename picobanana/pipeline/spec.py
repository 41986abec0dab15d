"""What a job is: sources + an edit-type mix + backends per role + attempts + policy + limits + chains.

A JobSpec is stored as JSON in the job row, so `picobanana resume ID` runs exactly the same plan.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from picobanana.backends.base import ROLES
from picobanana.config import Price  # a settings type: the config file holds the default price table

Role = Literal["writer", "rewriter", "editor", "judge"]


class EditMix(BaseModel):
    """Which edit types to request.

    - "each":       every listed type (default: all 35) on every source;
    - "counts":     `counts[type_id]` items of each type, sources drawn without repeating a (source, type);
    - "categories": `category_quotas[category_id]` items per category, types drawn ∝ the release's sft counts;
    - "release":    `total` items, types drawn ∝ the release's sft counts (EditType.sft_count).
    """

    model_config = ConfigDict(extra="forbid")
    kind: Literal["each", "counts", "categories", "release"] = "each"
    type_ids: list[int] = Field(default_factory=list)  # "each": empty = all types; others: allowed types
    counts: dict[int, int] = Field(default_factory=dict)
    category_quotas: dict[int, int] = Field(default_factory=dict)
    total: int = Field(0, ge=0)


class ChainSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    n_chains: int = Field(0, ge=0)
    min_turns: int = Field(2, ge=2, le=5)
    max_turns: int = Field(5, ge=2, le=5)
    keep_chain_only_if_all_pass: bool = True
    type_ids: list[int] = Field(default_factory=list)  # types for turns 2..n (empty: the job's types)

    @model_validator(mode="after")
    def _ordered(self) -> ChainSettings:
        if self.min_turns > self.max_turns:
            raise ValueError("min_turns must not exceed max_turns")
        return self


class RoleSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    backend: str = "local"  # the embedded offline backend: real work, no keys, no downloads
    options: dict[str, Any] = Field(default_factory=dict)
    concurrency: int = Field(4, ge=1, le=1024)
    rpm: float | None = Field(None, gt=0)  # requests per minute; None = unlimited
    timeout_s: float = Field(120.0, gt=0)
    # Expected usage per call, for the estimate before a job runs (real backends report actual usage).
    expected_input_tokens: int = 0
    expected_output_tokens: int = 0
    expected_images: int = 0


class BatchSettings(BaseModel):
    """Batch mode (−50 %, hours not seconds): the editor and/or judge requests of each round go out as batch
    jobs of at most `max_requests` (large image batches fail to download); writer and rewriter stay online."""

    model_config = ConfigDict(extra="forbid")
    roles: list[Literal["editor", "judge"]] = Field(default_factory=lambda: ["editor", "judge"], min_length=1)
    poll_s: float = Field(30.0, gt=0)
    max_requests: int = Field(100, ge=1, le=10_000)
    max_inline_mb: float = Field(18.0, gt=0, le=20)  # images per batch, base64 included (the limit is 20 MB)


class JobSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    source_ids: list[int] = Field(default_factory=list)  # empty = every source with an image
    mix: EditMix = Field(default_factory=EditMix)
    roles: dict[Role, RoleSettings] = Field(default_factory=lambda: {r: RoleSettings() for r in ROLES})
    attempts: int = Field(3, ge=1, le=10)
    policy: str | None = None  # name, name@version or id; None = the active policy at job start
    seed: int = 0
    chains: ChainSettings = Field(default_factory=ChainSettings)
    prices: dict[str, Price] = Field(default_factory=dict)  # backend name → prices; absent = free
    call_retries: int = Field(3, ge=0, le=20)  # retries of one call on Transient / timeout
    rate_limit_retries: int = Field(8, ge=0, le=100)
    backoff_base_s: float = Field(1.0, ge=0)
    backoff_max_s: float = Field(60.0, ge=0)
    batch: BatchSettings | None = None  # None = every call online

    @model_validator(mode="after")
    def _all_roles(self) -> JobSpec:
        for role in ROLES:
            self.roles.setdefault(role, RoleSettings())
        return self

    def role(self, role: str) -> RoleSettings:
        return self.roles[role]  # type: ignore[index]
