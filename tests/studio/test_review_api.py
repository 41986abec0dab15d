"""The Review queue through its API (gradio_client): next, decide (keep / fail / skip, stale writes), apply to
all with a preview, undo. The seeded workspace's scores are all high, so a strict policy (threshold 0.95) makes
most of them borderline."""

from __future__ import annotations

import shutil

import pytest
from gradio_client.exceptions import AppError

from picobanana.store import Policy, Store, activate_policy, attempt_verdict, record_review, save_policy

PANEL = 17  # the item panel's outputs come first (studio/item_panel.py), then ours
PROGRESS, ITEM_LINE, CURRENT = PANEL, PANEL + 1, PANEL + 2
PANEL_MESSAGE, PANEL_ATTEMPT, PANEL_REVIEW = 1, 14, 15


@pytest.fixture
def workspace(seeded_workspace, tmp_path):
    copy = tmp_path / "ws"
    shutil.copytree(seeded_workspace, copy)
    with Store.open(copy) as store:
        activate_policy(store, save_policy(store, Policy(name="strict", threshold=0.95), created_by="t").id,
                        activated_by="t")
    return copy


def _expected_order(workspace, margin: float = 0.05) -> list[int]:
    with Store.open(workspace) as store:
        rows = store.query("SELECT attempt_id, score FROM effective_verdicts "
                           "WHERE score IS NOT NULL AND human_verdict IS NULL")
    near = [(abs(r["score"] - (0.95 - 1e-9)), r["attempt_id"]) for r in rows
            if abs(r["score"] - (0.95 - 1e-9)) < margin]
    return [a for _, a in sorted(near)]


def test_next_shows_the_nearest_item_and_the_progress(client, workspace):
    order = _expected_order(workspace)
    assert len(order) >= 4
    out = client.predict("All", "All", 0.05, api_name="/queue_next")
    assert out[CURRENT]["attempt_id"] == order[0] == out[PANEL_ATTEMPT]
    assert out[PROGRESS].startswith(f"alice: 0 decided today · 0 this session · {len(order)} borderline left")
    assert "threshold 0.95" in out[ITEM_LINE]
    narrow = client.predict("All", "All", 0.015, api_name="/queue_next")
    assert narrow[PROGRESS].endswith(f" {len(_expected_order(workspace, 0.015))} borderline left")
    assert len(_expected_order(workspace, 0.015)) < len(order)


def test_keep_records_and_advances_skip_moves_on(client, workspace):
    order = _expected_order(workspace)
    first = client.predict("All", "All", 0.05, api_name="/queue_next")
    out = client.predict("keep", first[PANEL_ATTEMPT], "looks fine", first[PANEL_REVIEW], "All", "All", 0.05,
                         api_name="/queue_decide")
    assert out[CURRENT]["attempt_id"] == order[1]
    assert "1 decided today · 1 this session" in out[PROGRESS]
    assert f"{len(order) - 1} borderline left" in out[PROGRESS]
    with Store.open(workspace) as store:
        verdict = attempt_verdict(store, order[0])
        review = store.query("SELECT curator, reason FROM reviews")
    assert (verdict.verdict, verdict.source) == ("keep", "human")
    assert [tuple(r) for r in review] == [("alice", "looks fine")]
    skipped = client.predict("skip", out[PANEL_ATTEMPT], "", out[PANEL_REVIEW], "All", "All", 0.05,
                             api_name="/queue_decide")
    assert skipped[CURRENT]["attempt_id"] == order[2]
    assert f"{len(order) - 1} borderline left" in skipped[PROGRESS]  # a skip decides nothing
    again = client.predict("All", "All", 0.05, api_name="/queue_next")
    assert again[CURRENT]["attempt_id"] == order[2]  # this session skips it until the end


def test_a_stale_decision_shows_a_conflict_and_changes_nothing(client, workspace):
    first = client.predict("All", "All", 0.05, api_name="/queue_next")
    attempt_id = int(first[PANEL_ATTEMPT])
    with Store.open(workspace) as store:
        record_review(store, attempt_id, "fail", curator="bob")  # bob decides while alice looks at it
    out = client.predict("keep", attempt_id, "", first[PANEL_REVIEW], "All", "All", 0.05, api_name="/queue_decide")
    assert "reviewed by bob" in out[PANEL_MESSAGE] and out[PANEL_ATTEMPT] == attempt_id
    with Store.open(workspace) as store:
        assert attempt_verdict(store, attempt_id).human_verdict == "fail"
        assert store.scalar("SELECT COUNT(*) FROM reviews WHERE curator = 'alice'") == 0


def test_filters_narrow_the_queue(client, workspace):
    with Store.open(workspace) as store:
        rows = store.query("SELECT attempt_id, category_id FROM effective_verdicts WHERE score IS NOT NULL")
    category_of = {r["attempt_id"]: r["category_id"] for r in rows}
    out = client.predict("Stylistic", "All", 0.05, api_name="/queue_next")
    assert category_of[out[CURRENT]["attempt_id"]] == 4
    empty = client.predict("Human-Centric", "All", 0.05, api_name="/queue_next")
    assert empty[CURRENT] is None and "queue is empty" in empty[ITEM_LINE]
    assert "0 borderline left" in empty[PROGRESS]
    with pytest.raises(AppError, match="not in the list of choices"):
        client.predict("No such category", "All", 0.05, api_name="/queue_next")


def test_apply_all_previews_confirms_and_undoes(client, workspace):
    order = _expected_order(workspace)
    message, count = client.predict("All", "All", 0.05, api_name="/queue_apply_all_preview")
    assert int(count) == len(order) and f"**{len(order)}** borderline attempts" in message
    out = client.predict("fail", "bulk", "All", "All", 0.05, count, api_name="/queue_apply_all")
    assert f"{len(order)} attempts marked **fail**" in out[0]
    batch_id = out[1]
    with Store.open(workspace) as store:
        rows = store.query("SELECT DISTINCT batch_id, curator, reason FROM reviews")
        assert [tuple(r) for r in rows] == [(batch_id, "alice", "bulk")]
        record_review(store, order[0], "keep", curator="bob")  # a later decision the undo must not touch
    queue = out[3:]  # message, batch id, preview count (buttons are not API values), then the queue
    assert queue[CURRENT] is None and "0 borderline left" in queue[PROGRESS]
    undone = client.predict(batch_id, "All", "All", 0.05, api_name="/queue_undo_batch")
    assert f"{len(order) - 1} attempts restored" in undone[0]
    with Store.open(workspace) as store:
        assert attempt_verdict(store, order[0]).human_verdict == "keep"
        assert all(attempt_verdict(store, a).source == "judge" for a in order[1:])
    assert undone[2:][CURRENT]["attempt_id"] == order[1]


def test_apply_all_refuses_a_stale_preview(client, workspace):
    _, count = client.predict("All", "All", 0.05, api_name="/queue_apply_all_preview")
    with Store.open(workspace) as store:
        record_review(store, _expected_order(workspace)[0], "keep", curator="bob")
    out = client.predict("keep", "", "All", "All", 0.05, count, api_name="/queue_apply_all")
    assert "the queue changed since the preview" in out[0]
    with Store.open(workspace) as store:
        assert store.scalar("SELECT COUNT(*) FROM reviews WHERE curator = 'alice'") == 0
