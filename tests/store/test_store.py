"""The workspace database: schema, transactions, revisions, strictness."""

from __future__ import annotations

import sqlite3

import pytest

from picobanana.errors import SchemaError
from picobanana.store import Store
from picobanana.store.schema import schema_version
from picobanana.store.writes import (
    NewAttempt,
    NewEdit,
    NewSource,
    ensure_edits,
    ensure_sources,
    insert_attempts,
)


def test_new_workspace_has_wal_foreign_keys_strict_tables_and_version(store):
    assert store.scalar("PRAGMA journal_mode") == "wal"
    assert store.scalar("PRAGMA foreign_keys") == 1
    assert store.scalar("PRAGMA user_version") == schema_version()
    # Ordinary tables only: FTS5's virtual table (attempts_text) and its shadow tables cannot be STRICT.
    tables = [r["name"] for r in store.query(
        "SELECT name FROM pragma_table_list WHERE schema = 'main' AND type = 'table' AND name NOT LIKE 'sqlite_%' "
        "AND name != '_sqlite_migrations'")]
    assert {"sources", "edits", "attempts", "judgments", "reviews", "policies", "jobs", "chains"} <= set(tables)
    for name in tables:
        assert store.scalar("SELECT strict FROM pragma_table_list WHERE name = ?", (name,)) == 1, name


def test_strict_tables_reject_wrong_types(store):
    with pytest.raises(sqlite3.IntegrityError):
        with store.transaction() as rev:
            store.conn.execute("INSERT INTO sources (uri, origin, created_at, rev) VALUES ('u', 'release', 'x', ?)",
                               ("not a number",))


def test_foreign_keys_are_enforced(store):
    with pytest.raises(sqlite3.IntegrityError):
        with store.transaction() as rev:
            insert_attempts(store, [NewAttempt(key="a", edit_id=999, attempt_no=1, status="ok", origin="release")],
                            rev)


def test_reopening_keeps_data_and_does_not_migrate_again(tmp_path):
    with Store.open(tmp_path / "ws") as first, first.transaction() as rev:
        ensure_sources(first, [NewSource(uri="u1", origin="ingest")], rev)
    with Store.open(tmp_path / "ws") as second:
        assert second.scalar("SELECT COUNT(*) FROM sources") == 1
        assert second.scalar("SELECT COUNT(*) FROM _sqlite_migrations") == schema_version()
        assert second.scalar("SELECT COUNT(*) FROM policies") == 1


def test_database_from_a_newer_picobanana_is_refused(tmp_path):
    with Store.open(tmp_path / "ws") as store:
        store.conn.execute(f"PRAGMA user_version = {schema_version() + 1}")
    with pytest.raises(SchemaError, match="Upgrade picobanana"):
        Store.open(tmp_path / "ws")


def test_transaction_rolls_back_everything_on_error(store):
    revision = store.revision
    with pytest.raises(RuntimeError), store.transaction() as rev:
        ensure_sources(store, [NewSource(uri="u1", origin="ingest")], rev)
        raise RuntimeError("boom")
    assert store.scalar("SELECT COUNT(*) FROM sources") == 0
    assert store.revision == revision


def test_each_transaction_gets_the_next_revision_and_nested_blocks_share_it(store):
    with store.transaction() as first, store.transaction() as inner:
        assert inner == first
    with store.transaction() as second:
        pass
    assert second == first + 1 == store.revision


def test_nested_failure_rolls_back_only_the_inner_block(store):
    with store.transaction() as rev:
        ensure_sources(store, [NewSource(uri="outer", origin="ingest")], rev)
        with pytest.raises(ValueError), store.transaction():
            ensure_sources(store, [NewSource(uri="inner", origin="ingest")], rev)
            raise ValueError
    assert [r["uri"] for r in store.query("SELECT uri FROM sources")] == ["outer"]


def test_writes_are_idempotent_by_key(store):
    for _ in range(2):
        with store.transaction() as rev:
            ids = ensure_sources(store, [NewSource(uri="u1", origin="release")], rev)
            edits = ensure_edits(store, [NewEdit(key="e1", source_id=ids["u1"], edit_type_id=34, category_id=7,
                                                 origin="release")], rev)
            inserted = insert_attempts(store, [NewAttempt(key="a1", edit_id=edits["e1"], attempt_no=1,
                                                          status="ok", origin="release")], rev)
    assert inserted == 0
    assert [store.scalar(f"SELECT COUNT(*) FROM {t}") for t in ("sources", "edits", "attempts")] == [1, 1, 1]


def test_a_second_writer_waits_instead_of_failing(tmp_path):
    import threading

    path = tmp_path / "ws"
    Store.open(path).close()
    errors: list[BaseException] = []

    def write(n: int) -> None:
        try:
            with Store.open(path, check_same_thread=False) as s:
                for i in range(30):
                    with s.transaction() as rev:
                        ensure_sources(s, [NewSource(uri=f"{n}-{i}", origin="ingest")], rev)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with Store.open(path) as s:
        assert s.scalar("SELECT COUNT(*) FROM sources") == 90
