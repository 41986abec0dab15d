"""Import Pico-Banana JSONL files (sft, preference, multi-turn, or a mix) into a workspace.

Streaming and resumable:
- the file is read line by line in binary, never whole; memory holds one batch of records;
- each batch is written in ONE transaction together with the file's progress row in `import_files`
  (byte offset and line count after the batch, all counters), so the database always describes a prefix of
  the file that ends on a line boundary;
- a killed import leaves that row at `running`/`interrupted`; running the import again finds the row by the
  file's fingerprint, seeks to `bytes_done`, continues numbering at `lines_done + 1` and keeps counting from
  the stored counters. Every row has a unique natural key and is written INSERT OR IGNORE, so even a
  re-read of the same lines adds nothing: the result is exactly one copy of each record.

Bad lines (invalid JSON or UTF-8, not an object, missing keys, wrong types, unknown edit types, the wrong
kind under `kind=`) go to `import_errors` with their line number and reason; the rest is imported. Blank
lines are skipped and counted. Edit-type aliases are normalised and counted.
"""

from __future__ import annotations

import gc
import hashlib
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Literal

import orjson
from pydantic import BaseModel, computed_field

from picobanana.config import ImportSettings
from picobanana.errors import InputError, StoreError
from picobanana.io.image_attach import ImageReport, attach_images
from picobanana.io.line_batches import LineBatch, LineReader
from picobanana.io.pico_format import Kind
from picobanana.io.release_rows import BatchCounts, write_records
from picobanana.store.db import Store, utc_now

ProgressFn = Callable[[str, int, int], None]  # (phase, done, total); phase "lines" counts bytes

DEFAULT_BATCH_SIZE = ImportSettings().batch_size
FINGERPRINT_BLOCK = 64 * 1024
MAX_ALIAS_SPELLINGS = 100
REPORTED_ERRORS = 20
BULK_CHECKPOINT_BYTES = 256 * 2**20


class KindCounts(BaseModel):
    imported: int = 0  # records that added rows
    duplicates: int = 0  # valid records already in the workspace (or earlier in the file)
    rejected: int = 0  # lines of this kind that failed validation
    aliased: int = 0  # valid records whose edit_type was an alias spelling (normalised)


class LineError(BaseModel):
    line_no: int
    reason: str


class ImportReport(BaseModel):
    path: str
    fingerprint: str
    size: int
    status: Literal["imported", "already_imported", "empty"]
    import_file_id: int | None = None
    resumed_from_line: int | None = None  # set when this run continued an interrupted import
    lines: int = 0  # lines read, over all runs (blank and rejected included)
    blank: int = 0
    unparsed: int = 0  # rejected lines that are not a JSON object, so of no known kind
    kinds: dict[str, KindCounts] = {}
    aliases: dict[str, int] = {}  # alias spelling → records
    errors: list[LineError] = []  # the first rejected lines (all of them are in import_errors)
    images: ImageReport | None = None
    seconds: float = 0.0

    def _total(self, name: str) -> int:
        return sum(getattr(c, name) for c in self.kinds.values())

    @computed_field
    @property
    def imported(self) -> int:
        return self._total("imported")

    @computed_field
    @property
    def duplicates(self) -> int:
        return self._total("duplicates")

    @computed_field
    @property
    def rejected(self) -> int:
        return self._total("rejected") + self.unparsed

    @computed_field
    @property
    def aliased(self) -> int:
        return self._total("aliased")

    @property
    def ok(self) -> bool:
        """False when something needs the user's attention: a rejected line or a file without records."""
        return self.rejected == 0 and self.status != "empty" and (self.imported + self.duplicates) > 0


def file_fingerprint(path: Path) -> tuple[str, int]:
    """`<size>-<sha256 of the first and last 64 KiB>`.

    Two reads whatever the file size: a full hash of a 250 MB release file would cost an extra pass before
    every import and every resume. A changed file almost always changes its size or its ends (JSONL files grow
    at the end); the blind spot, a same-size edit in the middle, at worst makes the importer say "already
    imported" (re-read it with force=True) — it never corrupts data, since every write is idempotent.
    """
    size = path.stat().st_size
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        digest.update(handle.read(FINGERPRINT_BLOCK))
        if size > FINGERPRINT_BLOCK:
            handle.seek(max(FINGERPRINT_BLOCK, size - FINGERPRINT_BLOCK))
            digest.update(handle.read(FINGERPRINT_BLOCK))
    return f"{size}-{digest.hexdigest()}", size


class _Progress:
    """The counters of one file, as committed with each batch (import_files.counts holds them as JSON)."""

    def __init__(self, row) -> None:
        saved = orjson.loads(row["counts"]) if row else {}
        self.bytes_done = row["bytes_done"] if row else 0
        self.lines_done = row["lines_done"] if row else 0
        self.blank: int = saved.get("blank", 0)
        self.unparsed: int = saved.get("unparsed", 0)
        self.local_inputs: int = saved.get("local_inputs", 0)
        self.kinds = {k: KindCounts(**v) for k, v in saved.get("kinds", {}).items()}
        self.aliases: dict[str, int] = saved.get("aliases", {})
        self.precheck = False  # look keys up before writing: on once a batch had duplicates

    def kind(self, kind: str) -> KindCounts:
        counts = self.kinds.get(kind)
        if counts is None:
            counts = self.kinds[kind] = KindCounts()
        return counts

    def note_alias(self, spelling: str) -> None:
        if spelling in self.aliases or len(self.aliases) < MAX_ALIAS_SPELLINGS:
            self.aliases[spelling] = self.aliases.get(spelling, 0) + 1
        else:
            self.aliases["(other spellings)"] = self.aliases.get("(other spellings)", 0) + 1

    def absorb(self, batch: LineBatch, counts: BatchCounts) -> None:
        """Add a batch's counters (called inside the batch's transaction, just before the progress row)."""
        self.blank += batch.blank
        self.unparsed += batch.unparsed
        self.local_inputs += batch.local_inputs
        for kind, n in batch.rejected.items():
            self.kind(kind).rejected += n
        for kind, spelling in batch.aliases:
            self.kind(kind).aliased += 1
            self.note_alias(spelling)
        for kind, (new, duplicates) in counts.by_kind.items():
            self.kind(kind).imported += new
            self.kind(kind).duplicates += duplicates

    def counts_json(self) -> str:
        return orjson.dumps({"blank": self.blank, "unparsed": self.unparsed,
                             "local_inputs": self.local_inputs, "aliases": self.aliases,
                             "kinds": {k: v.model_dump() for k, v in self.kinds.items()}}).decode()

    def totals(self) -> tuple[int, int, int, int]:
        c = self.kinds.values()
        return (sum(k.imported for k in c), sum(k.duplicates for k in c),
                sum(k.rejected for k in c) + self.unparsed, sum(k.aliased for k in c))

    def file_kind(self) -> str | None:
        seen = [k for k, v in self.kinds.items() if v.imported or v.duplicates or v.rejected]
        return seen[0] if len(seen) == 1 else ("mixed" if seen else None)


def import_file(store: Store, path: str | Path, *, images_root: str | Path | None = None,
                kind: Kind | None = None, batch_size: int = DEFAULT_BATCH_SIZE, link: bool = False,
                force: bool = False, progress: ProgressFn | None = None) -> ImportReport:
    """Import one JSONL file; resumes an interrupted import of the same file, skips a finished one
    (force=True re-reads it: every record then counts as a duplicate)."""
    started = time.perf_counter()
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    fingerprint, size = file_fingerprint(path)
    report = ImportReport(path=str(path), fingerprint=fingerprint, size=size, status="imported")
    if size == 0:
        report.status = "empty"
        return report
    row = store.conn.execute("SELECT * FROM import_files WHERE fingerprint = ?", (fingerprint,)).fetchone()
    if row is not None and row["status"] == "done" and not force:
        report.status = "already_imported"
        file_id = row["id"]
    else:
        file_id, row = _start(store, path, fingerprint, size, row, force)
        state = _Progress(row)
        state.precheck = force
        if state.bytes_done:
            report.resumed_from_line = state.lines_done + 1
        try:
            with _bulk_mode(store):
                _read(store, path, file_id, state, kind, max(1, batch_size), progress)
        except BaseException:
            _mark_interrupted(store, file_id)
            raise
        with store.transaction():
            store.conn.execute("UPDATE import_files SET status = 'done', finished_at = ? WHERE id = ?",
                               (utc_now(), file_id))
    row = store.conn.execute("SELECT * FROM import_files WHERE id = ?", (file_id,)).fetchone()
    _fill(report, store, row)
    if images_root is not None or _Progress(row).local_inputs:
        report.images = attach_images(store, Path(images_root) if images_root else None,
                                      import_file_id=file_id, link=link, progress=progress)
    report.seconds = time.perf_counter() - started
    return report


@contextmanager
def _bulk_mode(store: Store) -> Iterator[None]:
    """Settings for a long run of big transactions, restored afterwards.

    - No cyclic GC: the records are acyclic and freed by reference counting; the collector would only rescan
      the live batch again and again (~5% of the import time).
    - WAL checkpoints every ~256 MB instead of every 1000 pages: each batch writes tens of MB, so the default
      checkpoints (and fsyncs) after every commit and copies pages that the next batches dirty again.
      Durability is unchanged (synchronous stays as it is); the WAL file just grows larger in between.
    """
    conn = store.conn
    autocheckpoint = conn.execute("PRAGMA wal_autocheckpoint").fetchone()[0]
    page_size = conn.execute("PRAGMA page_size").fetchone()[0]
    gc_was_enabled = gc.isenabled()
    gc.disable()
    conn.execute(f"PRAGMA wal_autocheckpoint = {max(autocheckpoint, BULK_CHECKPOINT_BYTES // page_size)}")
    try:
        yield
    finally:
        conn.execute(f"PRAGMA wal_autocheckpoint = {autocheckpoint}")
        if gc_was_enabled:
            gc.enable()


def _start(store: Store, path: Path, fingerprint: str, size: int, row, force: bool):
    """Create (or reset, or pick up) the file's progress row; returns (id, row to resume from)."""
    with store.transaction():
        if row is None:
            file_id = store.conn.execute(
                "INSERT INTO import_files (path, fingerprint, size, status, started_at) "
                "VALUES (?, ?, ?, 'running', ?) RETURNING id",
                (str(path.resolve()), fingerprint, size, utc_now())).fetchone()[0]
        else:
            file_id = row["id"]
            if row["status"] == "done" and force:
                store.conn.execute("DELETE FROM import_errors WHERE import_file_id = ?", (file_id,))
                store.conn.execute(
                    "UPDATE import_files SET bytes_done = 0, lines_done = 0, imported = 0, duplicates = 0, "
                    "rejected = 0, aliased = 0, counts = '{}', finished_at = NULL WHERE id = ?", (file_id,))
            store.conn.execute("UPDATE import_files SET status = 'running', path = ?, started_at = ? "
                               "WHERE id = ?", (str(path.resolve()), utc_now(), file_id))
        row = store.conn.execute("SELECT * FROM import_files WHERE id = ?", (file_id,)).fetchone()
    if row["bytes_done"] and not _at_line_start(path, row["bytes_done"]):
        # The fingerprint matched but the saved offset is not a line boundary: the file changed. Re-read it
        # from the start; idempotent writes keep that safe.
        with store.transaction():
            store.conn.execute("DELETE FROM import_errors WHERE import_file_id = ?", (file_id,))
            store.conn.execute("UPDATE import_files SET bytes_done = 0, lines_done = 0, counts = '{}' "
                               "WHERE id = ?", (file_id,))
            row = store.conn.execute("SELECT * FROM import_files WHERE id = ?", (file_id,)).fetchone()
    return file_id, row


def _at_line_start(path: Path, offset: int) -> bool:
    with open(path, "rb") as handle:
        handle.seek(offset - 1)
        return handle.read(1) == b"\n"


def _read(store: Store, path: Path, file_id: int, state: _Progress, kind: Kind | None, batch_size: int,
          progress: ProgressFn | None) -> None:
    size = path.stat().st_size
    for batch in LineReader(path, state.bytes_done, state.lines_done, batch_size, kind).batches():
        _commit(store, file_id, state, batch)
        if progress:
            progress("lines", batch.end_offset, size)


def _commit(store: Store, file_id: int, state: _Progress, batch: LineBatch) -> None:
    """One batch + the progress row, atomically. The WHERE on bytes_done refuses a second importer of the
    same file running at the same time (its batches would be counted twice)."""
    with store.transaction() as rev:
        counts = write_records(store, batch.records, rev, file_id, precheck=state.precheck)
        state.precheck = counts.duplicates > 0
        state.absorb(batch, counts)
        if batch.errors:
            store.conn.executemany("INSERT OR IGNORE INTO import_errors (import_file_id, line_no, reason) "
                                   f"VALUES ({file_id}, ?, ?)", batch.errors)
        imported, duplicates, rejected, aliased = state.totals()
        updated = store.conn.execute(
            "UPDATE import_files SET bytes_done = ?, lines_done = ?, imported = ?, duplicates = ?, "
            "rejected = ?, aliased = ?, counts = ?, kind = ? WHERE id = ? AND bytes_done = ?",
            (batch.end_offset, batch.end_line, imported, duplicates, rejected, aliased, state.counts_json(),
             state.file_kind(), file_id, state.bytes_done)).rowcount
        if updated != 1:
            raise StoreError(f"another process is importing the same file (import #{file_id}); stopped")
    state.bytes_done, state.lines_done = batch.end_offset, batch.end_line


def _mark_interrupted(store: Store, file_id: int) -> None:
    """Best effort: if this fails too, the row stays 'running', which resumes exactly the same way."""
    try:
        if store.conn.in_transaction:
            store.conn.execute("ROLLBACK")
        store.conn.execute("UPDATE import_files SET status = 'interrupted' "
                           "WHERE id = ? AND status = 'running'", (file_id,))
    except sqlite3.Error:
        return


def _fill(report: ImportReport, store: Store, row) -> None:
    state = _Progress(row)
    report.import_file_id = row["id"]
    report.lines, report.blank, report.unparsed = row["lines_done"], state.blank, state.unparsed
    report.kinds = state.kinds
    report.aliases = state.aliases
    report.errors = [LineError(line_no=r[0], reason=r[1]) for r in store.conn.execute(
        "SELECT line_no, reason FROM import_errors WHERE import_file_id = ? ORDER BY line_no LIMIT ?",
        (row["id"], REPORTED_ERRORS))]
    if report.status == "imported" and report.imported + report.duplicates + report.rejected == 0:
        report.status = "empty"  # only blank lines
