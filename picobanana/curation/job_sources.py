"""Choosing the source photos of a generate job: find existing sources, add uploaded files or a server folder.

Uploads are stored under their content ("sha256:<hash>" URIs, so the same picture uploaded twice is one
source) — a browser upload's temporary path is no provenance. A server folder is ingested like
`picobanana ingest FOLDER` (file:// URIs, idempotent). Both check and normalise every image; a refused file is
reported by name with its reason and the rest go on.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from picobanana.errors import ConfigError, ImageError
from picobanana.io.ingest import IngestReport, Refused, Rejection, ingest_bytes, ingest_paths
from picobanana.store.db import Store

PAGE = 50


@dataclass(frozen=True)
class SourceRow:
    id: int
    uri: str
    origin: str
    license: str | None
    has_image: bool


def find_sources(store: Store, text: str = "", *, after_id: int = 0, limit: int = PAGE,
                 with_image_only: bool = True) -> list[SourceRow]:
    """Sources whose id equals `text` or whose URI contains it, by id, keyset-paged after `after_id`.

    A substring search cannot use an index; walking the primary key with a LIMIT stops at the first page of
    matches, so a common word costs a few rows and only a rare one scans far.
    """
    text = text.strip()
    where, args = ["id > ?"], [after_id]
    if with_image_only:
        where.append("image_sha256 IS NOT NULL")
    if text.isdigit():
        where.append("id = ?")
        args.append(int(text))
    elif text:
        where.append("uri LIKE ? ESCAPE '\\'")  # case-insensitive for ASCII, no per-row lower() copy
        args.append("%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%")
    rows = store.conn.execute(
        f"SELECT id, uri, origin, license, image_sha256 IS NOT NULL FROM sources WHERE {' AND '.join(where)} "
        "ORDER BY id LIMIT ?", (*args, limit)).fetchall()
    return [SourceRow(r[0], r[1], r[2], r[3], bool(r[4])) for r in rows]


def add_uploads(store: Store, files: Iterable[tuple[str, bytes]], *, license: str | None = None) -> IngestReport:
    """Ingest uploaded files given as (original name, bytes); refusals are reported under their names."""
    report = IngestReport()
    for name, data in files:
        try:
            before = store.scalar("SELECT MAX(id) FROM sources") or 0
            source_id = ingest_bytes(store, data, origin="ingest", license=license)
        except Refused as exc:
            report.rejected.append(Rejection(name, exc.kind, exc.detail))
            continue
        except ImageError as exc:  # the image store's own check: still a refusal, never a crash
            report.rejected.append(Rejection(name, "invalid", str(exc)))
            continue
        if source_id > before:
            report.accepted += 1
        else:
            report.already += 1
        report.source_ids.append(source_id)
    return report


def add_folder(store: Store, folder: str | Path, *, license: str | None = None,
               progress: Callable[[Path], None] | None = None) -> IngestReport:
    path = Path(folder).expanduser()
    if not path.is_dir():
        raise ConfigError(f"not a folder on the server: {folder}")
    return ingest_paths(store, [path], origin="ingest", license=license, progress=progress)


__all__ = ["PAGE", "SourceRow", "add_folder", "add_uploads", "find_sources"]
