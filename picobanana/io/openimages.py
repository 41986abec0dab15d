"""Attach local Open Images files to release sources: Flickr URL → ImageID (CSV) → <ImageID>.jpg on disk.

This replaces the upstream `map_openimage_url_to_local.py`. Flat memory whatever the CSV size (the real
`train-images-boxable-with-rotation.csv` has 1.7M rows): the CSV is streamed and only rows whose
`OriginalURL` is a source of this workspace still lacking an image are kept; the image folder is walked once
and only the wanted ids are remembered. URLs match with or without their http/https scheme.
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Callable
from pathlib import Path

from pydantic import BaseModel

from picobanana.errors import ImageError, InputError
from picobanana.store.db import Store

ProgressFn = Callable[[str, int, int], None]
LICENSE = "CC BY 2.0"
VARIANT = "openimages"
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")
PAGE = 500
MAX_PROBLEMS = 200


class OpenImagesReport(BaseModel):
    wanted: int = 0  # sources with an http(s) URL and no image yet
    csv_rows: int = 0
    matched: int = 0  # found in the CSV and on disk: image attached
    not_in_csv: int = 0
    file_missing: int = 0  # in the CSV (open_images_id recorded) but no <ImageID> file under the folder
    corrupt: int = 0
    problems: list[str] = []  # the first unreadable files, with the reason


def _url_key(url: str) -> str:
    return url.split("://", 1)[-1]


def map_openimages(store: Store, csv_path: str | Path, images_dir: str | Path, *, link: bool = False,
                   progress: ProgressFn | None = None) -> OpenImagesReport:
    """Attach `<ImageID>.jpg` files found under images_dir to the sources whose URL the CSV maps."""
    csv_path, images_dir = Path(csv_path), Path(images_dir)
    if not csv_path.is_file():
        raise InputError(f"{csv_path}: no such CSV file")
    if not images_dir.is_dir():
        raise InputError(f"{images_dir}: no such folder")
    report = OpenImagesReport()
    wanted: dict[str, list[int]] = {}
    for source_id, uri in store.conn.execute("SELECT id, uri FROM sources WHERE image_sha256 IS NULL "
                                             "AND (uri LIKE 'http://%' OR uri LIKE 'https://%')"):
        wanted.setdefault(_url_key(uri), []).append(source_id)
    report.wanted = sum(len(ids) for ids in wanted.values())
    if not wanted:
        return report
    image_ids = _ids_from_csv(csv_path, wanted, report, progress)
    files = _index_files(images_dir, set(image_ids.values()))
    todo = list(wanted.items())
    for start in range(0, len(todo), PAGE):
        updates = []
        for key, source_ids in todo[start:start + PAGE]:
            image_id = image_ids.get(key)
            if image_id is None:
                report.not_in_csv += len(source_ids)
                continue
            path = files.get(image_id)
            sha256 = None
            if path is None:
                report.file_missing += len(source_ids)
            else:
                try:
                    sha256 = store.images.put_file(path, link=link).sha256
                    report.matched += len(source_ids)
                except ImageError as exc:
                    report.corrupt += len(source_ids)
                    if len(report.problems) < MAX_PROBLEMS:
                        report.problems.append(f"{path}: {exc}")
            updates += [(sha256, image_id, str(path) if sha256 else None, sid) for sid in source_ids]
        with store.transaction() as rev:
            # ?1 sha256 (NULL: no file), ?2 ImageID, ?3 the file's path, ?4 source id
            store.conn.executemany(
                "UPDATE sources SET image_sha256 = COALESCE(?1, image_sha256), open_images_id = ?2, "
                f"variant = CASE WHEN ?1 IS NULL THEN variant ELSE '{VARIANT}' END, "
                f"license = COALESCE(license, '{LICENSE}'), local_path = COALESCE(?3, local_path), "
                f"rev = {rev} WHERE id = ?4", updates)
        if progress:
            progress("open images", min(start + PAGE, len(todo)), len(todo))
    return report


def _ids_from_csv(csv_path: Path, wanted: dict, report: OpenImagesReport,
                  progress: ProgressFn | None) -> dict[str, str]:
    """url key → ImageID, for the wanted URLs only."""
    size = csv_path.stat().st_size
    found: dict[str, str] = {}
    with open(csv_path, "rb") as raw:
        reader = csv.reader(io.TextIOWrapper(raw, encoding="utf-8-sig", newline=""))
        header = next(reader, None) or []
        try:
            id_col, url_col = header.index("ImageID"), header.index("OriginalURL")
        except ValueError:
            raise InputError(f"{csv_path}: the header needs ImageID and OriginalURL columns "
                             f"(found {', '.join(header[:12]) or 'nothing'})") from None
        width = max(id_col, url_col)
        for row in reader:
            report.csv_rows += 1
            if len(row) > width:
                key = _url_key(row[url_col])
                if key in wanted:
                    found[key] = row[id_col]
            if progress and report.csv_rows % 100_000 == 0:
                progress("open images csv", raw.tell(), size)
    return found


def _index_files(images_dir: Path, image_ids: set[str]) -> dict[str, Path]:
    """ImageID → file, for the ids asked for (the folders hold up to 1.7M files: keep only those)."""
    found: dict[str, Path] = {}
    if not image_ids:
        return found
    for folder, _, names in os.walk(images_dir):
        for name in names:
            stem, dot, suffix = name.rpartition(".")
            if dot and stem in image_ids and ("." + suffix.lower()) in IMAGE_SUFFIXES and stem not in found:
                found[stem] = Path(folder) / name
        if len(found) == len(image_ids):
            break
    return found
