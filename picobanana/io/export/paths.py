"""Relative image paths inside an export, following the release layout (reference §4.4).

- Release-imported attempts keep their release path (`output_ref`), e.g. `images/positive-edit/1.png`,
  `images/rejected-edit/14.png`, `images/multi-turn/101_attemptB_turn1.png`.
- Attempts made here get names in the same folders with a `pb` prefix, so they can never collide with a
  release name (the release uses plain integers and 6-character ids) when both live in one workspace:
    kept        images/positive-edit/pb<edit_id>.png, or pb<edit_id>_retry<k>.png when accepted on attempt k+1
                (the release's own convention: the importer reads the attempt number back from `_retry<k>`);
    rejected    images/rejected-edit/pb<attempt_id>.png
    multi-turn  images/multi-turn/pb<chain_id>_attemptA_turn<k>.png
  The extension is the stored file's (`.png`, `.jpg`, ...); `.png` when the store has no file.
- Source photos the workspace holds are exported as images/sources/<sha256>.<ext>; records keep the
  source URI (`open_image_input_url`, `original_input_image`) as the release does.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from picobanana.io.export.selection import Attempt, Source
from picobanana.store.images import ImageStore

POSITIVE_DIR = "images/positive-edit"
REJECTED_DIR = "images/rejected-edit"
MULTI_TURN_DIR = "images/multi-turn"
SOURCES_DIR = "images/sources"

_NAMING = ImageStore(Path("."), None)  # type: ignore[arg-type]


@cache
def _extension(fmt: str | None) -> str:
    if fmt is None:
        return ".png"
    # The store's own naming rule (PNG → .png, JPEG → .jpg, ...); path() is pure, it touches no file.
    return _NAMING.path("0" * 64, fmt).suffix


def usable_ref(ref: str | None) -> bool:
    """A stored output_ref can name the exported file only if it is a clean relative path under images/."""
    if not ref or not ref.startswith("images/") or "\\" in ref:
        return False
    # String checks, not PurePosixPath: this runs once per exported image (pathlib costs ~9 µs a call).
    parts = ref.split("/")
    return len(parts) >= 3 and not any(part in ("", ".", "..") for part in parts)


def kept_path(attempt: Attempt) -> str:
    if usable_ref(attempt.output_ref):
        return attempt.output_ref  # type: ignore[return-value]
    retry = "" if attempt.attempt_no == 1 else f"_retry{attempt.attempt_no - 1}"
    return f"{POSITIVE_DIR}/pb{attempt.edit_id}{retry}{_extension(attempt.output_format)}"


def rejected_path(attempt: Attempt) -> str:
    if usable_ref(attempt.output_ref):
        return attempt.output_ref  # type: ignore[return-value]
    return f"{REJECTED_DIR}/pb{attempt.id}{_extension(attempt.output_format)}"


def turn_path(chain_id: int, turn: int, attempt: Attempt) -> str:
    if usable_ref(attempt.output_ref):
        return attempt.output_ref  # type: ignore[return-value]
    return f"{MULTI_TURN_DIR}/pb{chain_id}_attemptA_turn{turn}{_extension(attempt.output_format)}"


def source_path(source: Source) -> str | None:
    """Where the source photo goes in the export; None when the workspace has no file for it."""
    if source.image_sha256 is None or source.image_format is None:
        return None
    return f"{SOURCES_DIR}/{source.image_sha256}{_extension(source.image_format)}"
