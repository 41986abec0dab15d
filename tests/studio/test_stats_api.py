"""The Stats tab's refresh endpoint through gradio_client: every table and chart, under the active policy."""

from __future__ import annotations

from picobanana.store import Store, record_review
from picobanana.taxonomy import EDIT_TYPES


def _refresh(client):
    (summary, pass_chart, paper_chart, edit_types, category_chart, categories, score_chart, subscore_chart,
     confusion, agreement_text, throughput_chart, throughput) = client.predict(api_name="/stats_refresh")
    return locals()


def test_stats_show_pass_rates_beside_the_papers_and_every_chart(client, studio_ctx):
    with Store.open(studio_ctx.workspace) as store:
        population = store.scalar("SELECT count(*) FROM attempts a JOIN edits e ON e.id = a.edit_id "
                                  "WHERE a.turn = 1 AND e.chain_id IS NULL")
    out = _refresh(client)
    assert "paper@1" in out["summary"] and f"Single-turn attempts: {population:,}" in out["summary"]

    table = out["edit_types"]
    assert table["headers"][:6] == ["Edit type", "Category", "Attempts", "Keep", "Fail", "Pass rate (ours)"]
    rows = {r[0]: dict(zip(table["headers"], r, strict=True)) for r in table["data"]}
    assert len(rows) == len(EDIT_TYPES)
    with_paper = [t for t in EDIT_TYPES if t.paper_success is not None]
    for t in with_paper:
        assert rows[t.name]["Paper"] == f"{t.paper_success * 100:.1f} %"
    assert sum(r["Attempts"] for r in rows.values()) == population

    assert sum(r[-1] for r in out["score_chart"]["data"]) == population  # every attempt is judged here
    assert {r[1] for r in out["subscore_chart"]["data"]} == {"instruction compliance", "seamlessness",
                                                             "preservation balance", "technical quality"}
    assert sum(r[2] for r in out["category_chart"]["data"]) == population
    assert out["pass_chart"]["data"] and out["confusion"]["headers"] == ["", "human: keep", "human: fail"]
    assert "No attempt has both" in out["agreement_text"]
    assert out["throughput"]["data"] == []


def test_decisions_show_in_agreement_and_throughput(client, studio_ctx):
    with Store.open(studio_ctx.workspace) as store:
        ids = [r[0] for r in store.query("SELECT a.id FROM attempts a JOIN edits e ON e.id = a.edit_id "
                                         "WHERE a.turn = 1 AND e.chain_id IS NULL ORDER BY a.id LIMIT 3")]
        record_review(store, ids[0], "fail", curator="alice")  # the judge kept it (all are kept in the seed)
        record_review(store, ids[1], "keep", curator="alice")
        record_review(store, ids[2], "keep", curator="bob")
    out = _refresh(client)
    confusion = {r[0]: r[1:] for r in out["confusion"]["data"]}
    assert confusion == {"judge: keep": [2, 1], "judge: fail": [0, 0]}
    assert "agreement 66.7 %" in out["agreement_text"]
    assert [r[:3] for r in out["throughput"]["data"]] == [["alice", 2, 1], ["bob", 1, 1]]
    assert sorted((r[1], r[2]) for r in out["throughput_chart"]["data"]) == [("alice", 2), ("bob", 1)]
