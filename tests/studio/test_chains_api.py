"""The Chains tab through its API: a page of chains with their per-turn verdicts, and one chain turn by turn."""

from __future__ import annotations

from pathlib import Path

from picobanana.curation.chains import chain_detail
from picobanana.store import Store, record_review

INFO_HEADERS = ["chain", "turns", "per turn", "all pass", "origin", "key"]


def _chain(workspace):
    with Store.open(workspace) as store:
        chain_id = store.scalar("SELECT MAX(id) FROM chains")
        return chain_detail(store, chain_id)


def test_chains_page_lists_the_chain_with_its_turns(client, workspace):
    detail = _chain(workspace)
    table, cursor, info = client.predict("all", "any", "", api_name="/chains_page")
    assert table["headers"] == INFO_HEADERS
    row = table["data"][0]
    assert row[0] == detail.summary.chain_id and row[1] == detail.summary.n_turns
    assert row[2] == detail.summary.strip and row[3] == ("yes" if detail.summary.all_pass else "no")
    assert cursor == "" and "end" in info
    passing = "passing" if detail.summary.all_pass else "not passing"
    other = "not passing" if detail.summary.all_pass else "passing"
    assert client.predict(passing, "any", "", api_name="/chains_page")[0]["data"][0][0] == row[0]
    assert client.predict(other, "any", "", api_name="/chains_page")[0]["data"] in ([], [[]], [["", "", "", "", "", ""]])


def test_chain_detail_shows_every_turn_with_images_and_verdicts(client, workspace):
    detail = _chain(workspace)
    header, strip, turns, chain_id = client.predict(detail.summary.chain_id, api_name="/chain_detail")
    assert f"Chain {detail.summary.chain_id}" in header and chain_id == detail.summary.chain_id
    assert [r[0] for r in turns["data"]] == [t.turn for t in detail.turns]
    assert [r[2] for r in turns["data"]] == [t.verdict for t in detail.turns]
    for row, turn in zip(turns["data"], detail.turns, strict=True):
        assert row[4] == (turn.shown.short_instruction or "")
    # The film strip: the source photo, then each turn's output, as thumbnails captioned with the turn.
    assert len(strip) == 1 + len(detail.turns)
    assert strip[0]["caption"].startswith("source")
    assert [s["caption"].split(" · ")[0] for s in strip[1:]] == [f"turn {t.turn}" for t in detail.turns]
    assert all(Path(s["image"]).is_file() for s in strip)


def test_a_failed_turn_shows_in_the_chain(client, workspace):
    detail = _chain(workspace)
    last = detail.turns[-1].shown.attempt_id
    with Store.open(workspace) as store:
        record_review(store, last, "fail", curator="bob")
    header, _, turns, _ = client.predict(detail.summary.chain_id, api_name="/chain_detail")
    assert turns["data"][-1][2] == "fail" and "not every turn passes" in header
    assert client.predict("not passing", "any", "", api_name="/chains_page")[0]["data"][0][0] == \
        detail.summary.chain_id


def test_an_unknown_chain_is_a_clear_message(client):
    header, strip, _, _ = client.predict(999, api_name="/chain_detail")
    assert "no chain 999" in header and strip == []
