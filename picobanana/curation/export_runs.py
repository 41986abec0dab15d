"""An export started from the studio: a folder under <workspace>/exports/, the core export, what was written.

The studio names only a folder *under* the exports folder (never an arbitrary server path: a curator's typo
must not write into, or overwrite, anything else). The command line keeps its free OUT_DIR.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from picobanana.io.export import ExportError, ExportReport, export_dataset
from picobanana.store.db import Store

EXPORTS_DIR = "exports"
_NAME = re.compile(r"[A-Za-z0-9._-]+")


def exports_root(workspace: str | Path) -> Path:
    return Path(workspace).resolve() / EXPORTS_DIR


def export_folder(workspace: str | Path, name: str | None) -> Path:
    """<workspace>/exports/<name> (default: export-<date>-<time>); names that could escape are refused.

    A name is one or more path segments of letters, digits, '.', '_' and '-' (e.g. "v2/sft-only"); '..',
    absolute paths and links out of the folder are refused.
    """
    root = exports_root(workspace)
    name = (name or "").strip() or datetime.now().strftime("export-%Y%m%d-%H%M%S")
    parts = name.replace("\\", "/").split("/")
    if name.startswith(("/", "~")) or any(p in ("", ".", "..") or not _NAME.fullmatch(p) for p in parts):
        raise ExportError(f"invalid export folder name {name!r}: use letters, digits, '.', '_', '-' and '/' "
                          f"for a folder under {root}")
    target = (root / Path(*parts)).resolve()
    if not target.is_relative_to(root.resolve()) or target == root.resolve():
        raise ExportError(f"the export folder must be inside {root}")
    return target


@dataclass(frozen=True)
class ExportedFile:
    path: str  # relative to the export folder; a folder of images ends with '/'
    files: int
    bytes: int


def exported_files(report: ExportReport) -> list[ExportedFile]:
    """Every data file with its size; image folders summarised (an export can hold 400K images)."""
    out = []
    for rel in report.files:
        path = report.out_dir / rel
        if path.is_file():
            out.append(ExportedFile(rel, 1, path.stat().st_size))
    images = report.out_dir / "images"
    if images.is_dir():
        for folder in sorted(p for p in images.iterdir() if p.is_dir()):
            count = size = 0
            for entry in _walk(folder):
                count += 1
                size += entry.stat().st_size
            out.append(ExportedFile(f"images/{folder.name}/", count, size))
    return out


def _walk(folder: Path) -> Iterable[os.DirEntry]:
    with os.scandir(folder) as entries:
        for entry in entries:
            if entry.is_dir(follow_symlinks=False):
                yield from _walk(Path(entry.path))
            elif entry.is_file():
                yield entry


@dataclass(frozen=True)
class ExportRun:
    report: ExportReport
    card: str  # the dataset card (README.md) as written
    files: list[ExportedFile]


def run_export(store: Store, workspace: str | Path, *, name: str | None, splits: Iterable[str],
               formats: Iterable[str], policy: str | None = None, validation_fraction: float,
               copy_images: bool = True, embed_images: bool = True, base_url: str | None = None,
               shard_rows: int | None = None, overwrite: bool = False,
               progress: Callable[[str, int], None] | None = None) -> ExportRun:
    """Export into <workspace>/exports/<name> with the core `export_dataset`; returns the card and files."""
    target = export_folder(workspace, name)
    extra = {"shard_rows": shard_rows} if shard_rows else {}
    report = export_dataset(store, target, splits=list(splits), formats=list(formats), policy=policy or None,
                            validation_fraction=validation_fraction, copy_images=copy_images,
                            embed_images=embed_images, base_url=base_url, overwrite=overwrite, progress=progress,
                            **extra)
    card = (report.out_dir / "README.md").read_text(encoding="utf-8")
    return ExportRun(report, card, exported_files(report))


__all__ = ["EXPORTS_DIR", "ExportRun", "ExportedFile", "export_folder", "exported_files", "exports_root",
           "run_export"]
