"""Browse through its API (gradio_client): a page for a view, opening an item, deciding, the stale guard."""

from __future__ import annotations

from picobanana.store import Store, record_review
from picobanana.taxonomy import category_by_id


def _page(client, query: str) -> dict:
    grid_html, facts, info = client.predict(query, api_name="/browse_page")
    return {"html": grid_html, "facts": facts, "info": info}


def test_browse_page_filters_by_category(client, workspace):
    everything = _page(client, "")
    assert everything["facts"]["attempt_ids"], everything["info"]
    with Store.open(workspace) as store:
        category_id = store.scalar("SELECT category_id FROM attempts WHERE category_id IS NOT NULL "
                                   "GROUP BY 1 ORDER BY COUNT(*) DESC LIMIT 1")
        expected = {r[0] for r in store.query("SELECT id FROM attempts WHERE category_id = ?", (category_id,))}
    slug = category_by_id(category_id).slug
    page = _page(client, f"category={slug}")
    assert set(page["facts"]["attempt_ids"]) == expected
    assert set(page["facts"]["categories"]) == {slug}
    assert page["html"].count("class='pb-cell") == len(expected)
    assert "/gradio_api/file=" in page["html"]  # thumbnails straight from the workspace's thumbs/ folder
    error_page = _page(client, "category=nowhere")
    assert error_page["facts"]["attempt_ids"] == [] and "category" in error_page["info"]


def test_open_item_then_decide_then_the_audit_shows_it(client, workspace):
    ids = _page(client, "verdict=keep")["facts"]["attempt_ids"]
    target = ids[0]
    values = client.predict(str(target), "verdict=keep", api_name="/open_item")
    header, audit = values[0], values[13]
    assert f"Attempt {target}" in header
    assert not any(row[0] for row in audit["data"])  # no human decision yet
    view_query = values[17]
    assert f"item={target}" in view_query and "verdict=keep" in view_query

    result = client.predict(target, "fail", "halo on the left", None, api_name="/decide")
    assert result["ok"] and result["event"]["curator"] == "alice" and result["event"]["new_verdict"] == "fail"
    values = client.predict(str(target), "", api_name="/open_item")
    audit_rows = values[13]["data"]
    assert audit_rows[0][2:6] == ["alice", "keep", "fail", "halo on the left"]

    # A decision made on the view loaded before alice's is refused and says who decided and when.
    stale = client.predict(target, "keep", "", None, api_name="/decide")
    assert not stale["ok"] and "alice decided this at" in stale["message"]
    with Store.open(workspace) as store:
        assert [r["new_verdict"] for r in store.query("SELECT new_verdict FROM reviews WHERE attempt_id = ?",
                                                      (target,))] == ["fail"]


def test_keep_button_endpoint_records_and_refreshes_the_panel(client, workspace):
    target = _page(client, "")["facts"]["attempt_ids"][-1]
    with Store.open(workspace) as store:
        record_review(store, target, "fail", curator="bob")
        bob_review = store.scalar("SELECT MAX(id) FROM reviews WHERE attempt_id = ?", (target,))
    values = client.predict(target, "looks fine at full size", bob_review, api_name="/decide_keep")
    assert "Saved: keep by alice" in values[1]
    assert values[13]["data"][0][2:6] == ["alice", "fail", "keep", "looks fine at full size"]
    assert values[15] == values[13]["data"][0][0]  # the panel now expects the new review
    stale = client.predict(target, "", bob_review, api_name="/decide_fail")
    assert "alice decided this at" in stale[1] and "Not saved" in stale[1]


def test_next_and_previous_follow_the_page_order(client):
    ids = _page(client, "")["facts"]["attempt_ids"]
    facts = {"attempt_ids": ids}
    values = client.predict(ids[0], facts, "", api_name="/next_item")
    assert f"Attempt {ids[1]}" in values[0]
    values = client.predict(ids[1], facts, "", api_name="/previous_item")
    assert f"Attempt {ids[0]}" in values[0]


def test_model_written_text_is_escaped_in_the_grid_and_the_item_header(client, workspace):
    target = _page(client, "")["facts"]["attempt_ids"][0]
    evil = "<img src=x onerror=alert(1)>'\""
    with Store.open(workspace) as store, store.transaction() as rev:
        store.conn.execute("UPDATE attempts SET short_instruction = ?, instruction = ?, model = ?, rev = ? "
                           "WHERE id = ?", (evil, evil, evil, rev, target))
    grid_html = _page(client, "")["html"]
    assert "<img src=x" not in grid_html and "&lt;img src=x onerror=alert(1)&gt;" in grid_html
    values = client.predict(str(target), "", api_name="/open_item")
    assert "<img src=x" not in values[0] and "&lt;img" in values[0]  # the model name in the header
    assert values[6] == evil  # the instruction box shows the text as text
