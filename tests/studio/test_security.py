"""The studio's security, over HTTP against a running studio: which files Gradio's file route serves, that the
API needs a login when the studio is reachable from other machines, and that API keys never leave the server.

Raw requests go through http.client so that `..` and percent-encodings reach the server exactly as written
(httpx and browsers normalise them away).
"""

from __future__ import annotations

import http.client
import json
import os
import socket
import time
import urllib.parse
from pathlib import Path

import pytest

from picobanana.config import load_settings
from picobanana.curation.accounts import add_curator, set_disabled
from picobanana.errors import ConfigError
from picobanana.store import Store
from picobanana.studio import StudioContext, serve
from picobanana.studio.server import LoginThrottle, is_loopback, login_required, make_authenticator

SECRET = "sk-test-secret-7f3a9c"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def raw_get(base: str, path: str, cookie: str | None = None) -> tuple[int, bytes, dict[str, str]]:
    """GET `path` byte for byte as given (no normalisation of `..` or %-escapes)."""
    url = urllib.parse.urlsplit(base)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
    try:
        conn.putrequest("GET", path, skip_accept_encoding=True)
        if cookie:
            conn.putheader("Cookie", cookie)
        conn.endheaders()
        response = conn.getresponse()
        return response.status, response.read(), {k.lower(): v for k, v in response.getheaders()}
    finally:
        conn.close()


def raw_post(base: str, path: str, body: bytes, content_type: str, cookie: str | None = None):
    url = urllib.parse.urlsplit(base)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
    try:
        headers = {"Content-Type": content_type}
        if cookie:
            headers["Cookie"] = cookie
        conn.request("POST", path, body=body, headers=headers)
        response = conn.getresponse()
        return response.status, response.read(), response.getheader("Set-Cookie") or ""
    finally:
        conn.close()


def login(base: str, name: str, password: str) -> tuple[int, str]:
    """POST the login form; returns the status and the session cookie to send back."""
    form = urllib.parse.urlencode({"username": name, "password": password}).encode()
    status, _, set_cookie = raw_post(base, "/login", form, "application/x-www-form-urlencoded")
    # Gradio sets two cookies (secure and not); over plain http the unsecure one is what a browser keeps.
    cookies = [part.split(";")[0].strip() for part in set_cookie.split(",") if "access-token" in part]
    return status, "; ".join(cookies)


def file_url(path: str | Path) -> str:
    return "/gradio_api/file=" + str(path)


@pytest.fixture
def image_paths(workspace) -> tuple[Path, Path]:
    """An edited image and its thumbnail, as the store holds them."""
    with Store.open(workspace) as store:
        sha, fmt = store.query("SELECT i.sha256, i.format FROM attempts a JOIN images i ON i.sha256 = a.output_sha256 "
                               "LIMIT 1")[0]
        return store.images.path(sha, fmt), store.images.ensure_thumbnail(sha)


# -- files ---------------------------------------------------------------------------------------------------


def test_workspace_images_and_thumbnails_are_served(studio, image_paths):
    for path in image_paths:
        assert path.is_file()
        status, body, headers = raw_get(studio, file_url(path))
        assert status == 200, (path, body[:200])
        assert headers["content-type"].startswith("image/")
        assert body == path.read_bytes()


def _secrets_of(workspace: Path) -> dict[str, Path]:
    """Files in and around the workspace that the browser must never get."""
    (workspace / "picobanana.toml").write_text('curator = "alice"\n')
    (workspace / "notes.txt").write_text("private notes\n")
    (workspace / "analytics").mkdir(exist_ok=True)
    (workspace / "analytics" / "mirror.duckdb").write_bytes(b"duckdb")
    (workspace / "exports" / "e1").mkdir(parents=True, exist_ok=True)
    (workspace / "exports" / "e1" / "README.md").write_text("card\n")
    (workspace / "images" / "notes.txt").parent.mkdir(exist_ok=True)
    link = workspace / "images" / "db-link.png"  # a symbolic link inside images/ that points at the database
    link.symlink_to(workspace / "picobanana.sqlite")
    return {
        "database": workspace / "picobanana.sqlite",
        "wal": workspace / "picobanana.sqlite-wal",
        "config": workspace / "picobanana.toml",
        "root file": workspace / "notes.txt",
        "mirror": workspace / "analytics" / "mirror.duckdb",
        "export": workspace / "exports" / "e1" / "README.md",
        "link out of images": link,
        "outside": Path("/etc/passwd"),
        "source code": Path(__file__).resolve(),
    }


def test_nothing_but_images_and_thumbnails_is_served(studio, workspace, image_paths, monkeypatch):
    monkeypatch.chdir(workspace)  # even with the workspace as the server's working directory
    images = workspace / "images"
    secrets = _secrets_of(workspace)
    quoted_db = urllib.parse.quote(str(workspace / "picobanana.sqlite"), safe="")
    attempts = {name: file_url(path) for name, path in secrets.items() if name != "wal" or path.exists()}
    attempts.update({
        "relative to cwd": file_url("picobanana.sqlite"),
        "dot-dot": file_url(f"{images}/../picobanana.sqlite"),
        "dot-dot to /etc": file_url(f"{images}/../../../../../../../../etc/passwd"),
        "encoded slash": file_url(f"{images}/..%2Fpicobanana.sqlite"),
        "encoded dots": file_url(f"{images}/%2e%2e/picobanana.sqlite"),
        "double-encoded": file_url(f"{images}/%252e%252e%252fpicobanana.sqlite"),
        "fully encoded": "/gradio_api/file=" + quoted_db,
        "backslashes": file_url(f"{images}\\..\\picobanana.sqlite"),
        "old route": "/gradio_api/file/" + str(workspace / "picobanana.sqlite"),
        "file url": file_url(f"file://{workspace}/picobanana.sqlite"),
        "proxy to a private address": file_url(f"http://127.0.0.1:{urllib.parse.urlsplit(studio).port}/config"),
        "static route": "/static/../picobanana.sqlite",
        "assets route": f"/assets/..%2F..%2F..%2F..%2F..%2F..%2F..%2F..%2F..%2F{quoted_db}",
    })
    database = (workspace / "picobanana.sqlite").read_bytes()[:16]
    for name, path in attempts.items():
        status, body, _ = raw_get(studio, path)
        assert status in (400, 403, 404), f"{name}: {path} answered {status}"
        assert not body.startswith(database) and b"root:" not in body and b"private notes" not in body, name
    # The served image itself still works with the decoy files in place.
    assert raw_get(studio, file_url(image_paths[0]))[0] == 200


# -- login beyond localhost --------------------------------------------------------------------------------------


@pytest.mark.parametrize(("host", "loopback"), [("127.0.0.1", True), ("localhost", True), ("::1", True),
                                                ("127.0.0.2", True), ("0.0.0.0", False), ("::", False),
                                                ("192.168.1.20", False), ("studio.example.org", False)])
def test_which_addresses_count_as_this_machine_only(host, loopback):
    assert is_loopback(host) is loopback
    assert login_required(host, None) is (not loopback)
    assert login_required(host, True) is True
    if loopback:
        assert login_required(host, False) is False
    else:
        with pytest.raises(ConfigError, match="refusing to serve on .* without login"):
            login_required(host, False)


def test_beyond_localhost_the_studio_refuses_to_start_without_an_account(workspace):
    ctx = StudioContext.from_settings(load_settings(workspace=workspace, curator="alice"))
    with pytest.raises(ConfigError, match="create one with picobanana user add NAME"):
        serve(ctx, host="0.0.0.0", port=free_port(), block=False, quiet=True)
    add_curator(ctx.store(), "bob", "hunter2hunter2")
    set_disabled(ctx.store(), "bob")  # a disabled account cannot log in: it does not count
    with pytest.raises(ConfigError, match="create one with picobanana user add NAME"):
        serve(ctx, host="127.0.0.1", auth=True, port=free_port(), block=False, quiet=True)


@pytest.fixture
def public_studio(workspace, monkeypatch):
    """A studio bound to every interface (so login is required), with curators bob (active) and eve (disabled);
    API keys in its environment. Yields its URL on 127.0.0.1."""
    monkeypatch.setenv("GEMINI_API_KEY", SECRET)
    monkeypatch.setenv("GOOGLE_API_KEY", SECRET)
    monkeypatch.setenv("VLLM_API_KEY", SECRET)
    ctx = StudioContext.from_settings(load_settings(workspace=workspace, curator="alice"))
    add_curator(ctx.store(), "bob", "hunter2hunter2")
    add_curator(ctx.store(), "eve", "evepassword")
    set_disabled(ctx.store(), "eve")
    port = free_port()
    app = serve(ctx, host="0.0.0.0", port=port, block=False, quiet=True)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        app.close()


def test_without_a_login_the_api_and_files_are_refused(public_studio, image_paths):
    for path in ("/gradio_api/info", "/config", "/gradio_api/openapi.json", "/gradio_api/queue/data?session_hash=x",
                 file_url(image_paths[0]), "/gradio_api/call/whoami/abc", "/monitoring"):
        status, body, _ = raw_get(public_studio, path)
        assert status in (401, 403, 404), f"{path} answered {status}"
        assert b"whoami" not in body
    for path in ("/gradio_api/call/whoami", "/gradio_api/queue/join", "/gradio_api/run/whoami",
                 "/gradio_api/upload"):
        status, _, _ = raw_post(public_studio, path, b'{"data": []}', "application/json")
        assert status in (401, 403), f"POST {path} answered {status}"
    # The page itself is the login form: no components, no endpoints, no workspace path.
    status, body, _ = raw_get(public_studio, "/")
    page = body.decode()
    assert status == 200 and '"auth_required":true' in page.replace(" ", "")
    assert "whoami" not in page and "studio-tabs" not in page


def test_wrong_unknown_and_disabled_logins_are_refused(public_studio):
    for name, password in (("bob", "hunter2hunter3"), ("bob", ""), ("mallory", "hunter2hunter2"),
                           ("eve", "evepassword"), ("BOB", "hunter2hunter2")):
        status, cookie = login(public_studio, name, password)
        assert status in (400, 422) and not cookie, (name, status)  # 422: an empty field
        assert raw_get(public_studio, "/gradio_api/info", cookie=cookie or None)[0] == 401


def test_a_logged_in_curator_uses_the_api_under_their_own_name(public_studio, image_paths):
    status, cookie = login(public_studio, "bob", "hunter2hunter2")
    assert status == 200 and cookie
    assert raw_get(public_studio, "/gradio_api/info", cookie=cookie)[0] == 200
    assert b"whoami" in raw_get(public_studio, "/", cookie=cookie)[1]  # the real page once logged in
    assert raw_get(public_studio, file_url(image_paths[0]), cookie=cookie)[0] == 200

    from gradio_client import Client

    client = Client(public_studio, auth=("bob", "hunter2hunter2"), verbose=False)
    assert client.predict(api_name="/whoami") == "Curator: <b>bob</b>"
    # Logging out ends the session: the same cookie no longer opens the API.
    assert raw_get(public_studio, "/logout", cookie=cookie)[0] in (302, 307)
    assert raw_get(public_studio, "/gradio_api/info", cookie=cookie)[0] == 401


def test_disabling_an_account_ends_its_open_sessions(public_studio, workspace):
    _, cookie = login(public_studio, "bob", "hunter2hunter2")
    assert raw_get(public_studio, "/gradio_api/info", cookie=cookie)[0] == 200
    with Store.open(workspace) as store:
        set_disabled(store, "bob")
    deadline = time.monotonic() + 10  # the studio re-checks an account every 2 s
    while raw_get(public_studio, "/gradio_api/info", cookie=cookie)[0] == 200:
        assert time.monotonic() < deadline, "the disabled curator's session still works"
        time.sleep(0.25)
    with Store.open(workspace) as store:
        set_disabled(store, "bob", False)
    time.sleep(2.5)
    assert raw_get(public_studio, "/gradio_api/info", cookie=cookie)[0] == 401  # ended, not suspended
    assert login(public_studio, "bob", "hunter2hunter2")[0] == 200


def test_repeated_wrong_passwords_lock_the_name_for_a_while(studio_ctx):
    import asyncio

    add_curator(studio_ctx.store(), "bob", "hunter2hunter2")
    auth = make_authenticator(studio_ctx, LoginThrottle(limit=3, window=60))
    assert asyncio.run(auth("bob", "hunter2hunter2"))
    for _ in range(3):
        assert not asyncio.run(auth("bob", "guess"))
    assert not asyncio.run(auth("bob", "hunter2hunter2"))  # locked, even with the right password
    assert asyncio.run(auth("carol", "whatever")) is False  # other names are not affected by bob's lock


# -- secrets --------------------------------------------------------------------------------------------------


def test_api_keys_never_appear_in_pages_or_api_responses(public_studio):
    assert os.environ["GEMINI_API_KEY"] == SECRET
    _, cookie = login(public_studio, "bob", "hunter2hunter2")
    seen = []
    for path in ("/", "/config", "/gradio_api/info", "/gradio_api/openapi.json", "/gradio_api/info?all_endpoints=true"):
        status, body, _ = raw_get(public_studio, path, cookie=cookie)
        assert status == 200, path
        seen.append(body)
    config = json.loads(seen[1])
    assert config["components"]  # the real config, not the login form's
    from gradio_client import Client

    client = Client(public_studio, auth=("bob", "hunter2hunter2"), verbose=False)
    seen.append(client.predict(api_name="/whoami").encode())
    for body in seen:
        assert SECRET.encode() not in body


# -- the path guard for tabs that take a path from the browser ---------------------------------------------------


def test_inside_workspace_resolves_before_it_compares(tmp_path):
    from picobanana.studio.paths import WorkspacePathError, inside_workspace, is_served

    ws = tmp_path / "ws"
    (ws / "exports").mkdir(parents=True)
    (ws / "images" / "ab").mkdir(parents=True)
    (ws / "exports" / "out-link").symlink_to(tmp_path)  # a link that leads out of the workspace
    ctx = StudioContext.from_settings(load_settings(workspace=ws))

    assert inside_workspace(ctx, "exports/new") == (ws / "exports" / "new").resolve()
    assert inside_workspace(ctx, "new", under="exports") == (ws / "exports" / "new").resolve()
    assert inside_workspace(ws, str(ws / "images")) == (ws / "images").resolve()  # a Path works as well as a ctx
    for bad, under in (("../elsewhere", None), ("/etc", None), ("exports/../../x", None), ("exports/out-link/x", None),
                       ("../images/x", "exports"), (str(ws / "picobanana.sqlite"), "exports"), ("~", None),
                       ("", None), ("a\x00b", None)):
        with pytest.raises(WorkspacePathError):
            inside_workspace(ctx, bad, under=under)

    assert is_served(ctx, ws / "images" / "ab" / "x.png") and is_served(ctx, "thumbs/ab/x.webp")
    for not_served in (ws / "picobanana.sqlite", ws / "exports" / "x", "images/../picobanana.sqlite", "/etc/passwd"):
        assert not is_served(ctx, not_served)
