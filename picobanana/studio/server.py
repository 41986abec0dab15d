"""Launching the studio: which address, who may log in, which files the browser may fetch."""

from __future__ import annotations

from pathlib import Path

from picobanana.studio.app import build_app
from picobanana.studio.context import StudioContext

STATIC = Path(__file__).parent / "static"
LOOPBACK = {"127.0.0.1", "localhost", "::1"}


def head_html() -> str:
    """Every script and style in static/, inlined into the page head (shortcuts, grid styles)."""
    parts = [f"<style>{p.read_text()}</style>" for p in sorted(STATIC.glob("*.css"))]
    parts += [f"<script>{p.read_text()}</script>" for p in sorted(STATIC.glob("*.js"))]
    return "\n".join(parts)


def served_paths(ctx: StudioContext) -> list[str]:
    """Only the workspace's image and thumbnail folders: never the database, never anything else."""
    return [str(ctx.workspace / "images"), str(ctx.workspace / "thumbs")]


def serve(ctx: StudioContext, *, host: str = "127.0.0.1", port: int | None = None, block: bool = True,
          **launch):
    """Start the studio. With block=False it returns the running Blocks (its `local_url`; `close()` stops it)."""
    app = build_app(ctx)
    app.queue(default_concurrency_limit=8)
    app.launch(server_name=host, server_port=port, allowed_paths=served_paths(ctx), head=head_html(),
               prevent_thread_lock=not block, show_error=True, **launch)
    return app
