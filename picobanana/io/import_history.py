"""What was imported into a workspace: one row per file (`import_files`) and its rejected lines."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel

from picobanana.errors import InputError
from picobanana.io.importer import LineError, file_fingerprint
from picobanana.store.db import Store


class ImportedFile(BaseModel):
    id: int
    path: str
    kind: str | None
    status: str
    size: int
    lines: int
    imported: int
    duplicates: int
    rejected: int
    aliased: int
    started_at: str
    finished_at: str | None


_COLUMNS = ("id, path, kind, status, size, lines_done AS lines, imported, duplicates, rejected, aliased, "
            "started_at, finished_at")


def list_imports(store: Store) -> list[ImportedFile]:
    """Every imported file, oldest first."""
    rows = store.query(f"SELECT {_COLUMNS} FROM import_files ORDER BY id")
    return [ImportedFile(**dict(row)) for row in rows]


def find_import(store: Store, ref: str | int | None = None) -> ImportedFile:
    """An import by id, by file (its content fingerprint, else its recorded path), or the latest one."""
    if ref is None:
        row = store.conn.execute(f"SELECT {_COLUMNS} FROM import_files ORDER BY id DESC LIMIT 1").fetchone()
        if row is None:
            raise InputError("nothing has been imported into this workspace yet")
        return ImportedFile(**dict(row))
    text = str(ref)
    row = None
    if text.isdigit():
        row = store.conn.execute(f"SELECT {_COLUMNS} FROM import_files WHERE id = ?", (int(text),)).fetchone()
    path = Path(text)
    if row is None and path.is_file():
        row = store.conn.execute(f"SELECT {_COLUMNS} FROM import_files WHERE fingerprint = ?",
                                 (file_fingerprint(path)[0],)).fetchone()
    if row is None:
        row = store.conn.execute(f"SELECT {_COLUMNS} FROM import_files WHERE path = ? "
                                 "ORDER BY id DESC LIMIT 1", (str(path.resolve()),)).fetchone()
    if row is None:
        raise InputError(f"no import matches {text!r} "
                         "(give an import id from `picobanana imports`, or the imported file)")
    return ImportedFile(**dict(row))


def rejected_lines(store: Store, import_file_id: int, limit: int | None = None) -> list[LineError]:
    """The rejected lines of one import, by line number (all of them when limit is None)."""
    sql = "SELECT line_no, reason FROM import_errors WHERE import_file_id = ? ORDER BY line_no"
    params: tuple = (import_file_id,)
    if limit is not None:
        sql += " LIMIT ?"
        params += (limit,)
    return [LineError(line_no=r[0], reason=r[1]) for r in store.conn.execute(sql, params)]
