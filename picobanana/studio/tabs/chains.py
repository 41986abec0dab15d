"""The chains tab (being built: see the studio issue)."""

from __future__ import annotations

import gradio as gr


def build(ctx, tabs=None) -> None:
    gr.Markdown("Coming in this session.")
