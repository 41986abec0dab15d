"""Placing image files into an export folder: a hard link to the stored file when possible, else a copy.

A hard link costs no space and no time, and works whenever the export lives on the store's file system (the
default, <workspace>/exports/). Stored images are content-addressed and never rewritten, so sharing the inode
is safe as long as nobody edits exported files in place.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from picobanana.io.export.selection import Attempt, Source
from picobanana.store.images import ImageStore


@dataclass(slots=True)
class ImageCounts:
    linked: int = 0
    copied: int = 0
    missing_outputs: int = 0  # edited images a record references but the workspace has no file for
    missing_sources: int = 0  # source photos (records keep their URL; Parquet's source_image is null)


class ImagePlacer:
    """Links or copies stored images to their relative paths under `root`; counts what is missing."""

    def __init__(self, images: ImageStore, root: Path, *, enabled: bool):
        self.images = images
        self.root = root
        self.enabled = enabled
        self.counts = ImageCounts()
        self._made_dirs: set[Path] = set()
        self._missing_outputs: set[int] = set()  # attempt ids
        self._missing_sources: set[int] = set()  # source ids

    def stored_file(self, sha256: str | None, fmt: str | None) -> Path | None:
        """The store's file for an image, or None when the workspace lacks it."""
        if sha256 is None or fmt is None:
            return None
        path = self.images.path(sha256, fmt)
        return path if path.is_file() else None

    def place_output(self, rel_path: str, attempt: Attempt) -> Path | None:
        """Place an edited image; returns the store's file (for embedding) or None when missing."""
        stored = self.stored_file(attempt.output_sha256, attempt.output_format)
        if stored is None:
            # A kept attempt can appear in both sft and preference: count each missing image once.
            if attempt.id not in self._missing_outputs:
                self._missing_outputs.add(attempt.id)
                self.counts.missing_outputs += 1
            return None
        if self.enabled:
            self._place(stored, rel_path)
        return stored

    def place_source(self, rel_path: str | None, source: Source) -> Path | None:
        stored = self.stored_file(source.image_sha256, source.image_format) if rel_path else None
        if stored is None:
            # Many records share a source: count each missing photo once (ids: 28 bytes each, not URLs).
            if source.id not in self._missing_sources:
                self._missing_sources.add(source.id)
                self.counts.missing_sources += 1
            return None
        if self.enabled and rel_path is not None:
            self._place(stored, rel_path)
        return stored

    def _place(self, stored: Path, rel_path: str) -> None:
        target = self.root / rel_path
        if target.exists():  # a source shared by several records, already placed
            return
        parent = target.parent
        if parent not in self._made_dirs:
            parent.mkdir(parents=True, exist_ok=True)
            self._made_dirs.add(parent)
        try:
            os.link(stored, target)
            self.counts.linked += 1
        except OSError:
            shutil.copyfile(stored, target)
            self.counts.copied += 1
