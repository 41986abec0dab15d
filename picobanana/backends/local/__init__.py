"""The embedded offline backend: real CPU work from models and code that ship inside installed packages.

The registry (picobanana/backends/registry.py) calls `create_<role>(**options)` with the role's options from
the config; `settings` is accepted too for direct callers and ignored (the local backend needs no keys).
Each role's module is imported inside its factory, so choosing only the local judge does not load OCR
for the writer, and writing instructions does not load the editor's image stack.
"""

from __future__ import annotations

from typing import Any


def create_writer(settings: Any = None, **options: Any):
    from picobanana.backends.local.writer import LocalWriter

    return LocalWriter(**options)


def create_rewriter(settings: Any = None, **options: Any):
    from picobanana.backends.local.rewriter import LocalRewriter

    return LocalRewriter(**options)


def create_editor(settings: Any = None, **options: Any):
    from picobanana.backends.local.editor import LocalEditor

    return LocalEditor(**options)


def create_judge(settings: Any = None, **options: Any):
    from picobanana.backends.local.judge import LocalJudge

    return LocalJudge(**options)
