"""A DuckDB copy of the workspace for dashboards: `<workspace>/analytics/mirror.duckdb`.

Why a copy: aggregates over a million attempts take seconds in SQLite and tens of milliseconds in DuckDB's own
storage, and DuckDB's SQLite scanner is an extension downloaded on first use, which fails offline. So rows travel
sqlite3 cursor → `fetchmany` batches → Arrow record batches → DuckDB tables, with no extension at all.

Refresh is incremental. Every mutable SQLite row carries `rev`, the store revision of its last write, and
`meta.rev` is the newest one, so a refresh copies the rows with rev > the revision the mirror reflects and
replaces them by id (delete, then insert) in one DuckDB transaction; the small tables without `rev`
(human_decisions, policies, policy_activations) are reloaded whole. The SQLite side is read inside one read
transaction, so the rows and the revision recorded with them are one consistent snapshot. If the layout or the
store's schema version changed, the mirror belongs to another database, the revision went backwards, rows were
deleted, or the file is missing or unreadable, the mirror is rebuilt from scratch. `refresh()` costs a single
SQLite lookup when nothing changed.

Concurrency: one refresher at a time, per process (a thread lock) and across processes (an flock on
`mirror.lock`). DuckDB lets one process open the file for writing; readers in that process use `cursor()` and see
the previous snapshot until a refresh commits. A second process that finds the file held by another falls back to
a private in-memory mirror (built in full: slower, equally correct).

Besides the copies of the SQLite tables (same names, the columns dashboards need), the mirror keeps
`attempt_facts`: attempts joined with their judgment and their edit's chain, maintained by id on each refresh, so
that dashboard queries scan one table instead of joining a million rows each time.

The mirror is never the system of record: deleting `analytics/` loses nothing.
"""

from __future__ import annotations

import fcntl
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Self

import duckdb
import pyarrow as pa

from picobanana.store.db import DB_FILE_NAME, Store
from picobanana.store.policies import Policy, _row_to_policy
from picobanana.store.schema import schema_version

# Bump when the mirrored tables or columns below change: existing mirrors are then rebuilt.
MIRROR_LAYOUT = 1
MIRROR_DIR = "analytics"
MIRROR_FILE = "mirror.duckdb"
BATCH_ROWS = 100_000

Progress = Callable[[str, int, int], None]  # (table, rows copied so far, rows to copy in this refresh)


@dataclass(frozen=True)
class Column:
    name: str
    type: str  # DuckDB type
    select: str | None = None  # SQLite expression, when not the column itself

    @property
    def arrow(self) -> pa.DataType:
        return {"BIGINT": pa.int64(), "INTEGER": pa.int32(), "DOUBLE": pa.float64(), "VARCHAR": pa.string(),
                "BOOLEAN": pa.bool_()}[self.type]


@dataclass(frozen=True)
class Table:
    name: str
    key: str | None  # None: no `rev`, reloaded whole on every refresh that changes anything
    columns: tuple[Column, ...]

    @property
    def select(self) -> str:
        return ", ".join(c.select or c.name for c in self.columns)


def _cols(spec: str) -> tuple[Column, ...]:
    out = []
    for item in spec.split(","):
        name, _, rest = item.strip().partition(" ")
        typ, _, select = rest.strip().partition(" = ")
        out.append(Column(name, typ.strip(), select.strip() or None))
    return tuple(out)


# What dashboards need: ids, facts to group by, scores, timings. Long texts stay in SQLite.
TABLES: tuple[Table, ...] = (
    Table("attempts", "id", _cols(
        "id BIGINT, edit_id BIGINT, attempt_no INTEGER, edit_type_id INTEGER, category_id INTEGER, turn INTEGER, "
        "origin VARCHAR, status VARCHAR, backend VARCHAR, model VARCHAR, latency_ms DOUBLE, cost_usd DOUBLE, "
        "created_at VARCHAR, rev BIGINT")),
    Table("judgments", "attempt_id", _cols(
        "attempt_id BIGINT, category_id INTEGER, compliance DOUBLE, seamlessness DOUBLE, preservation DOUBLE, "
        "quality DOUBLE, judge_overall DOUBLE, judge_model VARCHAR, created_at VARCHAR, rev BIGINT")),
    Table("edits", "id", _cols(
        "id BIGINT, source_id BIGINT, parent_attempt_id BIGINT, chain_id BIGINT, turn INTEGER, "
        "edit_type_id INTEGER, category_id INTEGER, origin VARCHAR, job_id BIGINT, rev BIGINT")),
    Table("sources", "id", _cols(
        "id BIGINT, origin VARCHAR, license VARCHAR, has_image INTEGER = image_sha256 IS NOT NULL, rev BIGINT")),
    Table("chains", "id", _cols("id BIGINT, source_id BIGINT, n_turns INTEGER, origin VARCHAR, rev BIGINT")),
    Table("human_decisions", None, _cols(
        "attempt_id BIGINT, review_id BIGINT, verdict VARCHAR, curator VARCHAR, decided_at VARCHAR")),
    Table("policies", None, _cols(
        "id BIGINT, name VARCHAR, version INTEGER, w_compliance DOUBLE, w_seamlessness DOUBLE, "
        "w_preservation DOUBLE, w_quality DOUBLE, threshold DOUBLE, per_category VARCHAR, note VARCHAR, "
        "created_by VARCHAR, created_at VARCHAR")),
    Table("policy_activations", None, _cols(
        "id BIGINT, policy_id BIGINT, activated_by VARCHAR, activated_at VARCHAR")),
)
TABLES_BY_NAME = {t.name: t for t in TABLES}

# One row per attempt with its current judgment (NULL columns when unjudged) and its edit's chain: what the
# dashboards scan, without a join per query. The judgment's own attempt_id is kept (NULL = unjudged), so the
# verdict builders run on it with a = j = the facts alias. Its category is the attempt's (writes.py copies the
# attempt's category into each judgment, so the two agree).
FACTS_SELECT = (
    "SELECT a.*, j.attempt_id, j.compliance, j.seamlessness, j.preservation, j.quality, j.judge_overall, "
    "j.judge_model, e.chain_id FROM attempts a LEFT JOIN judgments j ON j.attempt_id = a.id "
    "LEFT JOIN edits e ON e.id = a.edit_id"
)


@dataclass(frozen=True)
class RefreshPlan:
    kind: Literal["none", "incremental", "full"]
    revision: int  # the store revision the mirror will reflect
    rows: int  # rows to copy (an upper bound for incremental refreshes)
    reason: str = ""


@dataclass(frozen=True)
class RefreshReport:
    kind: Literal["none", "incremental", "full"]
    revision: int
    rows: int
    seconds: float
    reason: str = ""


class Mirror:
    """An open mirror. `Mirror.open(store)`, then `refresh()` before reading; `con` is the DuckDB connection."""

    def __init__(self, store: Store, con: duckdb.DuckDBPyConnection, path: Path | None):
        self.store = store
        self.con = con
        self.path = path  # None: the private in-memory fallback
        self._lock = threading.Lock()
        # The revision this handle has checked the mirror against (layout, schema, store); None until the first
        # refresh, which therefore always inspects the file.
        self._revision: int | None = None

    # -- opening ----------------------------------------------------------------------------------

    @classmethod
    def open(cls, store: Store, path: Path | None = None) -> Mirror:
        path = path or store.workspace / MIRROR_DIR / MIRROR_FILE
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            con = duckdb.connect(str(path))
            con.execute("SELECT 1").fetchall()
        except duckdb.IOException as exc:
            if "lock" not in str(exc).lower():
                con = cls._recreate(path)
            else:  # another process holds the file: work from a private copy instead of waiting
                return cls(store, duckdb.connect(":memory:"), None)
        except duckdb.Error:
            con = cls._recreate(path)
        return cls(store, con, path)

    @staticmethod
    def _recreate(path: Path) -> duckdb.DuckDBPyConnection:
        """The file is not a readable DuckDB database (corrupt, truncated, foreign): start again."""
        for stale in (path, path.with_name(path.name + ".wal")):
            stale.unlink(missing_ok=True)
        return duckdb.connect(str(path))

    def close(self) -> None:
        self.con.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def cursor(self) -> duckdb.DuckDBPyConnection:
        """A connection for one thread (DuckDB connections must not be shared between threads)."""
        return self.con.cursor()

    @property
    def revision(self) -> int | None:
        """The store revision this mirror reflects (None before its first build)."""
        return self._revision if self._revision is not None else self._meta_int("revision")

    # -- refresh ----------------------------------------------------------------------------------

    def plan(self) -> RefreshPlan:
        """What `refresh()` would do now, and roughly how many rows it would copy (for progress bars)."""
        with self._snapshot() as src:
            return self._plan(src, count=True)

    def refresh(self, progress: Progress | None = None) -> RefreshReport:
        """Bring the mirror up to the store's current revision."""
        started = time.perf_counter()
        if self._revision is not None and self._revision == self.store.revision:
            return RefreshReport("none", self._revision, 0, time.perf_counter() - started, "up to date")
        with self._lock, self._file_lock(), self._snapshot() as src:
            plan = self._plan(src, count=progress is not None)
            if plan.kind == "full":
                copied = self._build(src, plan, progress)
            elif plan.kind == "incremental":
                copied = self._update(src, plan, progress)
            else:
                copied = 0
            self._revision = plan.revision
        return RefreshReport(plan.kind, plan.revision, copied, time.perf_counter() - started, plan.reason)

    def _plan(self, src: sqlite3.Connection, count: bool = False) -> RefreshPlan:
        revision = int(src.execute("SELECT value FROM meta WHERE key = 'rev'").fetchone()[0])
        wanted = {"layout": str(MIRROR_LAYOUT), "schema": str(schema_version()), "store_id": _store_id(src)}
        found = {key: self._meta(key) for key in wanted}
        mirrored = self._meta_int("revision")
        reason = ""
        if mirrored is None:
            reason = "no mirror yet"
        elif found != wanted:
            reason = "the mirror was made for another layout, schema or database"
        elif revision < mirrored:
            reason = "the store's revision went backwards (restored or replaced)"
        if reason:
            total = sum(src.execute(f"SELECT COUNT(*) FROM {t.name}").fetchone()[0] for t in TABLES)
            return RefreshPlan("full", revision, total, reason)
        if revision == mirrored:
            return RefreshPlan("none", revision, 0, "up to date")
        rows = sum(_count_changed(src, t, mirrored) for t in TABLES if t.key) if count else 0
        return RefreshPlan("incremental", revision, rows, f"revisions {mirrored + 1}..{revision}")

    def _build(self, src: sqlite3.Connection, plan: RefreshPlan, progress: Progress | None) -> int:
        con = self.con
        con.execute("BEGIN TRANSACTION")
        try:
            con.execute("DROP TABLE IF EXISTS mirror_meta")
            con.execute("CREATE TABLE mirror_meta (key VARCHAR PRIMARY KEY, value VARCHAR NOT NULL)")
            copied = 0
            for table in TABLES:
                con.execute(f"DROP TABLE IF EXISTS {table.name}")
                con.execute(f"CREATE TABLE {table.name} ({', '.join(f'{c.name} {c.type}' for c in table.columns)})")
                copied = self._copy(src, table, f"SELECT {table.select} FROM {table.name}", (), table.name,
                                    copied, plan.rows, progress)
            con.execute(f"CREATE OR REPLACE TABLE attempt_facts AS {FACTS_SELECT}")
            self._write_meta({"layout": str(MIRROR_LAYOUT), "schema": str(schema_version()),
                              "store_id": _store_id(src), "revision": str(plan.revision)})
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
        return copied

    def _update(self, src: sqlite3.Connection, plan: RefreshPlan, progress: Progress | None) -> int:
        con = self.con
        since = self._meta_int("revision")
        con.execute("BEGIN TRANSACTION")
        try:
            copied, reloaded = 0, False
            for table in TABLES:
                if table.key is None:
                    con.execute(f"DELETE FROM {table.name}")
                    copied = self._copy(src, table, f"SELECT {table.select} FROM {table.name}", (), table.name,
                                        copied, plan.rows, progress)
                    continue
                stage = f"stage_{table.name}"
                con.execute(f"CREATE OR REPLACE TEMP TABLE {stage} AS SELECT * FROM {table.name} LIMIT 0")
                copied = self._copy(src, table, f"SELECT {table.select} FROM {table.name} WHERE rev > ?", (since,),
                                    stage, copied, plan.rows, progress)
                con.execute(f"DELETE FROM {table.name} WHERE {table.key} IN (SELECT {table.key} FROM {stage})")
                con.execute(f"INSERT INTO {table.name} SELECT * FROM {stage}")
                # Rows are never deleted from these tables today; if one ever is, reload the table whole.
                if _sqlite_count(src, table) != con.execute(f"SELECT COUNT(*) FROM {table.name}").fetchone()[0]:
                    con.execute(f"DELETE FROM {table.name}")
                    copied = self._copy(src, table, f"SELECT {table.select} FROM {table.name}", (), table.name,
                                        copied, plan.rows, progress)
                    reloaded = True
            if reloaded:
                con.execute(f"CREATE OR REPLACE TABLE attempt_facts AS {FACTS_SELECT}")
            else:  # only the attempts whose row, judgment or edit changed
                con.execute("""CREATE OR REPLACE TEMP TABLE stage_ids AS
                    SELECT id FROM stage_attempts UNION SELECT attempt_id FROM stage_judgments
                    UNION SELECT a.id FROM attempts a JOIN stage_edits e ON e.id = a.edit_id""")
                con.execute("DELETE FROM attempt_facts WHERE id IN (SELECT id FROM stage_ids)")
                # Narrow each side first: a join over the whole tables would cost as much as a rebuild.
                con.execute(f"""INSERT INTO attempt_facts
                    WITH attempts AS (SELECT * FROM attempts WHERE id IN (SELECT id FROM stage_ids)),
                         judgments AS (SELECT * FROM judgments WHERE attempt_id IN (SELECT id FROM stage_ids)),
                         edits AS (SELECT * FROM edits WHERE id IN (SELECT edit_id FROM attempts))
                    {FACTS_SELECT}""")
            for table in TABLES:
                if table.key:
                    con.execute(f"DROP TABLE IF EXISTS stage_{table.name}")
            con.execute("DROP TABLE IF EXISTS stage_ids")
            self._write_meta({"revision": str(plan.revision)})
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
        return copied

    def _copy(self, src: sqlite3.Connection, table: Table, sql: str, params: tuple, target: str, copied: int,
              total: int, progress: Progress | None) -> int:
        """Stream `sql` into DuckDB table `target` as Arrow batches; returns the running row count."""
        schema = pa.schema([(c.name, c.arrow) for c in table.columns])
        cursor = src.execute(sql, params)
        while rows := cursor.fetchmany(BATCH_ROWS):
            columns = list(zip(*rows, strict=True))
            batch = pa.Table.from_arrays([pa.array(col, type=f.type) for col, f in zip(columns, schema)],
                                         schema=schema)
            self.con.register("arrow_batch", batch)
            self.con.execute(f"INSERT INTO {target} SELECT * FROM arrow_batch")
            self.con.unregister("arrow_batch")
            copied += len(rows)
            if progress:
                progress(table.name, copied, max(total, copied))
        return copied

    # -- meta -------------------------------------------------------------------------------------

    def _meta(self, key: str) -> str | None:
        try:
            row = self.con.execute("SELECT value FROM mirror_meta WHERE key = ?", (key,)).fetchone()
        except duckdb.CatalogException:
            return None
        return None if row is None else row[0]

    def _meta_int(self, key: str) -> int | None:
        value = self._meta(key)
        return None if value is None else int(value)

    def _write_meta(self, values: dict[str, str]) -> None:
        self.con.executemany("INSERT OR REPLACE INTO mirror_meta VALUES (?, ?)", list(values.items()))

    # -- helpers ----------------------------------------------------------------------------------

    @contextmanager
    def _snapshot(self) -> Iterator[sqlite3.Connection]:
        """A read-only SQLite connection inside one read transaction: a consistent snapshot (WAL)."""
        db_path = self.store.workspace / DB_FILE_NAME
        src = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, isolation_level=None, timeout=30.0)
        try:
            src.execute("BEGIN")
            src.execute("SELECT value FROM meta WHERE key = 'rev'").fetchone()  # the snapshot starts here
            yield src
            src.execute("COMMIT")
        finally:
            src.close()

    @contextmanager
    def _file_lock(self) -> Iterator[None]:
        if self.path is None:
            yield
            return
        with open(self.path.with_name(self.path.name + ".lock"), "a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def active_policy(self) -> Policy:
        """The policy active at the mirrored revision, read from the mirror itself."""
        cur = self.cursor()
        cur.execute("SELECT p.* FROM policy_activations a JOIN policies p ON p.id = a.policy_id "
                    "ORDER BY a.id DESC LIMIT 1")
        names = [d[0] for d in cur.description]
        row = cur.fetchone()
        if row is None:
            from picobanana.errors import StoreError

            raise StoreError("the analytics mirror has no active policy; refresh it first")
        return _row_to_policy(dict(zip(names, row, strict=True)))


def _store_id(src: sqlite3.Connection) -> str:
    """Which database this is: the creation time of its first policy, written when the workspace was made."""
    row = src.execute("SELECT created_at FROM policies ORDER BY id LIMIT 1").fetchone()
    return row[0] if row else ""


def _count_changed(src: sqlite3.Connection, table: Table, since: int) -> int:
    return src.execute(f"SELECT COUNT(*) FROM {table.name} WHERE rev > ?", (since,)).fetchone()[0]


def _sqlite_count(src: sqlite3.Connection, table: Table) -> int:
    return src.execute(f"SELECT COUNT(*) FROM {table.name}").fetchone()[0]


def open_mirror(store: Store, *, refresh: bool = True, progress: Progress | None = None) -> Mirror:
    """Open the workspace's mirror and (by default) bring it up to date."""
    mirror = Mirror.open(store)
    if refresh:
        try:
            mirror.refresh(progress)
        except BaseException:
            mirror.close()
            raise
    return mirror
