"""`picobanana demo`: real photos from the scikit-image wheel through the local backend, end to end."""

from __future__ import annotations

from click.testing import CliRunner

from picobanana.cli.main import cli
from picobanana.io.export.selection import select_preference
from picobanana.store import Store, active_policy


def test_demo_fills_a_workspace_with_single_turn_preference_and_multi_turn_data(tmp_path):
    ws = tmp_path / "ws"
    result = CliRunner().invoke(cli, ["-w", str(ws), "demo", "--chains", "2"])
    assert result.exit_code == 0, result.output
    assert "job 1: done" in result.output
    with Store.open(ws) as store:
        licenses = [r["license"] for r in store.query("SELECT license FROM sources WHERE origin = 'demo'")]
        assert len(licenses) == 5 and all("scikit-image" in lic for lic in licenses)
        kept = store.scalar("SELECT COUNT(*) FROM effective_verdicts WHERE verdict = 'keep' AND turn = 1")
        assert kept >= 20
        assert store.scalar("SELECT COUNT(*) FROM attempts WHERE backend LIKE 'local%'") > 0
        assert store.scalar("SELECT COUNT(*) FROM chains") == 2
        assert store.scalar("SELECT MAX(turn) FROM edits") >= 2
        assert any(True for _ in select_preference(store, active_policy(store))), "no failed attempt before a kept one"
        attempts_before = store.scalar("SELECT COUNT(*) FROM attempts")
    again = CliRunner().invoke(cli, ["-w", str(ws), "demo", "--chains", "2"])
    assert again.exit_code == 0, again.output
    with Store.open(ws) as store:
        assert store.scalar("SELECT COUNT(*) FROM attempts") == attempts_before
