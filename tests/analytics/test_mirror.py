"""The DuckDB mirror: same rows and same verdicts as SQLite, incremental refresh, rebuilds, concurrency."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import textwrap

import duckdb
import pytest
from conftest import REPO

from picobanana.analytics.mirror import MIRROR_DIR, MIRROR_FILE, TABLES, Mirror
from picobanana.store import (
    CategoryRule,
    Policy,
    Store,
    Weights,
    activate_policy,
    active_policy,
    record_review,
    save_policy,
)
from picobanana.store.verdicts import effective_verdict_sql, effective_verdict_view_sql, verdict_source_sql
from picobanana.store.writes import NewAttempt, NewJudgment, insert_attempts, record_judgments


def _synth():
    spec = importlib.util.spec_from_file_location("bench_synth", REPO / "bench" / "synth.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def workspace(tmp_path):
    """A realistic small workspace: judged pipeline attempts, release imports, chains, human reviews."""
    path = tmp_path / "synth"
    _synth().build_workspace(path, 3000, seed=1, quiet=True)
    with Store.open(path) as store:
        yield store


def _sqlite_verdicts(store, policy):
    rows = store.query(f"SELECT attempt_id, verdict, verdict_source, score FROM ({effective_verdict_view_sql(policy)})")
    return {r[0]: tuple(r[1:]) for r in rows}


def _duckdb_verdicts(mirror, policy):
    score = f"CASE WHEN a.attempt_id IS NULL THEN NULL ELSE {policy.score_sql('a', category='a.category_id')} END"
    rows = mirror.cursor().execute(
        f"SELECT a.id, {effective_verdict_sql(policy, 'a', 'a')}, {verdict_source_sql('a', 'a')}, {score} "
        "FROM attempt_facts a LEFT JOIN human_decisions h ON h.attempt_id = a.id").fetchall()
    return {r[0]: tuple(r[1:]) for r in rows}


def _table_contents(mirror, name):
    return sorted(mirror.cursor().execute(f"SELECT * FROM {name}").fetchall(), key=repr)


def _assert_same_as_fresh_build(mirror, store, tmp_path):
    fresh = Mirror.open(store, path=tmp_path / f"fresh-{store.revision}.duckdb")
    assert fresh.refresh().kind == "full"
    for name in [t.name for t in TABLES] + ["attempt_facts"]:
        assert _table_contents(mirror, name) == _table_contents(fresh, name), name
    fresh.close()


def test_full_build_copies_every_row_and_verdicts_match_sqlite(workspace):
    with Mirror.open(workspace) as mirror:
        report = mirror.refresh()
        assert report.kind == "full"
        assert mirror.revision == workspace.revision
        for table in TABLES:
            assert (mirror.cursor().execute(f"SELECT count(*) FROM {table.name}").fetchone()[0]
                    == workspace.scalar(f"SELECT COUNT(*) FROM {table.name}")), table.name
        policy = active_policy(workspace)
        sqlite_side = _sqlite_verdicts(workspace, policy)
        assert _duckdb_verdicts(mirror, policy) == sqlite_side
        assert {v[1] for v in sqlite_side.values()} >= {"human", "judge", "release", "status", "none"}


def test_verdicts_match_sqlite_under_per_category_policies(workspace):
    policy = save_policy(workspace, Policy(
        name="odd", weights=Weights(compliance=0.1, seamlessness=0.2, preservation=0.3, quality=0.4), threshold=0.62,
        per_category={2: CategoryRule(threshold=0.81),
                      6: CategoryRule(weights=Weights(compliance=1, seamlessness=0, preservation=0, quality=0),
                                      threshold=0.5)}), created_by="t")
    with Mirror.open(workspace) as mirror:
        mirror.refresh()
        assert _duckdb_verdicts(mirror, policy) == _sqlite_verdicts(workspace, policy)
        assert mirror.active_policy().name == "paper"
        activate_policy(workspace, policy.id, activated_by="t")
        mirror.refresh()
        assert mirror.active_policy() == policy


def test_refresh_copies_only_what_changed_and_ends_equal_to_a_fresh_build(workspace, tmp_path):
    with Mirror.open(workspace) as mirror:
        mirror.refresh()
        assert mirror.refresh().kind == "none"
        assert mirror.plan().kind == "none"

        # a re-judgment, a new attempt with its judgment, a review, a cleared review and a new policy
        edit_id, category, type_id = workspace.query(
            "SELECT edit_id, category_id, edit_type_id FROM attempts WHERE origin = 'pipeline' LIMIT 1")[0]
        judged = workspace.scalar("SELECT attempt_id FROM judgments ORDER BY attempt_id LIMIT 1")
        decided = workspace.scalar("SELECT attempt_id FROM human_decisions LIMIT 1")
        with workspace.transaction() as rev:
            record_judgments(workspace, [NewJudgment(judged, 0.1, 0.1, 0.1, 0.1)], rev)
            insert_attempts(workspace, [NewAttempt(key="new-attempt", edit_id=edit_id, attempt_no=9, status="ok",
                                                   origin="pipeline", edit_type_id=type_id, category_id=category)],
                            rev)
            new_id = workspace.scalar("SELECT id FROM attempts WHERE key = 'new-attempt'")
            record_judgments(workspace, [NewJudgment(new_id, 0.95, 0.9, 0.9, 0.9)], rev)
        record_review(workspace, new_id, "fail", curator="ann")
        record_review(workspace, decided, None, curator="ann")
        lenient = save_policy(workspace, Policy(name="lenient", threshold=0.5), created_by="ann")
        activate_policy(workspace, lenient.id, activated_by="ann")

        plan = mirror.plan()
        assert plan.kind == "incremental"
        report = mirror.refresh()
        assert report.kind == "incremental"
        small_tables = sum(workspace.scalar(f"SELECT COUNT(*) FROM {t.name}") for t in TABLES if t.key is None)
        assert report.rows == 3 + small_tables  # two judgment rows and one attempt, plus the reloaded small tables
        assert mirror.revision == workspace.revision
        assert _duckdb_verdicts(mirror, lenient) == _sqlite_verdicts(workspace, lenient)
        _assert_same_as_fresh_build(mirror, workspace, tmp_path)


def test_a_deleted_row_is_noticed(workspace, tmp_path):
    with Mirror.open(workspace) as mirror:
        mirror.refresh()
        victim = workspace.scalar("SELECT attempt_id FROM judgments WHERE attempt_id NOT IN "
                                  "(SELECT attempt_id FROM human_decisions) LIMIT 1")
        with workspace.transaction():
            workspace.conn.execute("DELETE FROM judgments WHERE attempt_id = ?", (victim,))
        assert mirror.refresh().kind == "incremental"
        assert mirror.cursor().execute("SELECT count(*) FROM judgments WHERE attempt_id = ?",
                                       (victim,)).fetchone()[0] == 0
        _assert_same_as_fresh_build(mirror, workspace, tmp_path)


def test_reopening_resumes_from_the_mirrored_revision(workspace):
    with Mirror.open(workspace) as mirror:
        mirror.refresh()
    record_review(workspace, workspace.scalar("SELECT MIN(id) FROM attempts"), "keep", curator="ann")
    with Mirror.open(workspace) as mirror:
        assert mirror.refresh().kind == "incremental"


@pytest.mark.parametrize("damage", ["layout", "schema", "store", "revision", "corrupt", "missing"])
def test_rebuilds_when_it_cannot_be_trusted(workspace, damage):
    path = workspace.workspace / MIRROR_DIR / MIRROR_FILE
    with Mirror.open(workspace) as mirror:
        mirror.refresh()
        if damage in ("layout", "schema", "store"):
            mirror.con.execute("UPDATE mirror_meta SET value = 'other' WHERE key = ?", (damage.replace(
                "store", "store_id"),))
        elif damage == "revision":
            mirror.con.execute("UPDATE mirror_meta SET value = '999999' WHERE key = 'revision'")
    if damage == "corrupt":
        path.write_bytes(b"this is not a duckdb file" * 100)
    elif damage == "missing":
        path.unlink()
    with Mirror.open(workspace) as mirror:
        report = mirror.refresh()
        assert report.kind == "full", report
        assert _duckdb_verdicts(mirror, active_policy(workspace)) == _sqlite_verdicts(
            workspace, active_policy(workspace))


def test_readers_keep_their_snapshot_while_a_refresh_commits(workspace):
    with Mirror.open(workspace) as mirror:
        mirror.refresh()
        reader = mirror.cursor()
        reader.execute("BEGIN TRANSACTION")
        before = reader.execute("SELECT count(*) FROM human_decisions").fetchone()[0]
        undecided = workspace.scalar("SELECT MIN(id) FROM attempts WHERE id NOT IN "
                                     "(SELECT attempt_id FROM human_decisions)")
        record_review(workspace, undecided, "keep", curator="ann")
        mirror.refresh()
        assert reader.execute("SELECT count(*) FROM human_decisions").fetchone()[0] == before
        reader.execute("COMMIT")
        assert reader.execute("SELECT count(*) FROM human_decisions").fetchone()[0] == before + 1


def test_a_second_process_holding_the_file_gets_a_private_mirror(workspace):
    path = workspace.workspace / MIRROR_DIR / MIRROR_FILE
    with Mirror.open(workspace) as mirror:
        mirror.refresh()
    holder = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(f"""
            import duckdb, sys
            con = duckdb.connect({str(path)!r})
            print("holding", flush=True)
            sys.stdin.read()
        """)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "holding"
        with pytest.raises(duckdb.IOException):
            duckdb.connect(str(path))
        with Mirror.open(workspace) as mirror:
            assert mirror.path is None
            assert mirror.refresh().kind == "full"
            policy = active_policy(workspace)
            assert _duckdb_verdicts(mirror, policy) == _sqlite_verdicts(workspace, policy)
    finally:
        holder.stdin.close()
        holder.wait(timeout=30)


def test_an_empty_workspace_mirrors(store):
    with Mirror.open(store) as mirror:
        assert mirror.refresh().kind == "full"
        assert mirror.cursor().execute("SELECT count(*) FROM attempt_facts").fetchone()[0] == 0
        assert mirror.active_policy().name == "paper"
