"""A guard for paths that come from the browser (an export folder, a source folder, a file name).

    from picobanana.studio.paths import inside_workspace
    target = inside_workspace(ctx, folder_text, under="exports")   # a Path, or WorkspacePathError

The path is resolved first — `..`, symbolic links and `~` included — and only then compared with the
workspace, so a link or a `../` that leads out is refused, not followed. Relative paths are taken relative to
the workspace (or to `under` inside it), never to the server's working directory.
"""

from __future__ import annotations

import os
from pathlib import Path

from picobanana.errors import StoreError

# What the browser may fetch: the content-addressed images and their thumbnails, nothing else.
SERVED_FOLDERS = ("images", "thumbs")


class WorkspacePathError(StoreError):
    """A path given by a user points outside the part of the workspace it must stay in."""


def _workspace_of(ctx_or_workspace) -> Path:
    workspace = getattr(ctx_or_workspace, "workspace", ctx_or_workspace)
    return Path(workspace).resolve()


def inside_workspace(ctx_or_workspace, path: str | os.PathLike, *, under: str | None = None) -> Path:
    """The resolved `path` if it lies inside the workspace (or inside its folder `under`); else an error."""
    root = _workspace_of(ctx_or_workspace)
    base = (root / under).resolve() if under else root
    text = os.fspath(path)
    if not text.strip() or "\x00" in text:
        raise WorkspacePathError("empty or invalid path")
    candidate = Path(text).expanduser()
    resolved = (candidate if candidate.is_absolute() else base / candidate).resolve()
    if not resolved.is_relative_to(base):
        where = f"the workspace folder {under}/" if under else "the workspace"
        raise WorkspacePathError(f"{text!r} is outside {where} ({base}); choose a path inside it")
    return resolved


def is_served(ctx_or_workspace, path: str | os.PathLike) -> bool:
    """True when the browser may fetch `path` (relative = to the workspace): a file under images/ or thumbs/."""
    root = _workspace_of(ctx_or_workspace)
    try:
        resolved = inside_workspace(root, path)
    except WorkspacePathError:
        return False
    return any(resolved.is_relative_to((root / folder).resolve()) for folder in SERVED_FOLDERS)
