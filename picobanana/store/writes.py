"""Bulk, idempotent writes of the domain rows. Importers, the pipeline and tests all write through here.

Every row has a natural `key` (sources: their `uri`), unique in the database. Inserts are
`INSERT OR IGNORE`, so writing the same record twice — a re-run import, a resumed job — adds nothing.
Callers pass the revision of their open transaction (`with store.transaction() as rev:`).

These rows are plain dataclasses rather than pydantic models: they are built hundreds of thousands of times
per import from input that was already validated at the boundary (io/pico_format.py, backend results).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields
from functools import cache
from operator import attrgetter

from picobanana.store.db import Store, utc_now

# SQLite's default limit of host parameters per statement is 32766 (3.32+); stay well below.
_IN_CHUNK = 900


@dataclass(slots=True)
class NewSource:
    uri: str
    origin: str
    image_sha256: str | None = None
    license: str | None = None
    variant: str | None = None
    local_path: str | None = None
    open_images_id: str | None = None


@dataclass(slots=True)
class NewChain:
    key: str
    source_id: int
    n_turns: int
    origin: str
    job_id: int | None = None
    import_file_id: int | None = None
    import_line: int | None = None


@dataclass(slots=True)
class NewEdit:
    key: str
    source_id: int
    edit_type_id: int | None
    category_id: int | None
    origin: str
    turn: int = 1
    parent_attempt_id: int | None = None
    chain_id: int | None = None
    job_id: int | None = None


@dataclass(slots=True)
class NewAttempt:
    key: str
    edit_id: int
    attempt_no: int
    status: str
    origin: str
    edit_type_id: int | None = None
    category_id: int | None = None
    turn: int = 1
    instruction: str | None = None
    short_instruction: str | None = None
    output_ref: str | None = None
    output_sha256: str | None = None
    failure_reason: str | None = None
    backend: str | None = None
    model: str | None = None
    model_version: str | None = None
    prompt_version: str | None = None
    latency_ms: float | None = None
    cost_usd: float | None = None
    import_file_id: int | None = None
    import_line: int | None = None


@dataclass(slots=True)
class NewJudgment:
    attempt_id: int
    compliance: float
    seamlessness: float
    preservation: float
    quality: float
    judge_overall: float | None = None
    rationale: str | None = None
    judge_backend: str | None = None
    judge_model: str | None = None
    judge_model_version: str | None = None
    prompt_version: str | None = None


def _columns(cls: type) -> list[str]:
    return [f.name for f in fields(cls)]


def _insert_sql(table: str, cls: type, verb: str = "INSERT OR IGNORE") -> str:
    cols = _columns(cls) + ["created_at", "rev"]
    return f"INSERT{verb[6:]} INTO {table} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})"


@cache
def _row_getter(cls: type) -> attrgetter:
    # attrgetter over the (flat) fields: ~20x faster than dataclasses.astuple, which deep-copies every value.
    return attrgetter(*_columns(cls))


def _insert(store: Store, table: str, cls: type, rows: Sequence, rev: int) -> int:
    if not rows:
        return 0
    now = utc_now()
    getter = _row_getter(cls)
    before = store.conn.total_changes
    store.conn.executemany(_insert_sql(table, cls), [(*getter(r), now, rev) for r in rows])
    return store.conn.total_changes - before


def ids_by_key(store: Store, table: str, column: str, keys: Iterable[str]) -> dict[str, int]:
    """Map natural keys to row ids, in chunks that respect SQLite's parameter limit."""
    keys = list(dict.fromkeys(keys))
    found: dict[str, int] = {}
    for start in range(0, len(keys), _IN_CHUNK):
        chunk = keys[start:start + _IN_CHUNK]
        marks = ",".join("?" * len(chunk))
        found.update(store.conn.execute(f"SELECT {column}, id FROM {table} WHERE {column} IN ({marks})", chunk))
    return found


def ensure_sources(store: Store, sources: Sequence[NewSource], rev: int) -> dict[str, int]:
    """Insert the sources not yet known; return uri → id for all of them."""
    _insert(store, "sources", NewSource, sources, rev)
    return ids_by_key(store, "sources", "uri", (s.uri for s in sources))


def ensure_chains(store: Store, chains: Sequence[NewChain], rev: int) -> dict[str, int]:
    _insert(store, "chains", NewChain, chains, rev)
    return ids_by_key(store, "chains", "key", (c.key for c in chains))


def ensure_edits(store: Store, edits: Sequence[NewEdit], rev: int) -> dict[str, int]:
    _insert(store, "edits", NewEdit, edits, rev)
    return ids_by_key(store, "edits", "key", (e.key for e in edits))


def insert_attempts(store: Store, attempts: Sequence[NewAttempt], rev: int) -> int:
    """Insert attempts whose key is new; returns how many were inserted (the rest already existed)."""
    return _insert(store, "attempts", NewAttempt, attempts, rev)


def record_judgments(store: Store, judgments: Sequence[NewJudgment], rev: int) -> None:
    """Write the current judgment of each attempt; a re-judgment moves the old one to judgments_history.

    The category is always copied from the attempt, in SQL: the per-category score indexes and the
    analytics mirror rely on a judgment's category being its attempt's.
    """
    if not judgments:
        return
    cols = _columns(NewJudgment)
    updates = ", ".join(f"{c} = excluded.{c}" for c in cols if c != "attempt_id")
    sql = (f"INSERT INTO judgments ({', '.join(cols)}, category_id, created_at, rev) "
           f"VALUES ({', '.join('?' * len(cols))}, (SELECT category_id FROM attempts WHERE id = ?), ?, ?) "
           f"ON CONFLICT (attempt_id) DO UPDATE SET {updates}, category_id = excluded.category_id, "
           f"created_at = excluded.created_at, rev = excluded.rev")
    now = utc_now()
    getter = _row_getter(NewJudgment)
    store.conn.executemany(sql, [(*getter(j), j.attempt_id, now, rev) for j in judgments])


def set_attempt_output(store: Store, attempt_id: int, *, status: str, rev: int, output_sha256: str | None = None,
                       failure_reason: str | None = None, **extra: object) -> None:
    """Finish a pipeline attempt: its status, image and the backend's facts (latency, cost, model version)."""
    allowed = {"backend", "model", "model_version", "prompt_version", "latency_ms", "cost_usd",
               "instruction", "short_instruction", "output_ref"}
    unknown = set(extra) - allowed
    if unknown:
        raise TypeError(f"unknown attempt fields: {sorted(unknown)}")
    sets = ["status = ?", "output_sha256 = ?", "failure_reason = ?", "rev = ?"] + [f"{k} = ?" for k in extra]
    store.conn.execute(f"UPDATE attempts SET {', '.join(sets)} WHERE id = ?",
                       (status, output_sha256, failure_reason, rev, *extra.values(), attempt_id))


# -- fast path for bulk loaders (the importer): rows as plain tuples, new ids read back by rowid range ------


def insert_new_rows(store: Store, table: str, columns: Sequence[str], rows: Sequence[tuple], rev: int,
                    key: str = "key") -> dict[str, int]:
    """INSERT OR IGNORE tuples (values in `columns` order); return key → id of the rows actually inserted.

    Must run inside `store.transaction()`: holding the write lock, the rows with an id above the previous
    maximum are exactly this statement's, so one rowid range scan replaces a lookup per key.
    """
    if not rows:
        return {}
    cursor = store.conn.cursor()
    cursor.row_factory = None  # plain tuples: this reads back one row per inserted row
    before = cursor.execute(f"SELECT COALESCE(MAX(id), 0) FROM {table}").fetchone()[0]
    # created_at and rev are the same for every row: literals in the statement, not values in each tuple.
    values = ", ".join(["?"] * len(columns) + [f"'{utc_now()}'", str(int(rev))])
    cursor.executemany(f"INSERT OR IGNORE INTO {table} ({', '.join(columns)}, created_at, rev) "
                       f"VALUES ({values})", rows)
    return dict(cursor.execute(f"SELECT {key}, id FROM {table} WHERE id > ?", (before,)))


def ensure_rows(store: Store, table: str, columns: Sequence[str], rows: Sequence[tuple], rev: int,
                key: str = "key") -> dict[str, int]:
    """Like ensure_edits & co. for tuples whose first value is the natural key: key → id for every row."""
    found = insert_new_rows(store, table, columns, rows, rev, key)
    if len(found) < len(rows):
        found.update(ids_by_key(store, table, key, (r[0] for r in rows if r[0] not in found)))
    return found
