"""The Store: one workspace folder = one SQLite database + a content-addressed image store.

    <workspace>/
        picobanana.sqlite      system of record (WAL, STRICT tables, foreign keys, migrations)
        images/ab/cd/<sha256>.<ext>
        thumbs/ab/<sha256>.webp
        analytics/             DuckDB mirror for dashboards (rebuildable, never the source of truth)
        exports/               default target of `picobanana export`

Writes go through `Store.transaction()`, which takes the write lock up front (BEGIN IMMEDIATE, so two
writers queue instead of dead-locking on a lock upgrade) and hands out the transaction's revision number.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from sqlite_utils import Database

from picobanana.errors import SchemaError, StoreError
from picobanana.store.images import ImageStore
from picobanana.store.schema import apply_migrations, schema_version

DB_FILE_NAME = "picobanana.sqlite"


def utc_now() -> str:
    """Timestamps are ISO-8601 UTC strings with milliseconds: sortable as text, readable by DuckDB."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


class Store:
    """A workspace. Open with `Store.open(path)`; use as a context manager to close it."""

    def __init__(self, workspace: Path, conn: sqlite3.Connection):
        self.workspace = workspace
        self.conn = conn
        self.db = Database(conn)
        self.images = ImageStore(workspace, conn)
        self._rev: int | None = None

    @classmethod
    def open(cls, workspace: str | Path, *, check_same_thread: bool = True) -> Store:
        workspace = Path(workspace)
        workspace.mkdir(parents=True, exist_ok=True)
        db_path = workspace / DB_FILE_NAME
        try:
            # isolation_level=None: we issue BEGIN/COMMIT ourselves (see transaction()).
            conn = sqlite3.connect(db_path, isolation_level=None, check_same_thread=check_same_thread,
                                   timeout=30.0)
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open {db_path}: {exc}") from exc
        conn.row_factory = sqlite3.Row
        # page_size only takes effect on a new, empty database (it must come before WAL): 16 KiB pages make
        # the 400K-line release import ~8% faster than 4 KiB ones (fewer, fuller index pages per commit).
        for pragma in ("page_size = 16384", "journal_mode = WAL", "foreign_keys = ON", "synchronous = NORMAL",
                       "busy_timeout = 30000", "cache_size = -65536", "temp_store = MEMORY"):
            conn.execute(f"PRAGMA {pragma}")
        found = conn.execute("PRAGMA user_version").fetchone()[0]
        if found > schema_version():
            conn.close()
            raise SchemaError(f"{db_path} has schema version {found}; this picobanana knows up to "
                              f"{schema_version()}. Upgrade picobanana.")
        store = cls(workspace, conn)
        if found < schema_version():
            apply_migrations(store.db)
            from picobanana.store.policies import ensure_default_policy

            ensure_default_policy(store)
        return store

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- transactions ---------------------------------------------------------------------------

    @contextmanager
    def transaction(self) -> Iterator[int]:
        """Run a block atomically; yields the revision number stamped on every row it writes.

        Nested calls share the outer transaction (and its revision) through a savepoint.
        """
        if self.conn.in_transaction:
            assert self._rev is not None, "a transaction was opened outside Store.transaction()"
            self.conn.execute("SAVEPOINT nested")
            try:
                yield self._rev
            except BaseException:
                self.conn.execute("ROLLBACK TO SAVEPOINT nested")
                self.conn.execute("RELEASE SAVEPOINT nested")
                raise
            self.conn.execute("RELEASE SAVEPOINT nested")
            return
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            self._rev = int(self.conn.execute(
                "UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'rev' RETURNING value"
            ).fetchone()[0])
            yield self._rev
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        else:
            self.conn.execute("COMMIT")
        finally:
            self._rev = None

    @property
    def revision(self) -> int:
        """The revision of the last committed write: a cheap "has anything changed?" token."""
        return int(self.conn.execute("SELECT value FROM meta WHERE key = 'rev'").fetchone()[0])

    def query(self, sql: str, params: tuple | dict = ()) -> list[sqlite3.Row]:
        return self.conn.execute(sql, params).fetchall()

    def scalar(self, sql: str, params: tuple | dict = ()) -> object:
        row = self.conn.execute(sql, params).fetchone()
        return None if row is None else row[0]
