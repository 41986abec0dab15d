"""With login, every event a curator causes through the studio carries their account name: decisions, policy
saves and activations, generation jobs — never the configured default curator."""

from __future__ import annotations

import socket
import time

import pytest
from gradio_client import Client

from picobanana.config import load_settings
from picobanana.curation.accounts import add_curator
from picobanana.store import Store
from picobanana.studio import StudioContext, serve


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def bob(workspace):
    """A client logged in as 'bob' to a studio on 0.0.0.0 whose configured curator is 'alice'."""
    ctx = StudioContext.from_settings(load_settings(workspace=workspace, curator="alice"))
    add_curator(ctx.store(), "bob", "hunter2hunter2")
    port = free_port()
    app = serve(ctx, host="0.0.0.0", port=port, block=False, quiet=True)
    try:
        yield Client(f"http://127.0.0.1:{port}", auth=("bob", "hunter2hunter2"), verbose=False)
    finally:
        app.close()


def test_decisions_policies_and_jobs_carry_the_logged_in_name(bob, workspace):
    with Store.open(workspace) as store:
        attempt_id = store.scalar("SELECT id FROM attempts WHERE status = 'ok' ORDER BY id LIMIT 1")

    decided = bob.predict(attempt_id, "fail", "seam at the horizon", None, api_name="/decide")
    assert decided["ok"], decided
    bob.predict("bobs-policy", "stricter", {"threshold": 0.8}, api_name="/policy_save")
    bob.predict("bobs-policy@1", api_name="/policy_activate")
    _, job_id = bob.predict(source_ids="1", types=["color-tone"], attempts=1, api_name="/generate_start")

    with Store.open(workspace) as store:
        assert store.query("SELECT curator, new_verdict, reason FROM reviews WHERE attempt_id = ? "
                           "ORDER BY id DESC LIMIT 1", (attempt_id,))[0][:] == ("bob", "fail", "seam at the horizon")
        # (the configured curator of this studio is 'alice': each name above can only come from the login)
        assert store.scalar("SELECT created_by FROM policies WHERE name = 'bobs-policy'") == "bob"
        assert store.scalar("SELECT activated_by FROM policy_activations ORDER BY id DESC LIMIT 1") == "bob"
        assert store.scalar("SELECT created_by FROM jobs WHERE id = ?", (int(job_id),)) == "bob"
        deadline = time.monotonic() + 120  # let the small job finish before the workspace goes away
        while store.scalar("SELECT status FROM jobs WHERE id = ?", (int(job_id),)) in ("queued", "running"):
            assert time.monotonic() < deadline, "the job did not finish"
            time.sleep(0.5)
