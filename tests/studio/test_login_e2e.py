"""In a real browser: a studio bound to every interface asks for a login, refuses a wrong password, lets a
curator in, records their decision under their own name, and logs them out."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

from picobanana.config import load_settings
from picobanana.curation.accounts import add_curator
from picobanana.store import Store
from picobanana.studio import StudioContext, serve

ARTIFACTS = Path(os.environ.get("PICOBANANA_ARTIFACTS", Path(__file__).resolve().parents[2] / "test-artifacts"))


def snapshot(page, name: str) -> None:
    """A screenshot of one step (the fixture saves only the last one)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"login-e2e-{name}.png"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def public_studio(workspace):
    """A studio on 0.0.0.0 (so login is required) whose configured curator is 'alice' and whose only account is
    'bob': a decision recorded as 'bob' can only come from the login."""
    ctx = StudioContext.from_settings(load_settings(workspace=workspace, curator="alice"))
    add_curator(ctx.store(), "bob", "hunter2hunter2")
    port = free_port()
    app = serve(ctx, host="0.0.0.0", port=port, block=False, quiet=True)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        app.close()


def log_in(page, name: str, password: str) -> None:
    page.get_by_label("username").fill(name)
    page.get_by_label("password").fill(password)
    page.get_by_role("button", name="Login").click()


def test_login_then_a_keyboard_decision_carries_the_curators_name(public_studio, workspace, page):
    page.goto(public_studio)
    page.get_by_text("log in with your curator account").wait_for()  # our auth message on Gradio's form
    assert page.locator("#studio-tabs").count() == 0

    log_in(page, "bob", "not his password")
    page.get_by_text("Incorrect credentials").wait_for()
    assert page.locator("#studio-tabs").count() == 0
    snapshot(page, "wrong-password")

    log_in(page, "bob", "hunter2hunter2")
    page.locator("#studio-tabs").wait_for()
    page.locator("#pb-curator", has_text="Curator: bob").wait_for()
    assert page.locator("#pb-logout").is_visible()
    snapshot(page, "logged-in")

    # Open the first item of the Browse grid and keep it with the keyboard.
    first_cell = page.locator(".pb-cell[data-attempt]").first
    attempt_id = int(first_cell.get_attribute("data-attempt"))
    first_cell.click()
    page.locator("#browse-item-header", has_text=f"Attempt {attempt_id}").wait_for()
    page.locator("body").click(position={"x": 5, "y": 400})  # focus away from any input
    page.keyboard.press("k")
    page.locator("#browse-item-message", has_text="by bob").wait_for()
    with Store.open(workspace) as store:
        curator, verdict = store.query("SELECT curator, new_verdict FROM reviews WHERE attempt_id = ? "
                                       "ORDER BY id DESC LIMIT 1", (attempt_id,))[0]
    assert (curator, verdict) == ("bob", "keep")

    # Logging out returns to the login form; the session no longer opens the studio.
    page.locator("#pb-logout").click()
    page.get_by_label("password").wait_for()
    page.goto(public_studio)
    page.get_by_label("password").wait_for()
    assert page.locator("#studio-tabs").count() == 0
