"""In a real browser: model-written text never runs as HTML or script, and API keys never reach the page.

The hostile text goes where a model (or a released file) writes it — instructions, the judge's rationale, a
failure reason, the model name, a source URI — and where a curator writes it (a review reason), through the
store's real write path.
"""

from __future__ import annotations

import socket

import pytest
from playwright.sync_api import Error as PlaywrightError

from picobanana.config import load_settings
from picobanana.store import Store, record_review
from picobanana.store.writes import (
    NewAttempt,
    NewEdit,
    NewJudgment,
    NewSource,
    ensure_edits,
    ensure_sources,
    insert_attempts,
    record_judgments,
)
from picobanana.studio import StudioContext, serve
from picobanana.studio.app import TABS

SECRET = "sk-test-secret-4b1d0e"


def hostile(where: str) -> str:
    """Markup that records `where` in window.__pwned if a browser ever runs it."""
    mark = f"(window.__pwned = (window.__pwned || []).concat('{where}'))"
    return (f'<img src=x onerror="{mark}"><script>{mark}</script><svg onload="{mark}"></svg>'
            f'<a href="javascript:{mark}">link</a> **{where}**')


def plant_hostile_item(workspace) -> int:
    """An edit whose every model-written field is hostile; its kept attempt scores 1.0 (first in Browse)."""
    with Store.open(workspace) as store:
        source_sha, output_sha = store.query(
            "SELECT s.image_sha256, a.output_sha256 FROM attempts a JOIN edits e ON e.id = a.edit_id "
            "JOIN sources s ON s.id = e.source_id WHERE a.output_sha256 IS NOT NULL LIMIT 1")[0]
        with store.transaction() as rev:
            uri = "https://example.org/" + hostile("uri")
            source_id = ensure_sources(store, [NewSource(uri=uri, origin="ingest", image_sha256=source_sha)], rev)[uri]
            edit_id = ensure_edits(store, [NewEdit(key="xss-edit", source_id=source_id, edit_type_id=1,
                                                   category_id=1, origin="pipeline")], rev)["xss-edit"]
            insert_attempts(store, [
                NewAttempt(key="xss#1", edit_id=edit_id, attempt_no=1, status="no_image", origin="pipeline",
                           edit_type_id=1, category_id=1, instruction=hostile("failed-instruction"),
                           failure_reason=hostile("failure")),
                NewAttempt(key="xss#2", edit_id=edit_id, attempt_no=2, status="ok", origin="pipeline",
                           edit_type_id=1, category_id=1, instruction=hostile("instruction"),
                           short_instruction=hostile("short"), output_sha256=output_sha, backend="local",
                           model=hostile("model")),
            ], rev)
            attempt_id = store.scalar("SELECT id FROM attempts WHERE key = 'xss#2'")
            record_judgments(store, [NewJudgment(attempt_id, 1.0, 1.0, 1.0, 1.0, judge_overall=1.0,
                                                 rationale=hostile("rationale"), judge_model=hostile("judge"))], rev)
        record_review(store, attempt_id, "keep", curator="alice", reason=hostile("reason"))
        return int(attempt_id)


def plant_hostile_chain_turn(workspace) -> int:
    """The seeded chain's turns get hostile instructions (as a chain writer model would produce); its id."""
    with Store.open(workspace) as store:
        chain_id = store.scalar("SELECT MIN(id) FROM chains")
        with store.transaction() as rev:
            store.conn.execute(
                "UPDATE attempts SET instruction = ?, short_instruction = ?, rev = ? WHERE edit_id IN "
                "(SELECT id FROM edits WHERE chain_id = ?)", (hostile("chain-long"), hostile("chain-short"), rev,
                                                             chain_id))
        return int(chain_id)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def studio_with_keys(workspace, monkeypatch):
    """A studio whose process has API keys in its environment, as a curator running Gemini jobs would."""
    for name in ("GEMINI_API_KEY", "GOOGLE_API_KEY", "VLLM_API_KEY", "OPENAI_API_KEY"):
        monkeypatch.setenv(name, SECRET)
    ctx = StudioContext.from_settings(load_settings(workspace=workspace, curator="alice"))
    app = serve(ctx, port=free_port(), block=False, quiet=True)
    try:
        yield app.local_url.rstrip("/")
    finally:
        app.close()


PWNED = "() => window.__pwned || null"
INJECTED = """() => ({
  images: document.querySelectorAll('img[src="x"]').length,
  scripts: [...document.scripts].filter(s => s.textContent.includes('__pwned')).length,
  svgs: [...document.querySelectorAll('svg[onload]')].length,
  links: [...document.querySelectorAll('a[href^="javascript:"]')].length,
})"""


def test_model_written_text_is_shown_as_text_never_run(studio, workspace, page):
    attempt_id = plant_hostile_item(workspace)
    chain_id = plant_hostile_chain_turn(workspace)
    dialogs = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))

    # The grid: the hostile short instruction is a caption and a tooltip, as text.
    page.goto(studio)
    cell = page.locator(f".pb-cell[data-attempt='{attempt_id}']")
    cell.wait_for()
    assert "<script>" in cell.locator(".pb-caption").inner_text()

    # The item view: every field shows the markup as characters.
    cell.click()
    page.locator("#browse-item-header", has_text=f"Attempt {attempt_id}").wait_for()
    assert page.locator("#browse-item-instruction textarea").input_value() == hostile("instruction")
    assert page.locator("#browse-item-short textarea").input_value() == hostile("short")
    assert page.locator("#browse-item-rationale textarea").input_value() == hostile("rationale")
    assert "<script>" in page.locator("#browse-item-audit").inner_text()  # the review reason
    assert "onerror" in page.locator("#browse-item-attempts").inner_text()  # the failed attempt's reason

    # A chain, turn by turn, with hostile turn instructions.
    page.get_by_role("tab", name="Chains").click()
    page.locator("#chains-id input").fill(str(chain_id))
    page.locator("button#chains-open, #chains-open button").first.click()
    page.locator("#chain-turns", has_text="chain-short").wait_for()
    assert "<script>" in page.locator("#chain-turns").inner_text()

    # Other tabs that list attempts, reasons or sources get their chance to render it too.
    for _, label, _ in TABS:
        page.get_by_role("tab", name=label).click()
        page.wait_for_timeout(700)
    page.get_by_role("tab", name="Browse").click()
    page.goto(f"{studio}/?item={attempt_id}")  # the shared-link path renders the same item
    page.locator("#browse-item-header", has_text=f"Attempt {attempt_id}").wait_for()
    page.wait_for_timeout(1000)  # let any injected onerror / onload fire

    assert page.evaluate(PWNED) is None
    assert page.evaluate(INJECTED) == {"images": 0, "scripts": 0, "svgs": 0, "links": 0}
    assert dialogs == []


def test_api_keys_in_the_environment_never_reach_the_browser(studio_with_keys, workspace, page):
    bodies: list[tuple[str, bytes]] = []

    def keep(response):
        try:
            bodies.append((response.url, response.body()))
        except PlaywrightError:  # streamed (event-stream) responses have no body to read afterwards
            bodies.append((response.url, b""))

    page.on("response", keep)
    page.goto(studio_with_keys)
    for _, label, _ in TABS:
        page.get_by_role("tab", name=label).click()
        page.wait_for_timeout(1000)
    for path in ("/config", "/gradio_api/info", "/gradio_api/info?all_endpoints=true"):
        page.goto(studio_with_keys + path)
    page.goto(studio_with_keys)
    page.locator("#studio-tabs").wait_for()
    html = page.content()
    assert len(bodies) > 10
    leaked = [url for url, body in bodies if SECRET.encode() in body]
    assert leaked == [] and SECRET not in html
