"""Attach local image files to imported rows: release outputs found under an images root, and source images
named by `local_input_image`.

Runs after the rows exist (and again whenever asked): it only looks at attempts without an image and sources
without an image, so it is idempotent and resumable for free. Image work (hash, verify, copy, thumbnail)
happens outside transactions; each page of results is then written in one short transaction.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path, PurePosixPath

from pydantic import BaseModel

from picobanana.errors import ImageError
from picobanana.store.db import Store

ProgressFn = Callable[[str, int, int], None]
PAGE = 500
MAX_PROBLEMS = 200


class ImageProblem(BaseModel):
    path: str
    reason: str
    import_line: int | None = None


class ImageReport(BaseModel):
    attached: int = 0  # output images found and stored
    missing: int = 0  # outputs of kept attempts not found under the images root
    missing_rejected: int = 0  # outputs of rejected attempts (the release does not ship them)
    corrupt: int = 0  # found but unreadable: the attempt keeps its row, gets no image
    sources_attached: int = 0
    sources_missing: int = 0
    sources_corrupt: int = 0
    problems: list[ImageProblem] = []  # the first MAX_PROBLEMS unreadable files

    def note(self, path: Path | str, reason: str, line: int | None = None) -> None:
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(ImageProblem(path=str(path), reason=reason, import_line=line))


def safe_join(root: Path, ref: str) -> Path | None:
    """root/ref for a relative release path; None for URLs and paths that would leave the root."""
    if "://" in ref:
        return None
    rel = PurePosixPath(ref)
    if rel.is_absolute() or ".." in rel.parts:
        return None
    return root.joinpath(*rel.parts)


def attach_images(store: Store, images_root: Path | None, *, import_file_id: int | None = None,
                  link: bool = False, sources: bool = True,
                  progress: ProgressFn | None = None) -> ImageReport:
    """Store the files of attempts lacking an image (looked up as images_root/<output_ref>) and of sources
    lacking an image that have a local path. `import_file_id` limits the attempts to one imported file."""
    report = ImageReport()
    if images_root is not None:
        _attach_outputs(store, Path(images_root), import_file_id, link, report, progress)
    if sources:
        _attach_sources(store, link, report, progress)
    return report


def _attach_outputs(store: Store, root: Path, import_file_id: int | None, link: bool, report: ImageReport,
                    progress: ProgressFn | None) -> None:
    where = "output_sha256 IS NULL AND output_ref IS NOT NULL"
    params: tuple = ()
    if import_file_id is not None:
        where += " AND import_file_id = ?"
        params = (import_file_id,)
    total = int(store.scalar(f"SELECT COUNT(*) FROM attempts WHERE {where}", params))
    done, last_id = 0, 0
    while True:
        # Keyset paging on the primary key: linear over the table however selective the filter is.
        rows = store.query(f"SELECT id, output_ref, status, failure_reason, import_line FROM attempts "
                           f"WHERE id > ? AND {where} ORDER BY id LIMIT {PAGE}", (last_id, *params))
        if not rows:
            break
        last_id = rows[-1]["id"]
        found, unreadable = [], []
        for row in rows:
            path = safe_join(root, row["output_ref"])
            if path is None or not path.is_file():
                if row["status"] == "rejected":
                    report.missing_rejected += 1
                else:
                    report.missing += 1
                continue
            try:
                stored = store.images.put_file(path, link=link)
            except ImageError as exc:
                report.corrupt += 1
                report.note(path, str(exc), row["import_line"])
                if row["failure_reason"] is None:
                    unreadable.append((f"output image unreadable: {exc}", row["id"]))
                continue
            found.append((stored.sha256, row["id"]))
            report.attached += 1
        with store.transaction() as rev:
            store.conn.executemany(f"UPDATE attempts SET output_sha256 = ?, rev = {rev} WHERE id = ?", found)
            store.conn.executemany(f"UPDATE attempts SET failure_reason = ?, rev = {rev} WHERE id = ?",
                                   unreadable)
        done += len(rows)
        if progress:
            progress("images", done, total)


def _attach_sources(store: Store, link: bool, report: ImageReport, progress: ProgressFn | None) -> None:
    where = "image_sha256 IS NULL AND local_path IS NOT NULL"
    total = int(store.scalar(f"SELECT COUNT(*) FROM sources WHERE {where}"))
    done, last_id = 0, 0
    while total:
        rows = store.query(f"SELECT id, local_path FROM sources WHERE id > ? AND {where} "
                           f"ORDER BY id LIMIT {PAGE}", (last_id,))
        if not rows:
            break
        last_id = rows[-1]["id"]
        found = []
        for row in rows:
            path = Path(row["local_path"])
            if not path.is_file():
                report.sources_missing += 1
                continue
            try:
                stored = store.images.put_file(path, link=link)
            except ImageError as exc:
                report.sources_corrupt += 1
                report.note(path, str(exc))
                continue
            found.append((stored.sha256, row["id"]))
            report.sources_attached += 1
        with store.transaction() as rev:
            store.conn.executemany("UPDATE sources SET image_sha256 = ?, "
                                   f"variant = COALESCE(variant, 'local'), rev = {rev} WHERE id = ?", found)
        done += len(rows)
        if progress:
            progress("source images", done, total)
