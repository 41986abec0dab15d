"""The Policy tab's endpoints through gradio_client: live counts, per-category scope, save, preview, activate."""

from __future__ import annotations

import pytest
from gradio_client.exceptions import AppError

from picobanana.store import Store, active_policy, get_policy, record_review

PAPER = (0.4, 0.25, 0.2, 0.15)


def _counts(client, threshold, scope="global", draft=None, weights=PAPER):
    draft, summary, table, chart = client.predict(*weights, threshold, scope, draft or {}, 0.05,
                                                  api_name="/policy_counts")
    rows = {row[0]: dict(zip(table["headers"], row, strict=True)) for row in table["data"]}
    return draft, summary, rows, chart


def test_counts_follow_the_threshold_and_show_the_delta(client):
    _, summary, rows, chart = _counts(client, 0.7)
    total = rows["All categories"]
    assert total["Keep"] > 0 and total["Δ keep"] == "0"
    assert "paper@1" in summary
    _, summary, strict, _ = _counts(client, 1.0)
    assert strict["All categories"]["Keep"] == 0
    assert strict["All categories"]["Δ keep"] == f"{-total['Keep']:+,}"
    assert strict["All categories"]["keep → fail"] == total["Keep"]
    assert {"category", "verdict", "attempts"} <= set(chart["columns"])


def test_a_category_scope_changes_only_that_category(client):
    _, _, base, _ = _counts(client, 0.7)
    stylistic = "4"
    draft, _, rows, _ = _counts(client, 1.0, scope=stylistic)
    assert draft["threshold"] == 0.7 and draft["per_category"] == {"4": {"weights": None, "threshold": 1.0}}
    assert base["Stylistic"]["Keep"] > 0 and rows["Stylistic"]["Keep"] == 0
    for name, row in rows.items():
        if name not in ("Stylistic", "All categories"):
            assert row == base[name]
    # The scope's sliders come back from the draft; the global scope still shows the global threshold.
    assert client.predict(stylistic, draft, api_name="/policy_scope")[4] == 1.0
    assert client.predict("global", draft, api_name="/policy_scope")[4] == 0.7


def test_human_decisions_win(client, studio_ctx):
    _, _, rows, _ = _counts(client, 0.0)
    assert rows["All categories"]["Fail"] == 0
    with Store.open(studio_ctx.workspace) as store:
        attempt = store.query("SELECT a.id, a.category_id FROM attempts a JOIN edits e ON e.id = a.edit_id "
                              "WHERE a.turn = 1 AND e.chain_id IS NULL ORDER BY a.id LIMIT 1")[0]
        record_review(store, attempt["id"], "fail", curator="bob")
    _, _, rows, _ = _counts(client, 0.0)
    assert rows["All categories"]["Fail"] == 1  # every judged attempt passes a threshold of 0, except this one


def test_save_versions_preview_and_activate_record_the_curator(client, studio_ctx):
    draft, _, _, _ = _counts(client, 0.9)
    message, saved = client.predict("strict", "tighter", draft, api_name="/policy_save")
    assert "strict@1" in message and saved["value"] == "strict@1"
    _, saved = client.predict("strict", "", draft, api_name="/policy_save")
    assert saved["value"] == "strict@2"
    assert ["strict@2", "strict@2"] in saved["choices"] and ["paper@1  (active)", "paper@1"] in saved["choices"]
    with pytest.raises(AppError, match="usable policy name"):
        client.predict("a@b", "", draft, api_name="/policy_save")

    text, table = client.predict("strict@1", 0.05, api_name="/policy_preview")
    assert "Activating **strict@1** instead of **paper@1**" in text
    assert any(row[0] == "All categories" for row in table["data"])
    message, saved, text, _ = client.predict("strict@1", api_name="/policy_activate")
    assert "strict@1** is the active policy" in text
    assert "strict@1" in message and "alice" in message
    assert ["strict@1  (active)", "strict@1"] in saved["choices"]
    with Store.open(studio_ctx.workspace) as store:
        assert active_policy(store).id == get_policy(store, "strict@1").id
        assert get_policy(store, "strict@1").threshold == 0.9
        assert store.scalar("SELECT created_by FROM policies WHERE name = 'strict' AND version = 1") == "alice"
        assert store.scalar("SELECT activated_by FROM policy_activations ORDER BY id DESC LIMIT 1") == "alice"
    text, _ = client.predict("strict@1", 0.05, api_name="/policy_preview")
    assert "is the active policy" in text
    _, summary, _, _ = _counts(client, 0.9)
    assert "strict@1" in summary  # the delta is now against the new active policy


def test_load_puts_a_saved_policy_into_the_sliders(client):
    draft, _, _, _ = _counts(client, 0.5, scope="6")
    client.predict("lenient-text", "", draft, api_name="/policy_save")
    scope, *values, loaded, name = client.predict("lenient-text@1", api_name="/policy_load")
    assert scope == "global" and name == "lenient-text"
    assert values == [0.4, 0.25, 0.2, 0.15, 0.7]
    assert loaded["per_category"] == {"6": {"weights": None, "threshold": 0.5}}


def test_clearing_a_category_hands_it_back_to_the_global_values(client):
    draft, _, _, _ = _counts(client, 1.0, scope="4")
    *values, cleared, _, table, _ = client.predict("4", draft, 0.05, api_name="/policy_clear_category")
    assert values == [0.4, 0.25, 0.2, 0.15, 0.7] and cleared["per_category"] == {}
    total = next(r for r in table["data"] if r[0] == "All categories")
    assert total[3] == "0"  # Δ keep against the active policy: nothing differs any more
