"""The released Pico-Banana-400K JSONL format: record models, key orders, paths and URLs.

Facts (../shared/reference/pico-banana.md §3–4): three files with different key orders; relative image paths
resolve against the CDN base; rejected paths may carry a `nano-banana-300k/` prefix; multi-turn records list
their images in `files` by id, the last turn being `final_image`; `local_input_image` is a key added by the
official Open Images mapping script, accepted on import and never written on export.
"""

from __future__ import annotations

import re
from typing import Literal

import orjson
from pydantic import BaseModel, ConfigDict, StrictStr, field_validator, model_validator

RELEASE_CDN_BASE = "https://ml-site.cdn-apple.com/datasets/pico-banana-300k/nb/"
REJECTED_PREFIX = "nano-banana-300k/"

Kind = Literal["sft", "preference", "multi-turn"]
KINDS: tuple[Kind, ...] = ("sft", "preference", "multi-turn")

# Key order on disk, per file kind (the release writes them with json.dumps defaults in this order).
KEY_ORDER: dict[Kind, tuple[str, ...]] = {
    "sft": ("open_image_input_url", "text", "output_image", "edit_type", "summarized_text"),
    "preference": ("output_image", "rejected_images", "text", "edit_type", "open_image_input_url",
                   "summarized_text"),
    "multi-turn": ("files", "metadata_edit_turn_prompts"),
}
FILE_NAMES: dict[Kind, str] = {"sft": "sft.jsonl", "preference": "preference.jsonl",
                               "multi-turn": "multi-turn.jsonl"}
MANIFEST_NAMES: dict[Kind, str] = {"sft": "sft_manifest.txt", "preference": "preference_manifest.txt",
                                   "multi-turn": "multi_turn_manifest.txt"}

_RETRY = re.compile(r"_retry(\d+)\.[A-Za-z0-9]+$")


class _Record(BaseModel):
    # Unknown extra keys are ignored (third-party copies add e.g. "analysis"); types are strict.
    model_config = ConfigDict(extra="ignore", frozen=True)


class SftRecord(_Record):
    open_image_input_url: StrictStr
    text: StrictStr
    output_image: StrictStr
    edit_type: StrictStr
    summarized_text: StrictStr
    local_input_image: StrictStr | None = None


class PreferenceRecord(_Record):
    output_image: StrictStr
    rejected_images: list[StrictStr]
    text: StrictStr
    edit_type: StrictStr
    open_image_input_url: StrictStr
    summarized_text: StrictStr
    local_input_image: StrictStr | None = None

    @field_validator("rejected_images")
    @classmethod
    def _at_least_one(cls, value: list[str]) -> list[str]:
        if not value:
            raise ValueError("rejected_images is empty: a preference record needs at least one rejected edit")
        return value


class FileRef(_Record):
    id: StrictStr
    url: StrictStr


class MultiTurnRecord(_Record):
    files: list[FileRef]
    metadata_edit_turn_prompts: list[StrictStr]
    local_input_image: StrictStr | None = None

    @model_validator(mode="after")
    def _consistent(self) -> MultiTurnRecord:
        n = len(self.metadata_edit_turn_prompts)
        if n < 1:
            raise ValueError("metadata_edit_turn_prompts is empty")
        ids = [f.id for f in self.files]
        if len(set(ids)) != len(ids):
            raise ValueError("files has duplicate ids")
        expected = {f"edit_turn{k}" for k in range(1, n)} | {"final_image", "original_input_image"}
        if set(ids) != expected:
            missing, extra = sorted(expected - set(ids)), sorted(set(ids) - expected)
            raise ValueError(f"files do not match {n} turns (missing {missing}, unexpected {extra})")
        return self

    def url_of(self, file_id: str) -> str:
        return next(f.url for f in self.files if f.id == file_id)

    @property
    def source_url(self) -> str:
        return self.url_of("original_input_image")

    def turn_images(self) -> list[str]:
        """Output image of turn 1..N; turn N is `final_image` (there is no `edit_turn{N}` entry)."""
        n = len(self.metadata_edit_turn_prompts)
        return [self.url_of(f"edit_turn{k}") for k in range(1, n)] + [self.url_of("final_image")]


RECORD_MODELS: dict[Kind, type[_Record]] = {"sft": SftRecord, "preference": PreferenceRecord,
                                            "multi-turn": MultiTurnRecord}


def detect_kind(obj: dict) -> Kind:
    """Which file a record belongs to, by its keys (reference §4.4)."""
    if "files" in obj and "metadata_edit_turn_prompts" in obj:
        return "multi-turn"
    if "rejected_images" in obj:
        return "preference"
    return "sft"


def normalise_ref(path: str) -> str:
    """Canonical relative path of a release image: strips the `nano-banana-300k/` prefix of rejected images."""
    return path.removeprefix(REJECTED_PREFIX)


def resolve_url(path: str, base: str = RELEASE_CDN_BASE) -> str:
    """Absolute URL of a release path: URLs stay, relative paths (prefix stripped) join the CDN base."""
    if path.startswith(("http://", "https://")):
        return path
    return base.rstrip("/") + "/" + normalise_ref(path).lstrip("/")


def attempt_number(output_path: str) -> int:
    """`x_retry1.png` was accepted on the 2nd attempt, `x_retry2.png` on the 3rd; plain names on the 1st."""
    match = _RETRY.search(output_path)
    return int(match.group(1)) + 1 if match else 1


def dumps_line(kind: Kind, values: dict) -> str:
    """One JSONL line as the release writes it: keys in file order, `json.dumps` default separators."""
    import json

    return json.dumps({key: values[key] for key in KEY_ORDER[kind]})


def loads(line: bytes) -> object:
    """Parse one JSON line (orjson: strict UTF-8, about 3x faster than json.loads)."""
    return orjson.loads(line)
