"""Launching the studio: which address, who may log in, which files the browser may fetch.

The rule: on a loopback address (127.0.0.1, localhost, ::1) the studio opens without login and decisions carry
the configured curator (`curator` in picobanana.toml, default $USER). Bound to anything else (0.0.0.0, a LAN
address, a host name) it requires a curator account from `picobanana user add NAME` and refuses to start when
there is none; `auth=True` asks for login on loopback too, and `auth=False` beyond loopback is refused.
Gradio then guards every page, API route and file route with the login cookie; on top of it, `SessionGuard`
ends the sessions of disabled accounts and hides the API description from visitors without a session, and
`LoginThrottle` slows password guessing.

Files: the browser may fetch only the workspace's images/ and thumbs/ (`allowed_paths`, through Gradio's
`/gradio_api/file=<absolute path>` route); the database, the config, analytics/ and exports/ are also listed as
`blocked_paths`, which win over anything a component or a global `gr.set_static_paths` would allow.
"""

from __future__ import annotations

import html
import ipaddress
import re
import threading
import time
from collections import deque
from pathlib import Path

import anyio
import gradio as gr
from starlette.middleware import Middleware
from starlette.requests import Request

from picobanana.curation.accounts import active_curator_count, authenticate, is_active
from picobanana.errors import ConfigError
from picobanana.store.db import DB_FILE_NAME
from picobanana.studio.app import build_app
from picobanana.studio.context import StudioContext
from picobanana.studio.paths import SERVED_FOLDERS

STATIC = Path(__file__).parent / "static"
LOOPBACK = {"127.0.0.1", "localhost", "::1"}
NO_ACCOUNT = ("the studio needs a login when it is reachable from other machines ({host}), but this workspace "
              "has no curator account: create one with picobanana user add NAME")
AUTH_MESSAGE = "picobanana studio: log in with your curator account (picobanana user add NAME creates one)."


def head_html() -> str:
    """Every script and style in static/, inlined into the page head (shortcuts, grid styles)."""
    parts = [f"<style>{p.read_text()}</style>" for p in sorted(STATIC.glob("*.css"))]
    parts += [f"<script>{p.read_text()}</script>" for p in sorted(STATIC.glob("*.js"))]
    return "\n".join(parts)


def served_paths(ctx: StudioContext) -> list[str]:
    """Only the workspace's image and thumbnail folders: never the database, never anything else."""
    return [str(ctx.workspace / folder) for folder in SERVED_FOLDERS]


def blocked_paths(ctx: StudioContext) -> list[str]:
    """Refused even if some component or a global `gr.set_static_paths` would allow them (blocked wins)."""
    ws = ctx.workspace
    paths = [ws / f"{DB_FILE_NAME}{suffix}" for suffix in ("", "-wal", "-shm", "-journal")]
    paths += [ws / "picobanana.toml", ws / "analytics", ws / "exports"]
    if ctx.settings.toml_path is not None:
        paths.append(Path(ctx.settings.toml_path).resolve())
    return [str(p) for p in paths]


def is_loopback(host: str) -> bool:
    if host.lower() in LOOPBACK:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:  # a host name other than localhost may resolve to anything: treat it as public
        return False


def login_required(host: str, auth: bool | None) -> bool:
    """Whether this address needs a login; `auth` is the user's --auth/--no-auth (None = decide by address)."""
    if is_loopback(host):
        return bool(auth)
    if auth is False:
        raise ConfigError(f"refusing to serve on {host} without login: anyone who can reach it could change "
                          "decisions. Drop --no-auth (curators then log in), or bind to 127.0.0.1")
    return True


class LoginThrottle:
    """After `limit` wrong passwords for one name within `window` seconds, refuse that name until the window
    has passed — every check costs ~0.2 s of scrypt, and Gradio has no lockout of its own."""

    def __init__(self, limit: int = 10, window: float = 300.0):
        self.limit, self.window = limit, window
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def blocked(self, name: str) -> bool:
        with self._lock:
            recent = self._failures.get(name)
            if not recent:
                return False
            while recent and time.monotonic() - recent[0] > self.window:
                recent.popleft()
            return len(recent) >= self.limit

    def record(self, name: str, ok: bool) -> None:
        with self._lock:
            if ok:
                self._failures.pop(name, None)
            else:
                self._failures.setdefault(name, deque()).append(time.monotonic())


def make_authenticator(ctx: StudioContext, throttle: LoginThrottle | None = None):
    """The `auth=` callable: checks the workspace's curators table. Async, so that Gradio awaits it and the
    scrypt work runs in a worker thread instead of stalling every other request."""
    throttle = throttle or LoginThrottle()

    def check(username: str, password: str) -> bool:
        if throttle.blocked(username):
            return False
        ok = authenticate(ctx.store(), username, password)
        throttle.record(username, ok)
        return ok

    async def auth(username: str, password: str) -> bool:
        return await anyio.to_thread.run_sync(check, username, password)

    return auth


class SessionGuard:
    """Two things Gradio 6.31 does not do, as an ASGI middleware in front of every request when login is on:

    - it ends the session of a curator whose account was disabled or removed (checked at most every
      `recheck` seconds per name), so `picobanana user disable NAME` takes effect without a restart;
    - for a visitor without a session, it blanks the API description (every endpoint, its parameters and their
      default values) that Gradio embeds in the page it serves to anyone, login form included. Only HTML
      responses are rewritten (never streams).
    """

    API_INFO = re.compile(rb"window\.gradio_api_info = .*?;</script>", re.DOTALL)
    BLANK = b'window.gradio_api_info = {"named_endpoints": {}, "unnamed_endpoints": {}};</script>'

    def __init__(self, app, ctx: StudioContext, recheck: float = 2.0):
        self.app, self.ctx, self.recheck = app, ctx, recheck
        self._checked: dict[str, tuple[float, bool]] = {}

    def _still_active(self, name: str) -> bool:
        checked_at, active = self._checked.get(name, (-1e9, False))
        if time.monotonic() - checked_at > self.recheck:
            active = is_active(self.ctx.store(), name)
            self._checked[name] = (time.monotonic(), active)
        return active

    def _anonymous(self, scope) -> bool:
        """Whether this request has no valid session (after ending the session of a disabled account)."""
        fastapi_app = scope.get("app")
        if getattr(fastapi_app, "auth", None) is None:
            return False  # no login configured: nothing to guard
        cookies = Request(scope).cookies
        cookie_id, tokens = fastapi_app.cookie_id, fastapi_app.tokens
        for token in (cookies.get(f"access-token-{cookie_id}"), cookies.get(f"access-token-unsecure-{cookie_id}")):
            name = tokens.get(token)
            if name is not None and not self._still_active(name):
                tokens.pop(token, None)
        token = cookies.get(f"access-token-{cookie_id}") or cookies.get(f"access-token-unsecure-{cookie_id}")
        return tokens.get(token) is None

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or not self._anonymous(scope) or scope["method"] != "GET":
            return await self.app(scope, receive, send)
        start: dict | None = None
        chunks: list[bytes] = []

        async def filtered(message):
            nonlocal start
            if message["type"] == "http.response.start":
                headers = dict(message.get("headers", []))
                if not headers.get(b"content-type", b"").startswith(b"text/html"):
                    return await send(message)
                start = message
                return None
            if start is None or message["type"] != "http.response.body":
                return await send(message)
            chunks.append(message.get("body", b""))
            if message.get("more_body"):
                return None
            body = self.API_INFO.sub(self.BLANK, b"".join(chunks))
            headers = [(k, v) for k, v in start.get("headers", []) if k != b"content-length"]
            headers.append((b"content-length", str(len(body)).encode()))
            await send({**start, "headers": headers})
            return await send({"type": "http.response.body", "body": body})

        return await self.app(scope, receive, filtered)


def add_account_bar(app: gr.Blocks, ctx: StudioContext) -> None:
    """Who is deciding (top right), and a log-out link when there is a login. Gradio 6 has no LogoutButton;
    its /logout route clears the session cookie and goes back to the login page."""
    with app:
        with gr.Row(elem_id="pb-account"):
            who = gr.HTML(elem_id="pb-curator", padding=False)
            if ctx.login_required:
                # Relative link, so that it also works when the studio is mounted under a path prefix.
                gr.HTML('<a href="logout" id="pb-logout">Log out</a>', padding=False)

        def whoami(request: gr.Request) -> str:
            return f"Curator: <b>{html.escape(ctx.curator(request))}</b>"

        app.load(whoami, outputs=who, api_name="whoami")


def build_studio(ctx: StudioContext) -> gr.Blocks:
    app = build_app(ctx)
    add_account_bar(app, ctx)
    app.queue(default_concurrency_limit=8)
    return app


def serve(ctx: StudioContext, *, host: str = "127.0.0.1", port: int | None = None, auth: bool | None = None,
          block: bool = True, **launch):
    """Start the studio. With block=False it returns the running Blocks (its `local_url`; `close()` stops it).

    Raises ConfigError when a login is required (beyond loopback, or auth=True) and no account exists.
    """
    ctx.login_required = login_required(host, auth)
    store = ctx.store()  # opens (and migrates) the workspace once, before the worker threads race to do it
    if ctx.login_required and active_curator_count(store) == 0:
        raise ConfigError(NO_ACCOUNT.format(host=host))
    # Image outputs under static paths are served in place; otherwise Gradio copies (and hashes) every full-size
    # image it returns into its cache first, which is most of the time to open an item. Same folders as
    # allowed_paths; blocked_paths still win.
    gr.set_static_paths(served_paths(ctx))
    app = build_studio(ctx)
    launch.setdefault("mcp_server", False)  # no tool endpoint for language models: curators only
    app_kwargs = dict(launch.pop("app_kwargs", None) or {})
    app_kwargs["middleware"] = [*app_kwargs.get("middleware", []), Middleware(SessionGuard, ctx=ctx)]
    app.launch(server_name=host, server_port=port, allowed_paths=served_paths(ctx), blocked_paths=blocked_paths(ctx),
               head=head_html(), prevent_thread_lock=not block, show_error=True,
               auth=make_authenticator(ctx) if ctx.login_required else None,
               auth_message=AUTH_MESSAGE if ctx.login_required else None, app_kwargs=app_kwargs, **launch)
    return app
