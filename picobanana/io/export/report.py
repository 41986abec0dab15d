"""What an export produced: the report returned to callers, saved as export.json and rendered in the card."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, Field

from picobanana.errors import PicobananaError
from picobanana.store.policies import Policy
from picobanana.taxonomy import category_by_id


class ExportError(PicobananaError):
    """The export cannot start (bad target folder, unknown kind or format)."""


class PolicySummary(BaseModel):
    ref: str  # name@version
    weights: dict[str, float]  # normalised
    threshold: float
    per_category: dict[str, dict] = Field(default_factory=dict)  # category name → {weights?, threshold?}
    note: str | None = None

    @classmethod
    def of(cls, policy: Policy) -> PolicySummary:
        per_category = {}
        for category_id, rule in sorted(policy.per_category.items()):
            entry: dict = {}
            if rule.weights is not None:
                entry["weights"] = rule.weights.normalised().model_dump()
            if rule.threshold is not None:
                entry["threshold"] = rule.threshold
            per_category[category_by_id(category_id).name] = entry
        return cls(ref=f"{policy.name}@{policy.version}", weights=policy.weights.normalised().model_dump(),
                   threshold=policy.threshold, per_category=per_category, note=policy.note)


class ImageSummary(BaseModel):
    copied_into_export: bool
    embedded_in_parquet: bool
    linked: int = 0
    copied: int = 0
    missing_outputs: int = 0
    missing_sources: int = 0


class HumanDecisionSummary(BaseModel):
    total: int = 0
    keep: int = 0
    fail: int = 0
    overrides: int = 0


class ImportFileUse(BaseModel):
    id: int
    path: str
    kind: str | None
    finished_at: str | None
    attempts_exported: int


class ModelUse(BaseModel):
    backend: str | None
    model: str | None
    model_version: str | None
    attempts_exported: int


class Provenance(BaseModel):
    import_files: list[ImportFileUse] = Field(default_factory=list)
    origins: dict[str, int] = Field(default_factory=dict)  # attempt origin → attempts exported
    editors: list[ModelUse] = Field(default_factory=list)
    judges: dict[str, int] = Field(default_factory=dict)  # judge model → exported attempts it judged


class ExportReport(BaseModel):
    out_dir: Path
    kinds: list[str]
    formats: list[str]
    policy: PolicySummary
    validation_fraction: float
    base_url: str
    # kind → split → records
    counts: dict[str, dict[str, int]] = Field(default_factory=dict)
    # kind → split → name → records (multi-turn records have no edit type: they are counted by turns)
    by_category: dict[str, dict[str, dict[str, int]]] = Field(default_factory=dict)
    by_edit_type: dict[str, dict[str, dict[str, int]]] = Field(default_factory=dict)
    by_turns: dict[str, dict[str, int]] = Field(default_factory=dict)
    skipped: dict[str, int] = Field(default_factory=dict)
    images: ImageSummary
    human_decisions: HumanDecisionSummary
    provenance: Provenance
    files: list[str] = Field(default_factory=list)  # relative to out_dir
    created_at: str
    picobanana_version: str
    release_derived: bool = False
    seconds: float = 0.0

    def total(self, kind: str) -> int:
        return sum(self.counts.get(kind, {}).values())
