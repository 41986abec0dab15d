"""Studio fixtures: a small real workspace (the local pipeline on two photos), a running studio, a client
for its API, and a real headless Chromium (Debian's, driven by the PyPI playwright package).

The seeded workspace is built once per test process and copied for each test that writes to it.
"""

from __future__ import annotations

import os
import shutil
import socket
from pathlib import Path

import pytest

ARTIFACTS = Path(os.environ.get("PICOBANANA_ARTIFACTS", Path(__file__).resolve().parents[2] / "test-artifacts"))
CHROMIUM = os.environ.get("PICOBANANA_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


def _seed(workspace: Path) -> None:
    """Two demo photos through the real pipeline with the local backend: kept and failed edits, preference
    pairs (failed attempts before a kept one), a multi-turn chain."""
    from picobanana.demo import DEMO_PHOTOS, demo_photo_png
    from picobanana.io.ingest import ingest_bytes
    from picobanana.pipeline import jobs
    from picobanana.pipeline.runner import run_job
    from picobanana.pipeline.spec import ChainSettings, EditMix, JobSpec, RoleSettings
    from picobanana.store import Store

    with Store.open(workspace) as store:
        ids = [ingest_bytes(store, demo_photo_png(photo), uri=f"skimage:{photo.name}", origin="demo")
               for photo in DEMO_PHOTOS[:2]]
        roles = {role: RoleSettings(backend="local", concurrency=2)
                 for role in ("writer", "rewriter", "editor", "judge")}
        spec = JobSpec(source_ids=ids, mix=EditMix(kind="each", type_ids=[1, 2, 10, 11, 12, 13, 14, 16]),
                       roles=roles, attempts=3, seed=0, chains=ChainSettings(n_chains=1, min_turns=2, max_turns=3))
        run_job(store, jobs.create_job(store, spec))


@pytest.fixture(scope="session")
def seeded_workspace(tmp_path_factory) -> Path:
    workspace = tmp_path_factory.mktemp("seed") / "ws"
    _seed(workspace)
    return workspace


@pytest.fixture
def workspace(seeded_workspace, tmp_path) -> Path:
    """A private copy of the seeded workspace (tests write decisions, policies and jobs into it)."""
    copy = tmp_path / "ws"
    shutil.copytree(seeded_workspace, copy)
    return copy


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def studio_ctx(workspace):
    from picobanana.config import load_settings
    from picobanana.studio import StudioContext

    return StudioContext.from_settings(load_settings(workspace=workspace, curator="alice"))


@pytest.fixture
def studio(studio_ctx):
    """A running studio on a free loopback port: yields its base URL."""
    from picobanana.studio import serve

    app = serve(studio_ctx, port=free_port(), block=False, quiet=True)
    try:
        yield app.local_url.rstrip("/")
    finally:
        app.close()


@pytest.fixture
def client(studio):
    from gradio_client import Client

    return Client(studio, verbose=False)


# Module scope, not session: Playwright's sync API keeps an asyncio loop running in the main thread while it
# is open, and tests elsewhere that call asyncio.run() in the same worker would fail under it.
@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium not found at {CHROMIUM} (apt-get install chromium; or set PICOBANANA_CHROMIUM)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser, request):
    """A fresh browser page; a screenshot of it is saved to test-artifacts/ when the test ends."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    opened = context.new_page()
    yield opened
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    try:
        opened.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"), full_page=True)
    finally:
        context.close()
